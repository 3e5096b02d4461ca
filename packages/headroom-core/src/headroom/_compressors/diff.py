"""Unified and git diffs: every header and every changed line, unchanged context trimmed, bulk collapsed.

Reads ``diff -u`` output and git's ``diff``, ``show`` and ``log -p`` (commit headers and messages),
combined diffs (``diff --cc``, ``@@@`` hunks with one prefix column per parent), renames, copies, mode
changes and binary markers. Hunk bodies are delimited by the line counts of their headers, so a deleted
line that reads ``--- a/x`` is still a deleted line. What the model reads, in the diff's own order:

- every line outside hunk bodies verbatim: commit headers (``commit``, ``Author:``, ``Date:``), commit
  messages, file headers (``diff --git``, ``index``, ``---``/``+++``, modes, ``similarity``, ``rename``,
  ``copy``, ``Binary files ... differ``, ``GIT binary patch``) and anything unrecognised;
- every hunk header and every added or deleted line verbatim, except inside a *pure block*: more than 50
  consecutive added (or deleted) lines, the shape of generated files, lock files and vendored code. A
  pure block keeps its first 3 and last 2 lines. A pure hunk is one pure block; a lock file update that
  replaces 80 lines with 80 others is two. In a file whose name says it is generated (``*.lock``,
  ``package-lock.json``, ``go.sum``, ``*.min.js``, ``*.svg``, ``*_pb2.py``, ``vendor/``, ...), more
  than 20 lines make a pure block;
- unchanged context lines within 1 line of a change;
- context lines and collapsed lines that match the query;
- nothing of the base85 data of a ``GIT binary patch``.

Each cut becomes one short inline line, indented by two spaces and naming what it stands for::

    … 12 unchanged lines      … 75 added lines      … 75 deleted lines
    … 4 message lines         … 40 binary patch lines

(In a combined diff, a line is added when it is in the result, deleted when it is not.) A cut that would not
save characters is not made. The output ends with the one full marker, ``[… N lines omitted;
headroom_retrieve ref=…]``, N counting every line cut, so the model learns the ref once.

A history of many small changes (12 hunks or more: ``git log -p`` of CI bumps, releases, one-line
fixes) is mostly metadata and context, so by default it tightens in steps until it is half its size (in
characters, a cheap stand-in for tokens), never cutting a changed line the rule above keeps: first no
context, commit message bodies cut to their subject line and ``index`` lines (blob hashes) cut; then
commit authors and dates cut too (the ``commit`` line and subject stay). Context at a hunk's edges and
these metadata lines go without an inline note: the hunk header's counts and git's fixed layout say
what is missing, and the full marker counts them.

``budget`` tightens through the same steps until the output fits, then further: pure blocks of more
than 20 lines (8 in generated files); then pure blocks of more than 8 lines, keeping their first 2 and
last.

Line endings: a diff whose every line ends in CRLF is read as ``_lines.split_lines`` reads it. Where
only some lines carry ``\\r`` (a CRLF file in git's LF output), the ``\\r`` is content and kept, so a
change of line endings stays visible. Output lines are joined with ``\\n``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._lines import split_lines
from .._query import QueryMatcher
from ._job import Job

# one character per line: "h" kept verbatim (headers, anything unrecognised), "m" commit message,
# "b" binary patch data, "i" an ``index`` line, "f" a commit's author or date, " " context, "+" added,
# "-" deleted, "\\" the "\ No newline at end of file" note
_CHANGE = "+-\\"
_UNITS = {" ": "unchanged", "+": "added", "-": "deleted", "m": "message", "b": "binary patch", "i": "index",
          "f": "author and date"}  # fmt: skip

_HUNK = re.compile(r"(@@+) ((?:-\d+(?:,\d+)? )+)\+\d+(?:,(\d+))? \1")
_OLD_COUNT = re.compile(r"-\d+(?:,(\d+))?")
_COMMIT = re.compile(r"commit [0-9a-f]{7,64}(?:\s|$)")
_FIELD = re.compile(r"[A-Z][\w-]*:")
_WHO_AND_WHEN = re.compile(r"(?:Author|AuthorDate|Commit|CommitDate|Date):")
_HEADERS = (
    "diff ", "index ", "--- ", "+++ ", "new file mode ", "deleted file mode ", "old mode ", "new mode ",
    "similarity index ", "dissimilarity index ", "rename from ", "rename to ", "copy from ", "copy to ",
    "Binary files ", "literal ", "delta ", "Only in ", "Index: ", "=====",
)  # fmt: skip
_GIT_HEADERS = ("diff --git ", "diff --cc ", "diff --combined ")
_GENERATED = re.compile(
    r"(?:^|[\s/])(?:[\w.-]*\.lock|package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.yaml|go\.sum"
    r"|[\w.-]+\.min\.(?:js|css)|[\w.-]+\.(?:js|css)\.map|[\w.-]+\.svg|[\w.-]+_pb2\.pyi?|[\w.-]+\.pb\.go)(?=\s|$)"
    r"|(?:^|[\s/])(?:vendor|node_modules|third_party)/"
)
_CONTEXT = re.compile(r" +")
_BINARY = re.compile(r"b+")
_INDEX, _WHO = re.compile("i"), re.compile("f")


def _blocks(run: int) -> re.Pattern[str]:
    """Pure blocks of more than ``run`` lines."""
    return re.compile(rf"\+{{{run + 1},}}|-{{{run + 1},}}")


@dataclass(frozen=True)
class _Level:
    """How hard to cut: ``context`` lines kept beside a change; a pure block of more than ``run``
    lines (``generated`` lines in a generated file) keeps ``head`` and ``tail``; ``bodies``: whether
    commit message bodies stay; ``metadata``: whether ``index`` lines stay; ``fields``: whether commit
    authors and dates stay."""

    context: int
    run: int
    generated: int
    head: int
    tail: int
    bodies: bool = False
    metadata: bool = False
    fields: bool = False

    def patterns(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        return _blocks(self.run), _blocks(self.generated)


# The first levels keep every changed line a reader is owed (pure blocks collapse from 50 lines, 20 in
# generated files); the default stops at the first that halves the diff, or at the last of them. Only
# a budget reaches the later levels, which collapse shorter blocks.
_LEVELS = (
    _Level(1, 50, 20, 3, 2, bodies=True, metadata=True, fields=True),
    _Level(0, 50, 20, 3, 2, fields=True),
    _Level(0, 50, 20, 3, 2),
    _Level(0, 20, 8, 3, 2),
    _Level(0, 8, 8, 2, 1),
)
_SAFE_LEVELS = 3
_DEFAULT_SHARE = 0.5  # what the default aims for, with many changes: half the characters of the diff
_MANY_HUNKS = 12  # from this many hunks a diff is a history to skim, not one change to study
_PATTERNS = tuple(level.patterns() for level in _LEVELS)
_CANDIDATES = re.compile(rf"[ m]+|{_blocks(8).pattern}")  # what some level may cut


@dataclass(frozen=True)
class _Diff:
    lines: list[str]
    kinds: str
    messages: list[tuple[int, int]]  # [start, end) of each commit message
    generated: list[tuple[int, int]]  # [start, end) of each hunk body in a generated file
    hunks: int


def compress(job: Job) -> str | None:
    """Compress a diff; None when the text does not read as one or nothing could be cut."""
    diff = _parse(_lines_of(job.text))
    if diff is None:
        return None
    picked: set[int] = set()
    matcher = QueryMatcher(job.query)
    if matcher:
        where = [i for match in _CANDIDATES.finditer(diff.kinds) for i in range(*match.span())]
        picked = {where[k] for k in matcher.pick([diff.lines[i].lower() for i in where])}
    if job.budget is not None:
        share, levels = job.budget, len(_LEVELS)
    else:
        share, levels = _DEFAULT_SHARE, _SAFE_LEVELS if diff.hunks >= _MANY_HUNKS else 1
    room = share * len(job.text)
    best: str | None = None
    for level, patterns in zip(_LEVELS[:levels], _PATTERNS[:levels], strict=True):
        best = _render(diff, level, patterns, picked, job) or best
        if best is not None and len(best) <= room:
            break
    return best


def _lines_of(text: str) -> list[str]:
    """The lines of ``text``; a ``\\r`` is part of the line ending only when every ending has one."""
    if "\r" not in text:
        return split_lines(text)
    lines = text.split("\n")
    if all(line.endswith("\r") for line in lines[:-1]):  # the last line may lack an ending
        return split_lines(text)
    if lines[-1] == "":
        lines.pop()
    return lines


def _parse(lines: list[str]) -> _Diff | None:
    """Classify every line; None unless the lines are mostly a diff with at least one file or hunk."""
    n = len(lines)
    kinds = ["h"] * n
    messages: list[tuple[int, int]] = []
    generated: list[tuple[int, int]] = []
    in_generated = False
    diffs = recognised = other = hunks = 0
    i = 0
    while i < n:
        line = lines[i]
        start = line[:1]
        end = i
        if start == "@":
            match = _HUNK.match(line)
            if match:
                olds = [int(count or 1) for count in _OLD_COUNT.findall(match[2])]
                if len(olds) == len(match[1]) - 1:
                    end = _hunk(lines, kinds, i + 1, olds, int(match[3] or 1))
                    diffs += 1
                    hunks += 1
                    if in_generated:
                        generated.append((i + 1, end))
        elif start == "c" and _COMMIT.match(line):
            end = _commit(lines, kinds, i + 1, messages)
        elif line.startswith("GIT binary patch"):
            end = _binary(lines, kinds, i + 1)
        if end > i:
            recognised += end - i
            i = end
            continue
        if line.startswith(_HEADERS):
            if line.startswith("index "):
                kinds[i] = "i"
            recognised += 1
            diffs += line.startswith(_GIT_HEADERS)
            if line.startswith(("diff ", "--- ")):  # a new file; "+++ " can only add what it names
                in_generated = _GENERATED.search(line) is not None
            elif line.startswith("+++ "):
                in_generated = in_generated or _GENERATED.search(line) is not None
        elif line.startswith(" ") and " | " in line:
            recognised += 1  # a --stat line
        elif line.strip():
            other += 1
        i += 1
    if not diffs or other > recognised:
        return None
    return _Diff(lines, "".join(kinds), messages, generated, hunks)


def _hunk(lines: list[str], kinds: list[str], i: int, olds: list[int], new: int) -> int:
    """Mark the body of a hunk starting at line ``i``; returns the index of the line after it."""
    n = len(lines)
    if len(olds) == 1:
        old = olds[0]
        while i < n and (old > 0 or new > 0):
            start = lines[i][:1]
            if start in (" ", "") and old > 0 and new > 0:
                old, new, kinds[i] = old - 1, new - 1, " "
            elif start == "-" and old > 0:
                old, kinds[i] = old - 1, "-"
            elif start == "+" and new > 0:
                new, kinds[i] = new - 1, "+"
            elif start == "\\":
                kinds[i] = "\\"
            else:
                break
            i += 1
        return i
    parents = len(olds)
    while i < n and (new > 0 or max(olds) > 0):
        line = lines[i]
        if line.startswith("\\"):
            kinds[i] = "\\"
            i += 1
            continue
        prefix = line[:parents] or " " * parents
        if len(prefix) < parents or prefix.strip(" +-"):
            break
        kept = "-" not in prefix  # the line is in the result
        for parent, column in enumerate(prefix):
            if column == "-" or (column == " " and kept):
                olds[parent] -= 1
        new -= kept
        kinds[i] = " " if prefix.isspace() else "+" if kept else "-"
        i += 1
    return i


def _commit(lines: list[str], kinds: list[str], i: int, messages: list[tuple[int, int]]) -> int:
    """Skip a commit's fields (``Author:``, ``Date:``) and mark its indented message."""
    n = len(lines)
    while i < n and _FIELD.match(lines[i]):
        if _WHO_AND_WHEN.match(lines[i]):
            kinds[i] = "f"
        i += 1
    if i < n and not lines[i].strip():
        i += 1
    begin = i
    while i < n and (lines[i].startswith("    ") or not lines[i].strip()):
        kinds[i] = "m"
        i += 1
    if i > begin:
        messages.append((begin, i))
    return i


def _binary(lines: list[str], kinds: list[str], i: int) -> int:
    """Mark the base85 lines of a ``GIT binary patch`` (they never hold a space)."""
    n = len(lines)
    while i < n:
        line = lines[i]
        if line.startswith(("literal ", "delta ")) or not line.strip():
            i += 1
        elif " " in line:
            break
        else:
            kinds[i] = "b"
            i += 1
    return i


def _render(
    diff: _Diff,
    level: _Level,
    patterns: tuple[re.Pattern[str], re.Pattern[str]],
    picked: set[int],
    job: Job,
) -> str | None:
    lines, kinds = diff.lines, diff.kinds
    n = len(lines)
    drop = bytearray(n)
    blocks, generated = patterns
    matches = [*blocks.finditer(kinds)]
    matches += [match for start, end in diff.generated for match in generated.finditer(kinds, start, end)]
    for match in matches:
        start, end = match.start() + level.head, match.end() - level.tail
        drop[start:end] = b"\1" * (end - start)
    quiet = bytearray(n)  # cut lines that need no note
    for match in _CONTEXT.finditer(kinds):
        start, end = match.span()
        before = start > 0 and kinds[start - 1] in _CHANGE
        after = end < n and kinds[end] in _CHANGE
        if before:
            start += level.context
        if after:
            end -= level.context
        if end > start:
            drop[start:end] = b"\1" * (end - start)
            if not level.context and not (before and after):
                quiet[start:end] = drop[start:end]  # a hunk's edge: its header's counts tell the cut
    for pattern, kept in ((_INDEX, level.metadata), (_WHO, level.fields)):
        if not kept:
            for match in pattern.finditer(kinds):
                drop[match.start()] = quiet[match.start()] = 1
    if not level.bodies:
        for begin, stop in diff.messages:
            text = [i for i in range(begin, stop) if lines[i].strip()]
            if len(text) > 1:
                drop[text[0] + 1 : text[-1] + 1] = b"\1" * (text[-1] - text[0])
    for match in _BINARY.finditer(kinds):
        drop[match.start() : match.end()] = b"\1" * (match.end() - match.start())
    for i in picked:
        drop[i] = 0

    out: list[str] = []
    omitted = i = 0
    while i < n:
        start = drop.find(1, i)
        if start < 0:
            out.extend(lines[i:])
            break
        out.extend(lines[i:start])
        end = drop.find(0, start)
        end = n if end < 0 else end
        gap = end - start
        if quiet.find(0, start, end) < 0:
            omitted += gap
            i = end
            continue
        units = set(kinds[start:end])
        unit = _UNITS[units.pop()] if len(units) == 1 else ""
        note = f"  … {gap} {unit}{' ' if unit else ''}{'line' if gap == 1 else 'lines'}"
        if sum(len(line) + 1 for line in lines[start:end]) <= len(note) + 1:
            out.extend(lines[start:end])
        else:
            out.append(note)
            omitted += gap
        i = end
    if not omitted:
        return None
    out.append(job.marker(omitted, "lines"))
    return "\n".join(out)
