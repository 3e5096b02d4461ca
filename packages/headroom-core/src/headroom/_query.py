"""Query matching, in one place: which words of a query count, and which lines or records hold them.

Two rules, for two jobs:

- Compressors keep what the query is about (``QueryMatcher``): the significant words of the query
  (``query_terms``: three letters or more, or a number; no stopwords), numbers as whole numbers,
  words as case-insensitive substrings, and only items that single something out (``pick``).
- ``retrieve(ref, query)`` answers with every line or record holding every whitespace-separated
  word of the query, case-insensitively (``query_words``): the model asked, so nothing is judged.

The prose compressor ranks sentences by relevance (stems, BM25) rather than matching them; that
scoring lives with it in ``_compressors.text``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[\w.$/-]*\w", re.UNICODE)
_STOPWORDS = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in into is it
    its me my of on or our please show so than that the their them then there these they this to us
    was we were what when where which who why will with would you your tell find give get see look
    check all any some about after before""".split()
)


def query_words(query: str) -> list[str]:
    """The words every line or record a retrieval returns must contain, lower-cased."""
    return [word for word in query.lower().split() if word]


def query_terms(query: str | None) -> tuple[str, ...]:
    """The significant words of ``query``, lower-cased, in order, without stopwords or repeats.

    Words of three letters or more count, and numbers of any length (``job 17``, ``port 8080``).
    """
    if not query:
        return ()
    terms: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        word = word.strip(".-/$")
        if (len(word) >= 3 or word.isdigit()) and word not in _STOPWORDS:
            terms.setdefault(word, None)
    return tuple(terms)


class QueryMatcher:
    """Counts which query terms a text holds: numbers as whole numbers (``17`` is not in ``117``),
    words as substrings, case-insensitively."""

    def __init__(self, query: str | None) -> None:
        self.terms = query_terms(query)
        self._numbers = {
            term: re.compile(rf"(?<![0-9]){re.escape(term)}(?![0-9])")
            for term in self.terms
            if term.isdigit()
        }

    def __bool__(self) -> bool:
        return bool(self.terms)

    def found(self, lowered: str) -> list[str]:
        """The terms present in ``lowered`` (text already lower-cased)."""
        return [
            term
            for term in self.terms
            if (self._numbers[term].search(lowered) is not None if term in self._numbers else term in lowered)
        ]

    def pick(self, lowered: Sequence[str], limit: int = 40) -> list[int]:
        """Indices of the items (lines, blocks, records) the query is about, at most ``limit``.

        Items holding every term come first; when none does, items holding a selective term (one found
        in at most a fifth of the items) count. A query that matches nearly everything picks nothing.
        """
        if not self.terms or not lowered:
            return []
        found = [self.found(text) for text in lowered]
        selective_share = max(3, len(lowered) // 5)
        every = [index for index, terms in enumerate(found) if len(terms) == len(self.terms)]
        if every:
            return every[:limit] if len(every) <= selective_share else []
        frequency = Counter(term for terms in found for term in terms)
        selective = {term for term, count in frequency.items() if count <= selective_share}
        return [index for index, terms in enumerate(found) if selective.intersection(terms)][:limit]
