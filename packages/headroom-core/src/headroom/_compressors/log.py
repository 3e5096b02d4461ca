"""Logs: every distinct error and warning survives with a count; repetition collapses to templates.

One pass, no model and no training. Variables (timestamps, addresses, ids, numbers) are masked over
the whole text by one regex, lines are grouped by their masked signature, and the distinct signatures
are merged Drain-style on the message after the header (same length, same first message literal,
at least half of the message tokens equal) into templates whose varying tokens read ``<*>``. Severity
comes from a level field (a word, or logcat's letter) or, in logs without one, from failure words in
the text (``failed``, ``refused``, ``timeout``, ...); a non-zero exit status and an HTTP 4xx/5xx split
from their template, since masking hides the number. Lines are first joined into blocks, so a stack
trace, a Python traceback or a pytest failure section travels with the line that started it.

What the model reads, in the log's own order:

- the first and last lines, and summary lines (test totals, exit codes, ``make: ***``);
- every warning/error/fatal template: its first block verbatim (traces whole), prefixed ``[×N]``
  when it occurred N > 1 times;
- every other template: one line ``[×N 10:00:01–10:04:59] template`` (a single occurrence is
  shown verbatim);
- blocks matching the query;
- one marker with the number of lines not shown verbatim; the original is kept under its ref.
"""

from __future__ import annotations

import re

from .._lines import split_lines
from .._query import QueryMatcher
from ._job import Job
from ._log_templates import DAY, MONTH, Cluster, mask, mine, refine, render_template

_LEVELS = {
    "trace": 0, "debug": 0, "info": 1, "notice": 1, "warn": 2, "warning": 2,
    "err": 3, "error": 3, "severe": 4, "crit": 4, "critical": 4, "fatal": 4, "alert": 4, "emerg": 4,
}  # fmt: skip
# _LEVEL and _TROUBLE are searched in lowered text: a case-sensitive regex is about three times faster
# than the same one with re.I, and they run on every distinct signature
_LEVEL = re.compile(r"(?<![\w.-])(" + "|".join(sorted(_LEVELS, key=len, reverse=True)) + r")(?![\w-])")
_GLOG = re.compile(r"^([IWEF])<\*> ")
# logcat's letter after the variable date/time/pid/tid fields: "<*> <*>  <*>  <*> E tag: ..."
_LOGCAT = re.compile(r"^(?:<\*>[ \t]+){2,}([VDIWEF]) \S")
_TROUBLE = re.compile(
    r"\b(?:exception|traceback|panic(?:ked)?|fail(?:ed|ure|s)?|denied|refused|timed? ?out|unable|cannot|"
    r"could not|abort(?:ed)?|segfault|unreachable|invalid|errors?|break-in|not[ -]responding|unresponsive|"
    r"crash(?:ed|es)?|corrupt(?:ed|ion)?|out of memory|overflow)\b"
)
WARNING = 2

_SUMMARY_HEAD = re.compile(  # matched at the start of a line only
    r"=+ .*\b(?:passed|failed|errors?|skipped|xfailed|deselected)\b.* =+$"
    r"|(?:FAILED|ERROR) \S+::\S*"
    r"|(?:Tests|Test Suites|Snapshots|Time):\s+\d"
    r"|test result: "
    r"|Ran \d+ tests? in "
    r"|(?:OK|FAILED) \((?:failures|errors|skipped)="
    r"|make(?:\[\d+\])?: \*\*\*"
    r"|BUILD (?:SUCCESSFUL|FAILED|SUCCESS|FAILURE)"
    r"|npm ERR! code "
    r"|error: could not compile"
    r"|Error: Process completed with exit code",
    re.I,
)
_SUMMARY_EXIT = re.compile(  # anywhere in the lowered line
    r"\bexit(?:ed)? (?:with )?(?:code|status)[ :=]+-?\d+|\bprocess finished with exit code \d+"
)
_PYTEST_SECTION = re.compile(r"^_{3,} .+ _{3,}$")
_EXCEPTION_LINE = re.compile(
    r"^(?:(?:[a-z_]\w*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b"  # java.net.ConnectException
    r"|[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)\b(?::|$)"  # ValueError: ...
    r"|Caused by: |\s*\.\.\. \d+ (?:more|common frames omitted)"
    r"|During handling of the above exception|The above exception was the direct cause)"
)
_STAMPED = re.compile(r"^\W{0,2}\d|^" + MONTH + r" ")
_CLOCK = re.compile(r"(?<!\d)(\d{1,2}):(\d{2}):(\d{2})(?!\d)")
_DATE_FIELD = re.compile(
    r"^[\[(]?(?:\d{8}-?|\d{1,4}(?:[-/.]\d{1,4}){0,2}[-/.]?|" + MONTH + r"|" + DAY + r"),?$"
)  # 2026-03-01, 17/06/09, 10.30, 20171223-, Jul, Sun
_COMPACT_CLOCK = re.compile(r"^\d{6} (\d{2})(\d{2})(\d{2})\b")

_HTTP_METHOD = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\b")
_HTTP_STATUS = re.compile(r"(?<![\w.:/-])([1-5]\d\d)(?![\w.:/-])")
# a process's or job's exit status, which masking turns into <*> whether it is 0 or 137
_EXIT_WORDS = (
    r"(?:exit(?:ed)?(?: with)?(?: (?:code|status|value))?[ :=]+|exit_?(?:code|status)[ :=]+"
    r"|return(?:ed)? (?:code|status)[ :=]+|rc ?[:=] ?)"
)
_EXIT_STATUS = re.compile(rf"\b{_EXIT_WORDS}\(?(-?\d{{1,6}})(?!\d)", re.I)
_EXIT_TEMPLATE = re.compile(rf"\b{_EXIT_WORDS}\(?<\*>", re.I)

_MIN_LINES = 8
_EDGE_LINES = 2
_MAX_QUERY_BLOCKS = 40
_MAX_SUMMARIES = 5


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Split lines into blocks ``[start, end)``: a head line and what continues it."""
    blocks: list[tuple[int, int]] = []
    n = len(lines)
    i = 0
    while i < n:
        start = i
        head = lines[i]
        i += 1
        if head[:1] == "_" and _PYTEST_SECTION.match(head):  # a pytest failure section, up to the next
            while i < n and not (lines[i].startswith("===") or _PYTEST_SECTION.match(lines[i])):
                i += 1
            blocks.append((start, i))
            continue
        indent = _indent(head) if head[:1] in (" ", "\t") else 0
        in_trace = False
        while i < n:
            line = lines[i]
            first = line[:1]
            if (first == " " or first == "\t") and line.strip():
                if _indent(line) > indent and not _STAMPED.match(line.lstrip()):
                    in_trace = True
                    i += 1
                    continue
                break
            if first and not first.isdigit() and (in_trace or i == start + 1) and _EXCEPTION_LINE.match(line):
                in_trace = True
                i += 1
                continue
            if not line.strip() and in_trace and i + 1 < n and _indent(lines[i + 1]) > indent:
                i += 1
                continue
            break
        blocks.append((start, i))
    return blocks


def _severity(signature: str) -> int:
    letter = _GLOG.match(signature) or _LOGCAT.match(signature)
    if letter:
        return {"V": 0, "D": 0, "I": 1, "W": 2, "E": 3, "F": 4}[letter.group(1)]
    lowered = signature.lower()
    level = _LEVEL.search(lowered, 0, 160)
    if level:
        return _LEVELS[level.group(1)]
    return WARNING if _TROUBLE.search(lowered) else 1


def _is_summary(line: str) -> bool:
    """Test totals, exit codes, ``make: ***``: a line that sums up a run."""
    if _SUMMARY_HEAD.match(line):
        return True
    lowered = line.lower()
    return "exit" in lowered and _SUMMARY_EXIT.search(lowered) is not None


def _stamp(line: str) -> tuple[str, str] | None:
    """The date part (whatever precedes the time of day) and the time of day of a log line."""
    match = _CLOCK.search(line, 0, 48)
    if match is not None:
        hours, minutes, seconds = match.groups()
        return _date_before(line[: match.start()]), f"{int(hours):02d}:{minutes}:{seconds}"
    compact = _COMPACT_CLOCK.match(line)  # HDFS: 081109 203615
    if compact is not None:
        hours, minutes, seconds = compact.groups()
        return line[:6], f"{hours}:{minutes}:{seconds}"
    return None


def _date_before(head: str) -> str:
    """The date right before a time of day (``2026-03-01``, ``Jul  1``, ``10.30``): the trailing
    date-like fields of ``head``, so a host or an epoch in front (``- 1131566462 dn58 Nov 9``) stays out."""
    fields = head.replace("T", " ").split()
    keep = len(fields)
    while keep and len(fields) - keep < 3 and _DATE_FIELD.match(fields[keep - 1]):
        keep -= 1
    return " ".join(fields[keep:]).strip(" [(,-")


def _span(lines: list[str], first: int, last: int) -> str:
    """`` 10:00:01–10:04:59``; with dates when the two ends fall on different days."""
    start, end = _stamp(lines[first]), _stamp(lines[last])
    if start is None or end is None:
        return ""
    if start == end:
        return f" {start[1]}"
    if start[0] == end[0]:
        return f" {start[1]}–{end[1]}"
    return f" {start[0]} {start[1]}–{end[0]} {end[1]}"


def compress(job: Job) -> str | None:
    """Compress a log; None when it is too short or too varied to gain anything."""
    lines = split_lines(job.text)
    n = len(lines)
    if n < _MIN_LINES:
        return None
    masked = mask(job.text)
    if len(masked) != n:  # masking never touches line breaks; this guards the invariant
        return None
    blocks = _blocks(lines)

    # group blocks by the signature of their head line: first by the cheap mask, then refined
    raw: dict[str, list[int]] = {}
    for index, (start, _end) in enumerate(blocks):
        seen = raw.get(masked[start])
        if seen is None:
            raw[masked[start]] = [1, index, index]
        else:
            seen[0] += 1
            seen[2] = index
    signatures: dict[str, list[int]] = {}
    refined_of: dict[str, str] = {}
    for raw_signature, (count, first, last) in raw.items():
        signature = refined_of[raw_signature] = refine(raw_signature)
        seen = signatures.get(signature)
        if seen is None:
            signatures[signature] = [count, first, last]
        else:
            seen[0] += count
            seen[1], seen[2] = min(seen[1], first), max(seen[2], last)
    severities = {signature: _severity(signature) for signature in signatures}
    summaries = {  # a line that repeats all through the log ("task 7 exited with code 0") sums nothing up
        sig
        for sig, (count, first, _) in signatures.items()
        if count <= _MAX_SUMMARIES and _is_summary(lines[blocks[first][0]])
    }
    for start, end in blocks:  # a trace makes its block an error
        if end - start > 1:
            signature = refined_of[masked[start]]
            if severities[signature] < WARNING and _TROUBLE.search("\n".join(lines[start + 1 : end]).lower()):
                severities[signature] = 3
    clusters = mine(signatures, severities)
    clusters = _split_failed_requests(clusters, lines, blocks, masked, refined_of)

    shown: dict[int, str] = {}  # block index -> prefix ("" or "[×N] ")
    templates: dict[int, str] = {}  # block index of first occurrence -> rendered template line
    optional: list[tuple[int, int, bool]] = []  # (count, block index, is a template) a budget may drop
    for cluster in clusters:
        if not lines[blocks[cluster.first][0]].strip():
            continue  # blank lines carry nothing a template line could say
        if cluster.severity >= WARNING or cluster.count == 1:
            shown[cluster.first] = f"[×{cluster.count}] " if cluster.count > 1 else ""
            if cluster.severity >= WARNING and len(cluster.signatures) > 1:
                shown.setdefault(signatures[cluster.signatures[1]][1], "")
            elif cluster.severity < WARNING:
                optional.append((1, cluster.first, False))
        else:
            span = _span(lines, blocks[cluster.first][0], blocks[cluster.last][0])
            templates[cluster.first] = f"[×{cluster.count}{span}] {render_template(cluster)}"
            optional.append((cluster.count, cluster.first, True))
    edges = [0, 1, len(blocks) - 2, len(blocks) - 1]
    for index in edges:
        if 0 <= index < len(blocks):
            shown.setdefault(index, "")
    if summaries:
        for index, (start, _end) in enumerate(blocks):
            if refined_of[masked[start]] in summaries:
                shown.setdefault(index, "")
    singletons = {index for _, index, template in optional if not template}
    protected = (set(shown) - singletons) | _show_query_matches(job, lines, blocks, shown)
    if job.budget is not None:
        _fit_budget(job, lines, blocks, shown, templates, optional, protected)
    return _render(lines, blocks, shown, templates, job)


def _fit_budget(
    job: Job,
    lines: list[str],
    blocks: list[tuple[int, int]],
    shown: dict[int, str],
    templates: dict[int, str],
    optional: list[tuple[int, int, bool]],
    protected: set[int],
) -> None:
    """Drop optional lines (single INFO lines first, then the least repeated templates) until the
    output fits ``budget``; errors, warnings, edges, summaries and query matches always stay."""
    target = (job.budget or 1.0) * len(job.text)

    def size(index: int) -> int:
        if index in shown:
            start, end = blocks[index]
            return sum(len(line) + 1 for line in lines[start:end])
        return len(templates[index]) + 1

    total = sum(size(index) for index in shown.keys() | templates.keys())
    for _count, index, is_template in sorted(optional):
        if total <= target:
            return
        if is_template and index in templates:
            total -= len(templates.pop(index)) + 1
        elif not is_template and index in shown and index not in protected:
            total -= size(index)
            del shown[index]


def _failure_severity(line: str) -> int | None:
    """3 for a request line answered 5xx, ``WARNING`` for 4xx or a non-zero exit status, None for
    anything else."""
    method = _HTTP_METHOD.search(line)
    status = _HTTP_STATUS.search(line, method.end()) if method else None
    if status is not None and status.group(1)[0] in "45":
        return 3 if status.group(1)[0] == "5" else WARNING
    exit_status = _EXIT_STATUS.search(line)
    if exit_status is not None and int(exit_status.group(1)) != 0:
        return WARNING
    return None


def _can_fail(template: str) -> bool:
    return _HTTP_METHOD.search(template) is not None or _EXIT_TEMPLATE.search(template) is not None


def _split_failed_requests(
    clusters: list[Cluster],
    lines: list[str],
    blocks: list[tuple[int, int]],
    masked: list[str],
    refined_of: dict[str, str],
) -> list[Cluster]:
    """Numbers are masked, so ``GET /x 500`` would hide among ``GET /x 200`` and ``exited with code 137``
    among ``exited with code 0``: split HTTP request templates by status (4xx a warning, 5xx an error)
    and exit-status templates by a non-zero status (a warning), each shown with an example."""
    requests = {
        signature: cluster
        for cluster in clusters
        if cluster.severity < WARNING and _can_fail(" ".join(cluster.tokens))
        for signature in cluster.signatures
    }
    if not requests:
        return clusters
    failed: dict[tuple[int, int], Cluster] = {}
    first_success: dict[int, int] = {}  # id(cluster) -> its first block that did not fail
    for index, (start, _end) in enumerate(blocks):
        cluster = requests.get(refined_of[masked[start]])
        if cluster is None:
            continue
        severity = _failure_severity(lines[start])
        if severity is None:
            first_success.setdefault(id(cluster), index)
            continue
        part = failed.get((id(cluster), severity))
        if part is None:
            part = failed[(id(cluster), severity)] = Cluster(
                cluster.tokens, severity, index, index, 0, cluster.signatures
            )
        part.count += 1
        part.last = index
        cluster.count -= 1
    if not failed:
        return clusters
    kept = [cluster for cluster in clusters if cluster.count > 0]
    for cluster in kept:  # the template's first occurrence may have been a failure
        cluster.first = first_success.get(id(cluster), cluster.first)
    return sorted([*kept, *failed.values()], key=lambda cluster: cluster.first)


def _show_query_matches(
    job: Job, lines: list[str], blocks: list[tuple[int, int]], shown: dict[int, str]
) -> set[int]:
    """Show the blocks the query is about; returns their indices."""
    matcher = QueryMatcher(job.query)
    if not matcher:
        return set()
    lowered = ["\n".join(lines[start:end]).lower() for start, end in blocks]
    picked = set(matcher.pick(lowered, _MAX_QUERY_BLOCKS))
    for index in picked:
        shown.setdefault(index, "")
    return picked


def _render(
    lines: list[str],
    blocks: list[tuple[int, int]],
    shown: dict[int, str],
    templates: dict[int, str],
    job: Job,
) -> str | None:
    out: list[str] = []
    verbatim = 0
    for index in sorted(shown.keys() | templates.keys()):
        if index in templates and index not in shown:
            out.append(templates[index])
            continue
        start, end = blocks[index]
        out.append(shown[index] + lines[start])
        out.extend(lines[start + 1 : end])
        verbatim += end - start
        if index in templates:
            out.append(templates[index])
    omitted = len(lines) - verbatim
    if omitted <= 0:
        return None
    out.append(job.marker(omitted, "lines"))
    return "\n".join(out)
