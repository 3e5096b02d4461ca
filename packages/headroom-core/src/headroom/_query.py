"""Query matching, in one place: which words of a query count, and which lines or records hold them.

Two rules, for two jobs:

- Compressors keep what the query is about (``QueryMatcher``): the significant words of the query
  (``query_terms``: three letters or more, or a number; no stopwords), numbers as whole numbers,
  words as case-insensitive substrings, and only items that single something out (``pick``).
- ``retrieve(ref, query)`` answers with every line or record holding every whitespace-separated
  word of the query (``query_words``, ``rank``): the model asked, so nothing is left out, but the
  matches are graded and ranked so that what it meant comes first (see "Ranking" below).

The prose compressor ranks sentences by relevance (stems, BM25) rather than matching them; that
scoring lives with it in ``_compressors.text``.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[\w.$/-]*\w", re.UNICODE)
_STOPWORDS = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in into is it
    its me my of on or our please show so than that the their them then there these they this to us
    was we were what when where which who why will with would you your tell find give get see look
    check all any some about after before""".split()
)


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


# --- Ranking: the order a retrieval answers in ------------------------------------------------------
# Which lines or records a retrieval query matches, and in what order the model should read them.
#
# A model that asks ``query="ERROR"`` of a log means the ERROR lines, not every WARN line whose message
# says ``error = 3``; file order would show it the wrong ones first. So every match is graded, per word:
#
# - 4: the word names a log level and is the line's level field (``ERROR``, or ``E`` in logcat), or,
#   in JSON, it is a whole key or a whole value of the record;
# - 3: the word as a whole word, in the same case;
# - 2: the word as a whole word, in any case;
# - 1: the word inside a longer word, in any case (not for one-letter words).
#
# A line or record matches when every word of the query grades 1 or more; matches are ranked by their
# lowest grade, then by the sum, then in file order. The level field is found, not assumed: the token
# position (among the first few) where a level name stands on at least half of the lines.

# level names as a field spells them -> the level they name
_LEVEL_NAMES = {
    "trace": "trace", "verbose": "trace", "debug": "debug", "info": "info", "notice": "notice",
    "warn": "warn", "warning": "warn", "err": "error", "error": "error", "severe": "severe",
    "crit": "critical", "critical": "critical", "fatal": "fatal", "alert": "alert", "emerg": "emerg",
    "panic": "panic",
}  # fmt: skip
_LETTERS = {"V": "trace", "D": "debug", "I": "info", "W": "warn", "E": "error", "F": "fatal", "A": "fatal"}
_GLOG = re.compile(r"^([IWEF])\d{4}$")  # glog: I0312 10:00:01.123456 ...
_FIELD_TOKENS = 12  # the level field is among the first tokens of a line (BGL: the ninth)
_FIELD_SAMPLE = 400  # lines sampled to find it
_STRIP = "[]()<>{}:,;|\"'"
_WORD_CHARS = r"A-Za-z0-9_"


@dataclass(frozen=True)
class Match:
    """One matching line or record: where it is, what it says, and its grade."""

    index: int  # 0-based position in the original's lines or records
    label: str  # the 1-based line number, or the record's path
    text: str
    worst: int
    total: int
    level: bool  # a query word matched the level field


def _token_level(token: str, letters: bool) -> str | None:
    token = token.strip(_STRIP)
    if letters and len(token) == 1:
        return _LETTERS.get(token)
    glog = _GLOG.match(token)
    if glog is not None:
        return _LETTERS[glog.group(1)]
    return _LEVEL_NAMES.get(token.lower())


class LevelField:
    """The level of each line of a log, read from the token position where levels stand."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.position: int | None = None
        self.letters = False
        step = max(1, len(lines) // _FIELD_SAMPLE)
        sample = [line.split(None, _FIELD_TOKENS)[:_FIELD_TOKENS] for line in lines[::step]]
        for letters in (False, True):
            positions: Counter[int] = Counter()
            for tokens in sample:
                for position, token in enumerate(tokens):
                    if _token_level(token, letters) is not None:
                        positions[position] += 1
                        break
            if positions:
                position, count = positions.most_common(1)[0]
                if count * 2 >= len(sample):
                    self.position, self.letters = position, letters
                    return

    def __bool__(self) -> bool:
        return self.position is not None

    def of(self, line: str) -> str | None:
        """The level named by ``line``'s level field, or None."""
        if self.position is None:
            return None
        tokens = line.split(None, self.position + 1)
        return _token_level(tokens[self.position], self.letters) if len(tokens) > self.position else None

    def named(self, word: str) -> str | None:
        """The level a query word names in this log (``E`` only where the field is a letter)."""
        if self.position is None:
            return None
        if self.letters and len(word) == 1:
            return _LETTERS.get(word)
        return _LEVEL_NAMES.get(word.lower())


class _Word:
    def __init__(self, word: str, json: bool) -> None:
        escaped = re.escape(word)
        self.lower = word.lower()
        self.exact = re.compile(rf"(?<![{_WORD_CHARS}]){escaped}(?![{_WORD_CHARS}])")
        self.folded = re.compile(rf"(?<![{_WORD_CHARS}]){escaped}(?![{_WORD_CHARS}])", re.I)
        # a whole key ("word":) or a whole value (:"word", or a bare number or literal) of compact JSON
        self.whole = re.compile(rf'"{escaped}":|(?<=[:,\[])"?{escaped}"?(?=[,\]}}])', re.I) if json else None
        self.level: str | None = None

    def grade(self, text: str, lowered: str, level: str | None) -> int:
        if self.level is not None and level == self.level:
            return 4
        if self.lower not in lowered:
            return 0
        if self.whole is not None and self.whole.search(text):
            return 4
        if self.exact.search(text):
            return 3
        if self.folded.search(text):
            return 2
        return 1 if len(self.lower) > 1 else 0


def query_words(query: str) -> list[str]:
    """The words of a retrieval query, case kept, quotes around a word dropped."""
    words = (word.strip("\"'`") for word in query.split())
    return [word for word in words if word]


def rank(
    items: Sequence[tuple[str, str]], words: Sequence[str], *, json: bool = False, levels: bool = False
) -> list[Match]:
    """The items (label, text) matching every word, best first (see the module docstring)."""
    graders = [_Word(word, json) for word in words]
    field = LevelField([text for _, text in items]) if levels else None
    if field:
        for grader, word in zip(graders, words, strict=True):
            grader.level = field.named(word)
    uses_level = field is not None and any(grader.level is not None for grader in graders)
    matches: list[Match] = []
    for index, (label, text) in enumerate(items):
        lowered = text.lower()
        level = field.of(text) if uses_level and field is not None else None
        grades = []
        for grader in graders:
            grade = grader.grade(text, lowered, level)
            if not grade:
                break
            grades.append(grade)
        else:
            by_level = level is not None and any(grader.level == level for grader in graders)
            matches.append(Match(index, label, text, min(grades), sum(grades), by_level))
    matches.sort(key=lambda match: (-match.worst, -match.total, match.index))
    return matches


_TERM = re.compile(r"[\w.$/-]*\w")
_VOCABULARY_CHARS = 1_000_000  # suggestions read the first MB: enough to know a log's words


def closest_terms(texts: Sequence[str], word: str, limit: int = 3) -> list[tuple[str, int]]:
    """Terms of ``texts`` spelled most like ``word`` (any case), each with how many texts hold it."""
    holding: Counter[str] = Counter()  # lower-cased term -> texts holding it
    spellings: dict[str, Counter[str]] = {}
    read = 0
    for text in texts:
        terms = set(_TERM.findall(text))
        for term in terms:
            spellings.setdefault(term.lower(), Counter())[term] += 1
        holding.update({term.lower() for term in terms})
        read += len(text)
        if read > _VOCABULARY_CHARS:
            break
    low = word.lower()
    near = [term for term in holding if abs(len(term) - len(low)) <= max(2, len(low) // 3)]
    close = difflib.get_close_matches(low, near, n=limit, cutoff=0.6)
    return [(spellings[term].most_common(1)[0][0], holding[term]) for term in close]
