"""Prose cut into units that can be kept or dropped: sentences, headings, list items, table rows.

A unit is a span of one line, so whatever is kept is original text and can be put back in the
original order. Paragraph lines split into sentences; headings, list items, table rows, quotes and
indented code stay one unit each (cutting them would lose the marker that gives them meaning).
Sentence ends are found by punctuation followed by a capital, never inside a code span and never
after a common abbreviation or an initial.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_ATX = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_SETEXT = re.compile(r"^\s{0,3}(?:=+|-{2,})\s*$")
_WHOLE = re.compile(r"^\s*(?:[-*+]\s|\d{1,3}[.)]\s|\||>|```|~~~|\t| {4})")
_END = re.compile(r"""[.!?…]+["'\u201d\u2019)\]]*\s+(?=["'\u201c\u2018(\[]?[A-Z0-9])""")
_PINNED_CODE_LINES = 40
_WORD_WINDOW = 16  # characters before a sentence end that can hold the abbreviation it ends
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig no vol pp inc ltd co corp approx est dept univ "
    "jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k".split()
)


class Unit(NamedTuple):  # a tuple, not a dataclass: a long text makes thousands, and tuples are cheap
    """Characters ``start:end`` of line ``line``; ``order`` is the unit's place in the text."""

    order: int
    line: int
    start: int
    end: int
    text: str
    heading: bool
    first: bool  # the first unit of its paragraph
    paragraph: int
    pinned: bool = False  # always kept: a heading, or a line of a short fenced code block


def _sentence_ends(line: str) -> list[int]:
    """Where the sentences of ``line`` end (the offsets where the next one starts)."""
    ends = []
    ticks = checked = 0
    for match in _END.finditer(line):
        start = match.start()
        ticks += line.count("`", checked, start)
        checked = start
        if ticks % 2:  # inside a code span
            continue
        window = max(0, start - _WORD_WINDOW)  # only short words are abbreviations: look back no further
        space = max(line.rfind(" ", window, start), line.rfind("\t", window, start), window - 1)
        word = line[space + 1 : start]
        word = word.lower().strip("([\"'")
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        ends.append(match.end())
    return ends


def units(lines: list[str]) -> list[Unit]:
    """The units of ``lines``, in order; blank lines make none."""
    found: list[Unit] = []
    paragraph = 0
    fenced = False
    fence_start = fence_line = 0
    previous_blank = True
    for number, line in enumerate(lines):
        stripped = line.strip()
        fence = stripped.startswith(("```", "~~~"))
        if fence:
            fenced = not fenced
            if fenced:
                fence_start, fence_line = len(found), number
        if not stripped:
            previous_blank = True
            continue
        if previous_blank:
            paragraph += 1
        first = previous_blank
        previous_blank = False
        underline = number + 1 < len(lines) and _SETEXT.match(lines[number + 1]) is not None
        if _SETEXT.match(line) and number > 0 and lines[number - 1].strip():
            # the underline of a setext heading: kept with it, or the heading reads as plain text
            found.append(Unit(len(found), number, 0, len(line), line, True, False, paragraph, True))
            continue
        heading = not fenced and (_ATX.match(line) is not None or (underline and len(stripped) <= 120))
        if heading or fenced or _WHOLE.match(line):  # _WHOLE also matches fence lines
            found.append(Unit(len(found), number, 0, len(line), line, heading, first, paragraph, heading))
            if fence and not fenced and number - fence_line <= _PINNED_CODE_LINES:  # a short block closes
                found[fence_start:] = [unit._replace(pinned=True) for unit in found[fence_start:]]
            continue
        start = 0
        for end in [*_sentence_ends(line), len(line)]:
            piece = line[start:end]
            if piece.strip():
                found.append(Unit(len(found), number, start, end, piece, False, first, paragraph))
                first = False
            start = end
    return found
