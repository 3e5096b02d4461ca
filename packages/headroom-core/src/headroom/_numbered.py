"""File reads with line numbers (Claude Code's ``     1→``, ``cat -n``, ``nl``): compress, keep the numbers.

An agent reads a file with a number before every line and later cites or edits it by line. The
numbers are taken off (``strip``), the file is compressed as what it is (code of its language, JSON,
prose), and every line of the output that is a line of the file gets its own number back
(``renumber``); a line the compressor wrote (a marker, an elided body) gets none, so a number on the
page always names the line it shows. A short header (an edit tool's "Here's the result of running
`cat -n`") and footer (a system reminder) are kept as they are.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

_NUMBERED = re.compile(r"( *)(\d{1,7})(→|\t)")
_MIN_LINES = 8
_HEAD_LINES = 3
_TAIL_LINES = 12
_UNNUMBERED_SHARE = 0.1  # unnumbered non-blank lines among the numbered ones (wrapped lines)
_IN_ORDER_SHARE = 0.9  # consecutive numbers that go up by one
_NEAR = 64  # how far past the last matched line a line merged with a marker is looked for
_TRIVIAL = 2  # characters (stripped) at or below which a line ("}", "") is too common to anchor on


@dataclass(frozen=True)
class Numbered:
    """A numbered read: ``head``, then ``lines`` each behind its ``prefixes`` entry, then ``tail``."""

    head: str
    prefixes: list[str]
    lines: list[str]
    tail: str

    @cached_property
    def body(self) -> str:
        """The file as it is, numbers off (joined once: detection and the compressor both read it)."""
        return "\n".join(self.lines)


def strip(text: str) -> Numbered | None:
    """The numbered read in ``text``, or None when ``text`` is not one."""
    if not any(_NUMBERED.match(row) for row in text[:4096].split("\n", _HEAD_LINES + 1)[: _HEAD_LINES + 1]):
        return None  # cheap for any other text: only its first lines are looked at
    rows = text.split("\n")
    numbered = [index for index, row in enumerate(rows[: _HEAD_LINES + 1]) if _NUMBERED.match(row)]
    if not numbered:
        return None
    first = numbered[0]
    last = len(rows) - 1
    while last > first and not _NUMBERED.match(rows[last]):
        last -= 1
    if last - first + 1 < _MIN_LINES or len(rows) - 1 - last > _TAIL_LINES:
        return None
    prefixes: list[str] = []
    lines: list[str] = []
    numbers: list[int] = []
    stray = 0
    for row in rows[first : last + 1]:
        match = _NUMBERED.match(row)
        if match is None:
            stray += bool(row.strip())
            prefixes.append("")
            lines.append(row)  # a blank line ``nl`` left unnumbered, or a wrapped line
            continue
        prefixes.append(match.group())
        lines.append(row[match.end() :])
        numbers.append(int(match.group(2)))
    in_order = sum(1 for a, b in pairwise(numbers) if b == a + 1)
    if stray > _UNNUMBERED_SHARE * len(numbers) or in_order < _IN_ORDER_SHARE * (len(numbers) - 1):
        return None
    head = "".join(row + "\n" for row in rows[:first])
    tail = "".join("\n" + row for row in rows[last + 1 :])
    return Numbered(head, prefixes, lines, tail)


def renumber(read: Numbered, output: str) -> str:
    """``output`` (the compressed body) with each line that is a line of the file behind its number.

    Lines are matched in order: first the lines that occur once in the file and once in the output
    (anchors, in increasing order on both sides), then, between two anchors, each output line against
    the next unmatched file lines; a line a marker was appended to (``func f() { /* … */ }``) takes the
    number of the file line it starts with."""
    shown = output.split("\n")
    places = _align(read.lines, shown)
    width = max((len(prefix) for prefix in read.prefixes), default=0)
    blank = " " * width
    rendered = [
        read.prefixes[place] + line if place is not None and read.prefixes[place] else blank + line
        for line, place in zip(shown, places, strict=True)
    ]
    return read.head + "\n".join(rendered) + read.tail


def _align(lines: list[str], shown: list[str]) -> list[int | None]:
    """For each shown line, the index of the file line it is (increasing), or None."""
    places: list[int | None] = [None] * len(shown)
    anchors = _anchors(lines, shown)
    for i, j in anchors:
        places[i] = j
    positions: dict[str, list[int]] = {}
    for j, line in enumerate(lines):
        positions.setdefault(line, []).append(j)
    bounds = [(-1, -1), *anchors, (len(shown), len(lines))]
    for (i0, j0), (i1, j1) in pairwise(bounds):
        _fill(lines, shown, places, positions, (i0 + 1, i1), (j0 + 1, j1))
    return places


def _anchors(lines: list[str], shown: list[str]) -> list[tuple[int, int]]:
    """Pairs (shown index, file index) of distinctive lines found once on each side, kept in order on
    both (the longest increasing run, as patience diff does)."""
    once_file = _unique(lines)
    once_shown = _unique(shown)
    pairs = [(i, once_file[line]) for line, i in once_shown.items() if line in once_file]
    pairs.sort()
    # longest increasing subsequence of the file indices, in O(n log n)
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tails, j)
        if at == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[at] = j
            tail_at[at] = index
        previous[index] = tail_at[at - 1] if at else -1
    chain: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(pairs[index])
        index = previous[index]
    return chain[::-1]


def _unique(lines: list[str]) -> dict[str, int]:
    seen: dict[str, int] = {}
    repeated: set[str] = set()
    for index, line in enumerate(lines):
        if len(line.strip()) <= _TRIVIAL:
            continue
        if line in seen:
            repeated.add(line)
        else:
            seen[line] = index
    return {line: index for line, index in seen.items() if line not in repeated}


def _fill(
    lines: list[str],
    shown: list[str],
    places: list[int | None],
    positions: dict[str, list[int]],
    shown_span: tuple[int, int],
    file_span: tuple[int, int],
) -> None:
    """Match the shown lines of a gap between anchors to the file lines of the same gap, in order."""
    pointer, end = file_span
    for i in range(*shown_span):
        line = shown[i]
        if len(line.strip()) <= _TRIVIAL:
            if pointer < end and lines[pointer] == line:  # "}" or a blank right after the last match
                places[i] = pointer
                pointer += 1
            continue
        found = positions.get(line, [])
        at = bisect.bisect_left(found, pointer)
        if at < len(found) and found[at] < end:
            places[i] = found[at]
            pointer = found[at] + 1
            continue
        for j in range(pointer, min(end, pointer + _NEAR)):
            opening = lines[j].rstrip()
            if len(opening.strip()) > _TRIVIAL and line.startswith(opening):
                places[i] = j
                pointer = j + 1
                break
    # a short line just before a matched one (a blank line after an elided body) is the line before it
    start, stop = shown_span
    before: list[int] = []
    last = file_span[0] - 1
    for i in range(start, stop):
        before.append(last)
        place = places[i]
        last = place if place is not None else last
    for i in range(stop - 1, start - 1, -1):
        after = places[i + 1] if i + 1 < len(places) else None
        free = places[i] is None and after is not None and after - 1 > before[i - start]
        if free and after is not None and lines[after - 1] == shown[i]:
            places[i] = after - 1
