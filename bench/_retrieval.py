"""Judging ``retrieve(ref, query=...)`` on a line-based original (logs, grep output).

The contract's format: a header ``[headroom_retrieve: N of M lines match "QUERY"; showing K, ranked
A-B; R more: offset=B]``, an optional summary (``templates of the matches ...:`` lines, then
``matches, best first:``), then one line per match, ``<1-based line number>\t<the original line>``,
ranked best first, at most about 4,000 tokens a page. A line matches when it contains every word of the
query, case-insensitively (a level word may also match the level field: judged in ``_log``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

HEADER = re.compile(
    r'^\[headroom_retrieve: (\d+) of (\d+) (lines|records) match "(.*)"(?: in lines \d+-\d+)?; showing (\d+)'
    r"(?:, ranked (\d+)-(\d+))?(?:; (\d+) more: offset=(\d+))?\]$"
)
SUMMARY_END = "matches, best first:"


@dataclass(frozen=True)
class RetrievalCheck:
    """The verdict on one query retrieval and what it showed."""

    passed: bool
    reason: str
    matched: int
    shown: tuple[int, ...]
    capped: bool

    def as_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reason": self.reason,
            "matched": self.matched,
            "shown": len(self.shown),
            "capped": self.capped,
        }


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as numbered by a reader: split on LF, CR of CRLF dropped, no phantom line."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [part[:-1] if part.endswith("\r") else part for part in parts]


def line_matches(line: str, query: str) -> bool:
    """Whether ``line`` contains every word of ``query``, case-insensitively (the contract's rule)."""
    folded = line.lower()
    return all(word.lower() in folded for word in query.split())


@dataclass(frozen=True)
class Page:
    """One answer page, parsed: header fields, the summary lines and the (number, text) rows."""

    matched: int
    total: int
    unit: str
    query: str
    shown: int
    first_rank: int
    more: int
    next_offset: int | None
    summary: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]


def parse_page(retrieved: str) -> Page | str:
    """The page, or a reason it is malformed."""
    out = retrieved.split("\n")
    while len(out) > 1 and out[-1].strip() == "":
        out.pop()
    header = HEADER.match(out[0].rstrip("\r"))
    if header is None:
        return f"malformed header: {out[0][:120]!r}"
    matched, total, unit, query, shown, first, _last, more, offset = header.groups()
    body = out[1:]
    summary: list[str] = []
    if SUMMARY_END in body:
        end = body.index(SUMMARY_END)
        summary, body = body[:end], body[end + 1 :]
    rows = []
    for row in body:
        label, tab, text = row.partition("\t")
        if not tab:
            if int(matched) == 0:
                continue  # a miss explains itself in plain lines
            return f"not '<label>\\t<text>': {row[:120]!r}"
        rows.append((label, text.rstrip("\r")))
    return Page(
        int(matched), int(total), unit, query, int(shown), int(first or 1), int(more or 0),
        int(offset) if offset is not None else None, tuple(summary), tuple(rows),
    )  # fmt: skip


def check_line_retrieval(retrieved: str, query: str, lines: list[str], offset: int = 0) -> RetrievalCheck:
    """Check one page against the original ``lines``: header, every shown line real and matching.

    Passes when the header is well-formed and accurate (N = the true number of matching lines, K = the
    lines shown, the rest counted with the offset of the next page), every shown line is a distinct
    original line at its right number containing the query, and the shown lines are all the matches
    unless the page is capped (then any K of them: they are ranked, and ``page_through`` reads the rest).
    """
    expected = [number for number, line in enumerate(lines, 1) if line_matches(line, query)]

    def verdict(
        passed: bool, reason: str, shown: tuple[int, ...] = (), capped: bool = False
    ) -> RetrievalCheck:
        return RetrievalCheck(passed, reason, len(expected), shown, capped)

    page = parse_page(retrieved)
    if isinstance(page, str):
        return verdict(False, page)
    if page.unit != "lines":
        return verdict(False, f"header counts {page.unit}, expected lines")
    if page.query != query:
        return verdict(False, f"header echoes {page.query!r}, expected {query!r}")
    shown: list[int] = []
    for label, text in page.rows:
        if not label.isdigit():
            return verdict(False, f"not a line number: {label[:40]!r}", tuple(shown))
        index = int(label)
        if not 1 <= index <= len(lines) or lines[index - 1] != text:
            return verdict(False, f"line {index} is not the original line", tuple(shown))
        if not line_matches(text, query):
            return verdict(False, f"line {index} does not contain the query", tuple(shown))
        shown.append(index)
    found = tuple(shown)
    capped = offset + len(found) < len(expected)
    if len(set(found)) != len(found):
        return verdict(False, "a line is shown twice", found, capped)
    if page.matched != len(expected):
        return verdict(False, f"header says {page.matched} match, {len(expected)} do", found, capped)
    if page.shown != len(found):
        return verdict(False, f"header says {page.shown} shown, {len(found)} are", found, capped)
    if expected and not found:
        return verdict(False, "nothing shown", found, capped)
    rest = len(expected) - offset - len(found)
    if page.more != rest or (rest > 0) != (page.next_offset == offset + len(found)):
        return verdict(False, f"header says {page.more} more, {rest} are left", found, capped)
    if not capped and offset == 0 and sorted(found) != expected:
        return verdict(False, "not every matching line is shown", found, capped)
    return verdict(True, "ok", found, capped)


def page_through(
    fetch: Callable[[int], str], query: str, lines: list[str], limit: int = 200
) -> tuple[RetrievalCheck, list[int], list[Page]]:
    """Read every page (``fetch(offset)``) and check each; the verdict is on the whole: every matching
    line exactly once. Returns it with the line numbers in the order shown and the pages."""
    offset = 0
    order: list[int] = []
    pages: list[Page] = []
    check = RetrievalCheck(False, "no page", 0, (), False)
    for _ in range(limit):
        answer = fetch(offset)
        check = check_line_retrieval(answer, query, lines, offset)
        page = parse_page(answer)
        if not check.passed or isinstance(page, str):
            return check, order, pages
        pages.append(page)
        order += check.shown
        if page.next_offset is None:
            break
        offset = page.next_offset
    expected = [number for number, line in enumerate(lines, 1) if line_matches(line, query)]
    if sorted(order) != expected or len(order) != len(set(order)):
        return RetrievalCheck(False, "the pages do not hold every match once", len(expected), tuple(order),
                              False), order, pages  # fmt: skip
    return RetrievalCheck(True, "ok", len(expected), tuple(order), len(pages) > 1), order, pages
