"""Judging ``retrieve(ref, query=...)`` on a line-based original (logs, grep output).

The contract's format: a header ``[headroom_retrieve: N of M lines match "QUERY"; showing K]``, then one
line per match, ``<1-based line number>\\t<the original line>``, at most 200 matches or about 4,000 tokens.
A line matches when it contains every word of the query, case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER = re.compile(r'^\[headroom_retrieve: (\d+) of (\d+) (lines|records) match "(.*)"; showing (\d+)\]$')


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


def check_line_retrieval(retrieved: str, query: str, lines: list[str]) -> RetrievalCheck:
    """Check a retrieval against the original ``lines``: header, every shown line real and matching.

    Passes when the header is well-formed and accurate (N = the true number of matching lines, K = the
    lines shown), every shown line is a distinct original line at its right number containing the query,
    and the shown lines are all the matches, or, when capped (K < N), exactly the first K in file order.
    """
    expected = [number for number, line in enumerate(lines, 1) if line_matches(line, query)]
    out = retrieved.split("\n")
    while len(out) > 1 and out[-1].strip() == "":
        out.pop()
    header = HEADER.match(out[0].rstrip("\r"))

    def verdict(
        passed: bool, reason: str, shown: tuple[int, ...] = (), capped: bool = False
    ) -> RetrievalCheck:
        return RetrievalCheck(passed, reason, len(expected), shown, capped)

    if header is None:
        return verdict(False, f"malformed header: {out[0][:120]!r}")
    n_matched, _total, unit, echoed, n_shown = header.groups()
    if unit != "lines":
        return verdict(False, f"header counts {unit}, expected lines")
    if echoed != query:
        return verdict(False, f"header echoes {echoed!r}, expected {query!r}")
    shown: list[int] = []
    for row in out[1:]:
        number, tab, text = row.partition("\t")
        if not tab or not number.isdigit():
            return verdict(False, f"not '<n>\\t<line>': {row[:120]!r}", tuple(shown))
        index = int(number)
        if not 1 <= index <= len(lines) or lines[index - 1] != text.rstrip("\r"):
            return verdict(False, f"line {index} is not the original line", tuple(shown))
        if not line_matches(text, query):
            return verdict(False, f"line {index} does not contain the query", tuple(shown))
        shown.append(index)
    found = tuple(shown)
    capped = len(found) < len(expected)
    if len(set(found)) != len(found):
        return verdict(False, "a line is shown twice", found, capped)
    if int(n_matched) != len(expected):
        return verdict(False, f"header says {n_matched} match, {len(expected)} do", found, capped)
    if int(n_shown) != len(found):
        return verdict(False, f"header says {n_shown} shown, {len(found)} are", found, capped)
    if expected and not found:
        return verdict(False, "nothing shown", found, capped)
    if capped and list(found) != expected[: len(found)]:
        return verdict(False, "capped, but not the first matching lines in file order", found, capped)
    if not capped and sorted(found) != expected:
        return verdict(False, "not every matching line is shown", found, capped)
    return verdict(True, "ok", found, capped)
