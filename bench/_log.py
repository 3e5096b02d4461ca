"""Log benchmark: loghub files judged against their ground-truth templates (QUALITY.md, log row).

Each ``logs/*_2k.log`` comes with ``*_2k.log_structured.csv`` (``LineId``, ``Level``, ``Content``,
``EventId``, ``EventTemplate``). The metric functions here are pure: they see the original, the ground
truth and the compressed text, never the compressor.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ._core import Check, Context, Kind, Section, read_text, round_trip_check, share, summarize
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, fmt_pct, head_cells, mark, plain, tail_cells
from ._retrieval import Page, RetrievalCheck, check_line_retrieval, parse_page, split_lines

CRITICAL_LEVELS = frozenset({"error", "fatal", "severe", "critical"})
WARNING_LEVELS = frozenset({"warn", "warning"})
COUNTED_LINE = re.compile(r"^\[\u00d7(\d+)[^\]]*\] (.*)$")  # "[×N ...] T"
WILDCARD = "<*>"
RATIO_TARGET = 10.0
TEMPLATE_TARGET = 0.95


@dataclass(frozen=True)
class LogRecord:
    """One line's ground truth."""

    line_id: int
    level: str | None
    content: str
    event_id: str
    template: str


def parse_structured(csv_text: str) -> list[LogRecord]:
    """The rows of a loghub ``*_structured.csv`` (a missing ``Level`` column gives ``None``)."""
    return [
        LogRecord(int(row["LineId"]), row.get("Level"), row["Content"], row["EventId"], row["EventTemplate"])
        for row in csv.DictReader(io.StringIO(csv_text, newline=""))
    ]


def critical_lines(records: list[LogRecord]) -> list[LogRecord] | None:
    """ERROR/FATAL/SEVERE/CRITICAL lines, else WARN/WARNING lines, else None (no critical set)."""
    for levels in (CRITICAL_LEVELS, WARNING_LEVELS):
        found = [r for r in records if (r.level or "").strip().lower() in levels]
        if found:
            return found
    return None


def critical_coverage(records: list[LogRecord], output: str) -> tuple[int, int] | None:
    """(critical EventIds with a critical line's ``Content`` verbatim in ``output``, critical EventIds)."""
    critical = critical_lines(records)
    if critical is None:
        return None
    events = {r.event_id for r in critical}
    covered = {r.event_id for r in critical if r.content in output}
    return len(covered), len(events)


@dataclass(frozen=True)
class _Template:
    text: str
    pattern: re.Pattern[str]


_WORD = re.compile(r"[A-Za-z]{2,}")


def counted_templates(output: str) -> list[str]:
    """The templates ``T`` of counted output lines (``COUNTED_LINE``) that contain the wildcard ``<*>``."""
    found = []
    for line in output.split("\n"):
        match = COUNTED_LINE.match(line.rstrip("\r"))
        if match and WILDCARD in match.group(2):
            found.append(match.group(2))
    return found


def compile_template(template: str) -> _Template | None:
    """A template as a regex (literals escaped, ``<*>`` lazy); None when it has no literal character."""
    parts = template.split(WILDCARD)
    if not "".join(parts).strip():
        return None
    pattern = re.compile(".*?" + ".*?".join(re.escape(part) for part in parts))
    return _Template(template, pattern)


def template_words(event_template: str) -> list[str]:
    """The literal words of a ground-truth template: what a covering template line must also show."""
    return _WORD.findall(event_template.replace(WILDCARD, " "))


def template_covers(template: _Template, raw_line: str, words: list[str]) -> bool:
    """T covers a line of an event when ``re.fullmatch('.*?' + T, line)`` holds (trailing whitespace
    ignored) and T shows every literal word of the event's ground-truth template.

    The second condition is the anti-gaming rule: a template made of wildcards matches anything but
    shows nothing, so it covers nothing; a template as specific as the ground truth covers its event
    even where the variable parts are long (``connection from <*> (<*>) at <*>``).
    """
    if not all(word in template.text for word in words):
        return False
    return template.pattern.fullmatch(raw_line.rstrip()) is not None


@dataclass(frozen=True)
class TemplateCoverage:
    covered: int
    total: int
    verbatim: int
    by_template: int
    template_lines: int
    missing: tuple[str, ...]


def template_coverage(records: list[LogRecord], raw_lines: list[str], output: str) -> TemplateCoverage:
    """EventIds with a line whose ``Content`` is in ``output``, or covered by a counted template line."""
    events: dict[str, list[LogRecord]] = {}
    for record in records:
        events.setdefault(record.event_id, []).append(record)
    verbatim = {eid for eid, recs in events.items() if any(r.content in output for r in recs)}
    raw_templates = counted_templates(output)
    templates = [t for t in map(compile_template, raw_templates) if t is not None]
    by_template = set()
    for eid, recs in events.items():
        if eid in verbatim:
            continue
        lines = [raw_lines[r.line_id - 1] for r in recs if 0 < r.line_id <= len(raw_lines)]
        words = template_words(recs[0].template)
        if any(template_covers(t, line, words) for t in templates for line in lines):
            by_template.add(eid)
    missing = tuple(eid for eid in events if eid not in verbatim and eid not in by_template)
    covered = len(verbatim) + len(by_template)
    return TemplateCoverage(
        covered, len(events), len(verbatim), len(by_template), len(raw_templates), missing
    )


@dataclass(frozen=True)
class LogQuery:
    event_id: str
    word: str
    event_lines: tuple[int, ...]


def pick_query(records: list[LogRecord], raw_lines: list[str]) -> LogQuery | None:
    """The rarest literal word (alphabetic, >= 4 chars) of the most frequent critical template.

    Without a critical set the most frequent template overall is used. Ties go to the template seen
    first in the file and to the word seen first in the template. None when the template has no word.
    """
    critical = critical_lines(records)
    pool = critical if critical is not None else records
    counts = Counter(r.event_id for r in pool)
    event_id = max(counts, key=lambda eid: counts[eid])  # Counter keeps first-seen order on ties
    template = next(r.template for r in pool if r.event_id == event_id)
    words = [w for part in template.split(WILDCARD) for w in re.findall(r"[A-Za-z]+", part) if len(w) >= 4]
    if not words:
        return None
    folded = [line.lower() for line in raw_lines]
    word = min(words, key=lambda w: sum(1 for line in folded if w.lower() in line))
    event_lines = tuple(r.line_id for r in records if r.event_id == event_id)
    return LogQuery(event_id, word, event_lines)


def check_query(retrieved: str, query: LogQuery, raw_lines: list[str]) -> RetrievalCheck:
    """The line-retrieval check, plus: unless capped, every line of the query's template is shown."""
    check = check_line_retrieval(retrieved, query.word, raw_lines)
    if check.passed and not check.capped and not set(query.event_lines) <= set(check.shown):
        return RetrievalCheck(False, "a line of the template is missing", check.matched, check.shown, False)
    return check


LEVEL_QUERY_LEVELS = CRITICAL_LEVELS | WARNING_LEVELS | {"e", "w", "f"}  # logcat letters too
_GROUP = re.compile(r"^  ×(\d+) line (\d+): (.*)$")


def level_queries(records: list[LogRecord]) -> dict[str, set[int]]:
    """The warning-or-worse levels of the ground truth, as written, with the line ids of each."""
    found: dict[str, set[int]] = {}
    for record in records:
        level = (record.level or "").strip()
        if level.lower() in LEVEL_QUERY_LEVELS:
            found.setdefault(level, set()).add(record.line_id)
    return found


def check_level_query(
    fetch: Callable[[int], str], level: str, level_lines: set[int], records: list[LogRecord], raw: list[str]
) -> tuple[bool, str]:
    """``retrieve(ref, query=<level>)``, every page read: the lines of that level come first (all of
    them), every row is an original line, and the first page's summary (when the matches do not all
    fit on it) shows every template of that level: a group whose first line is of that event, or whose
    template covers one of its lines (the template-coverage rule)."""
    order: list[int] = []
    pages: list[Page] = []
    offset = 0
    for _ in range(500):
        page = parse_page(fetch(offset))
        if isinstance(page, str):
            return False, page
        for label, text in page.rows:
            if not label.isdigit() or not 0 < int(label) <= len(raw) or raw[int(label) - 1] != text:
                return False, f"row {label[:20]!r} is not an original line"
            order.append(int(label))
        pages.append(page)
        if page.next_offset is None:
            break
        offset = page.next_offset
    if set(order[: len(level_lines)]) != level_lines:
        missing = len(level_lines - set(order[: len(level_lines)]))
        return False, f"{missing} of {len(level_lines)} {level} lines not among the first"
    if len(order) != len(set(order)):
        return False, "a line is shown twice"
    if len(pages) == 1 and not pages[0].summary:
        return True, f"{len(level_lines)} first, on one page"
    by_line = {r.line_id: r for r in records}
    events = {by_line[n].event_id for n in level_lines}
    groups = [m.groups() for m in map(_GROUP.match, pages[0].summary) if m is not None]
    covered = {by_line[int(line)].event_id for _, line, _ in groups if int(line) in by_line}
    templates = [t for t in (compile_template(text) for _, _, text in groups) if t is not None]
    for eid in events - covered:
        recs = [r for r in records if r.event_id == eid and r.line_id in level_lines]
        words = template_words(recs[0].template)
        if any(template_covers(t, raw[r.line_id - 1], words) for t in templates for r in recs):
            covered.add(eid)
    if not events <= covered:
        return False, f"summary shows {len(events & covered)} of {len(events)} {level} templates"
    return True, f"{len(level_lines)} first, {len(pages)} pages, {len(events)} templates in the summary"


def _query_result(
    ctx: Context, ref: str | None, changed: bool, query: LogQuery | None, raw: list[str]
) -> tuple[bool | None, dict[str, object]]:
    if query is None:
        return None, {"word": None, "reason": "the template has no literal word"}
    info: dict[str, object] = {
        "event_id": query.event_id,
        "word": query.word,
        "template_lines": len(query.event_lines),
    }
    if ref is None:
        info["reason"] = "no ref, output unchanged" if not changed else "no ref, but the output changed"
        return (None if not changed else False), info
    try:
        check = check_query(ctx.engine.retrieve(ref, query=query.word), query, raw)
    except Exception as exc:  # a failing retrieve is a failed check, reported on the row
        info["reason"] = f"{type(exc).__name__}: {exc}"
        return False, info
    info.update(check.as_json())
    return check.passed, info


def _level_results(
    ctx: Context, ref: str | None, records: list[LogRecord], raw: list[str]
) -> dict[str, tuple[bool, str]]:
    results: dict[str, tuple[bool, str]] = {}
    for level, line_ids in level_queries(records).items():
        if ref is None:
            results[level] = (False, "no ref")
            continue

        def fetch(offset: int, query: str = level, ref: str = ref) -> str:
            return ctx.engine.retrieve(ref, query=query, offset=offset)

        try:
            results[level] = check_level_query(fetch, level, line_ids, records, raw)
        except Exception as exc:  # a failing retrieve is a failed check, reported on the row
            results[level] = (False, f"{type(exc).__name__}: {exc}"[:200])
    return results


def run(ctx: Context) -> Section:
    """Compress every loghub file without a query and judge the output against its ground truth."""
    columns = ["file", *HEAD_COLUMNS, "critical tmpl", "templates", "query word", "query", "shown/tmpl"]
    columns.append("level queries")
    section = Section("log", "log: loghub 2k files, no query", [*columns, *TAIL_COLUMNS], text_columns=1)
    files: list[dict[str, object]] = []
    measurements, shares, queries, levels_ok = [], [], [], []
    critical_total = [0, 0]
    for path in sorted((ctx.data_dir / "logs").glob("*_2k.log")):
        text = read_text(path)
        raw_lines = split_lines(text)
        records = parse_structured(read_text(path.with_name(path.name + "_structured.csv")))
        ctx.say(f"log: {path.name}")
        m = ctx.measure("log", path.name, text)
        measurements.append(m)
        critical = critical_coverage(records, m.text)
        templates = template_coverage(records, raw_lines, m.text)
        query = pick_query(records, raw_lines)
        query_ok, query_info = _query_result(ctx, m.ref, m.text != text, query, raw_lines)
        level_results = _level_results(ctx, m.ref, records, raw_lines)
        levels_ok += [passed for passed, _ in level_results.values()]
        if critical:
            critical_total = [critical_total[0] + critical[0], critical_total[1] + critical[1]]
        t_share = share(templates.covered, templates.total)
        shares.append(t_share)
        queries.append(query_ok)
        files.append(
            {
                **m.as_json(),
                "lines": len(raw_lines),
                "critical_covered": critical[0] if critical else None,
                "critical_total": critical[1] if critical else None,
                "templates_covered": templates.covered,
                "templates_total": templates.total,
                "templates_verbatim": templates.verbatim,
                "templates_by_counted_line": templates.by_template,
                "counted_template_lines": templates.template_lines,
                "templates_missing": list(templates.missing),
                "template_coverage": t_share,
                "query": query_info,
                "query_passed": query_ok,
                "level_queries": {
                    level: {"passed": ok, "detail": why} for level, (ok, why) in level_results.items()
                },
            }
        )
        shown = query_info.get("shown")
        section.rows.append(
            [
                plain(path.name),
                *head_cells(summarize([m])),
                "n/a" if critical is None else mark(fmt_frac(*critical), critical[0] == critical[1]),
                mark(
                    f"{fmt_frac(templates.covered, templates.total)} {fmt_pct(t_share)}",
                    t_share >= TEMPLATE_TARGET,
                ),
                plain(query.word) if query else "-",
                "n/a" if query_ok is None else mark("pass" if query_ok else "FAIL", query_ok),
                f"{shown}/{len(query.event_lines)}" if query and shown is not None else "-",
                " ".join(mark(level, ok) for level, (ok, _) in level_results.items()) or "n/a",
                *tail_cells(summarize([m])),
            ]
        )
    group = summarize(measurements)
    min_share = min(shares, default=1.0)
    crit_ok = critical_total[0] == critical_total[1]
    queries_ok = all(q is not False for q in queries)
    section.rows.append(
        [
            "[bold]all[/]",
            *head_cells(group, RATIO_TARGET),
            mark(fmt_frac(*critical_total), crit_ok),
            mark(f"min {fmt_pct(min_share)}", min_share >= TEMPLATE_TARGET),
            "",
            mark(
                f"{sum(1 for q in queries if q)}/{sum(1 for q in queries if q is not None)} pass", queries_ok
            ),
            "",
            mark(f"{sum(levels_ok)}/{len(levels_ok)} pass", all(levels_ok)),
            *tail_cells(group),
        ]
    )
    ratio_value = group.ratio or 0.0
    section.checks += [
        Check("log ratio >= 10x overall", ratio_value >= RATIO_TARGET, f"{ratio_value:.1f}x"),
        Check("log critical-template coverage 100%", crit_ok, fmt_frac(*critical_total)),
        Check("log template coverage >= 95% on every file", min_share >= TEMPLATE_TARGET, fmt_pct(min_share)),
        Check("log query retrieval on every file", queries_ok, ""),
        Check(
            "log level query: that level's lines first, its templates in the summary",
            all(levels_ok),
            f"{sum(levels_ok)}/{len(levels_ok)}",
        ),
        round_trip_check("log", group),
    ]
    section.data = {"summary": group.as_json(), "files": files}
    return section


KIND = Kind("log", run)
