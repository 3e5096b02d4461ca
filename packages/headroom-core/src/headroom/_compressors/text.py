"""Prose, Markdown and RAG chunks: keep the sentences that matter, verbatim and in order.

Extractive only. The text is cut into units (sentences, headings, list items, table rows; see
``_sentences``), each unit is scored, and the best are kept up to the budget (a share of the text's
size: a quarter with a query, half without, by default). Headings and fenced code blocks of up to 40
lines are always kept.

- With a query: BM25 over the units, plus query bigrams found in order, names and numbers of the query
  found verbatim, the kind of answer the question asks for (a date for "when", a number for "how
  many", a name for "who"), and a little of the score of a unit's neighbours, since the answer often
  sits next to the sentence that matches the question best. Then pseudo-relevance feedback: the names
  in the two best units (and the sentence after each) join the query at a lower weight, and the units
  the grown query ranks best fill the last 15% of the room. A multi-hop question (``the first president
  of the society that publishes X``) names X, not the society; the sentence about X names the society,
  and the feedback reaches the sentence about it, where the answer sits.
- Without one: first sentences of paragraphs, and sentences holding numbers, names, paths or code.
- Either way, boilerplate (cookie banners, sign-up prompts, lines repeated three times or more),
  repeated sentences and near-duplicate paragraphs (overlapping RAG chunks) go first.

What is shown: kept units in the original order, each line rebuilt from its original characters;
`` … `` joins two kept pieces of a line that were not adjacent (and starts a line whose opening was
dropped), a line ``…`` stands for dropped lines, and one marker at the end names the ref.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from itertools import pairwise

from ._job import Job
from ._sentences import _ATX, _SETEXT, Unit, units

_QUERY_SHARE = 0.25
_NEAR_DUPLICATE = 0.75  # share of sentences in common above which a paragraph repeats an earlier one
_PLAIN_SHARE = 0.5
_CHUNK_PRIOR = 0.6  # several chunks: a sentence's weight grows with its chunk's best match of the query
_K1, _B = 1.2, 0.75
# pseudo-relevance feedback: the names in the best units join the query at this weight, and the units
# they bring in fill the last share of the room (the first pass keeps the rest, so a direct match stays)
_FEEDBACK_UNITS, _FEEDBACK, _FEEDBACK_SHARE = 2, 0.7, 0.15
_BIGRAM, _NAMES, _ANSWER, _NEIGHBOUR = 0.5, 0.5, 0.5, 0.2  # weights of the evidence beyond BM25
_GAP = "…"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in into is "
    "it its me my of on or our so than that the their them then there these they this to us was we were "
    "what when where which who whom whose why will with would you your not no also".split()
)
_STEMS: dict[str, str] = {}  # shared by every call: a text's vocabulary repeats across calls
_NAME = re.compile(r"(?<=[\w,;:] )[A-Z][\w'\u2019.-]*[A-Za-z0-9]")
_NUMBER = re.compile(r"\d[\d,.]*")
_YEAR = re.compile(
    r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\bcentur(?:y|ies)\b|\b(?:January|February|March|April|May|June|July|"
    r"August|September|October|November|December)\b"
)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion)\b", re.I
)
_WHEN = re.compile(r"^\s*(?:when|what (?:year|century|decade|date|time|day|month)|in what year)\b", re.I)
_HOW_MUCH = re.compile(
    r"\b(?:how (?:many|much|long|old|far|large|big|tall|high)|what (?:percentage|number|amount))\b", re.I
)
_WHO = re.compile(
    r"^\s*(?:who|whom|whose|where)\b|\b(?:what|which)\s+(?:\w+\s+)?(?:country|countries|city|"
    r"cities|state|nation|language|religion|company|organi[sz]ation|team|river|region|province|empire|king|"
    r"queen|emperor|person|group|university|church|party|dynasty|island|continent|ship|capital)\b",
    re.I,
)  # questions whose answer is a name
_ANSWER_TYPES = ((_WHEN, _YEAR), (_HOW_MUCH, _QUANTITY), (_WHO, _NAME))
_SHORT_LINE = 200  # a shorter line repeated 3+ times is boilerplate
_BOILERPLATE = re.compile(
    r"\b(?:cookies?|consent|accept all|privacy policy|terms of (?:use|service)|all rights reserved|"
    r"subscribe|sign (?:up|in)|log ?in|newsletter|skip to (?:main )?content|share (?:this|on)|follow us|"
    r"advertisement)\b|©",
    re.I,
)
_SALIENT = re.compile(r"\d|`|\b\w+/\w|\w\.\w+\(|https?://")


def _stem(word: str) -> str:
    """A crude stemmer (``located`` = ``locate``): inflections rarely matter to relevance."""
    stem = _STEMS.get(word)
    if stem is None:
        stem = word
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                stem = word[: -len(suffix)]
                break
        if len(_STEMS) > 200_000:
            _STEMS.clear()
        _STEMS[word] = stem
    return stem


def _terms(words: list[str]) -> list[str]:
    """The stems of ``words`` (lower-cased) that carry meaning: no stop words, and no single letters
    (the ``s`` of ``Robert's`` would match every possessive)."""
    return [_stem(word) for word in words if word not in _STOP and (len(word) > 1 or word.isdigit())]


def _fold(code: int) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))


# accented Latin letters (Latin-1 Supplement, Latin Extended-A and -B) to their base letters, applied
# with str.translate: other scripts are left as they are, and folding costs no Python loop per character
_FOLD = str.maketrans({chr(code): _fold(code) for code in range(0xC0, 0x250) if _fold(code) != chr(code)})


def _words(text: str) -> list[str]:
    """Lower-cased words, accents folded (``fiancée`` matches ``fiancee``)."""
    lowered = text.lower()
    if not lowered.isascii():
        lowered = lowered.translate(_FOLD)
    return _WORD.findall(lowered)


def compress(job: Job) -> str | None:
    def room(with_query: bool) -> float:
        share = job.budget if job.budget is not None else _QUERY_SHARE if with_query else _PLAIN_SHARE
        return share * len(job.text) - 80  # the closing marker

    picked = excerpt(job.text, job.query, room)
    if picked is None:
        return None
    body, omitted = picked
    return f"{body}\n{job.marker(omitted, 'sentences')}"


def excerpt(text: str, query: str | None, room: Callable[[bool], float]) -> tuple[str, int] | None:
    """The sentences of ``text`` that matter, rendered in order, and how many were left out.

    Args:
        text: prose.
        query: what the reader looks for, or None.
        room: the characters to fill, given whether the query had terms to score by.

    Returns:
        (the kept text, the number of units omitted); None when the text is too short or too odd to cut.
    """
    lines = text.split("\n")
    repeats = Counter(line.strip() for line in lines)
    if _all_repeats(repeats):
        return None  # nothing but short lines repeated: boilerplate all through, too odd to cut
    found = units(lines)
    if len(found) < 4:
        return None
    words = [_words(unit.text) for unit in found]
    dropped = _boilerplate(found, words, lines, repeats)
    candidates = [unit for unit in found if unit.order not in dropped]
    if not candidates:
        return None  # nothing but boilerplate: too odd a text to cut with confidence
    query_terms = _terms(_words(query)) if query else []
    if query and query_terms:
        unit_words = [words[unit.order] for unit in candidates]
        scores, again = _feedback_scores(candidates, unit_words, query, query_terms)
    else:
        scores, again = _plain_scores(candidates), None

    def choose(total: float) -> set[int]:
        if again is None:
            return _select(candidates, scores, total)
        chosen = _select(candidates, scores, total * (1 - _FEEDBACK_SHARE))
        left = total - sum(len(unit.text.strip()) + 3 for unit in candidates if unit.order in chosen)
        rest = [unit for unit in candidates if unit.order not in chosen]
        return chosen | _select(rest, again, left, first=False)

    total = room(bool(query and query_terms))
    kept = choose(total)
    # the room is in characters, the budget in tokens, which follow words and punctuation more
    # closely: sentences denser in them than the text (names, numbers, lists) would overrun it, so
    # the room shrinks by that density
    density = _pieces_per_char(" ".join(u.text for u in candidates if u.order in kept)) / (
        _pieces_per_char(text) or 1.0
    )
    if density > 1.0:
        kept = choose(total / density)
    if len(kept) == len(found):
        return None
    return _render(lines, found, kept), len(found) - len(kept)


_PIECE = re.compile(r"\w+|[^\w\s]")  # what a tokenizer splits at least: words and punctuation


def _pieces_per_char(text: str) -> float:
    return len(_PIECE.findall(text)) / len(text) if text else 0.0


def excerpt_many(
    texts: list[str], query: str | None, room: Callable[[bool], float]
) -> list[tuple[str, int] | None]:
    """``excerpt`` over several texts read as one context (RAG chunks): sentences are scored and chosen
    across all of them under one ``room``; with a query, a sentence counts for more when its text holds
    the best match of the query (the most relevant chunks keep the most); a sentence or paragraph that
    repeats one of an earlier text (overlapping chunks) goes first.

    Returns:
        Per text: None when it is kept whole, else (its kept sentences, the number omitted); the kept
        text is "" when nothing of it was chosen.
    """
    lines: list[str] = []
    owner: list[int] = []  # the text each line belongs to
    for number, text in enumerate(texts):
        parts = text.split("\n")
        lines.extend([*parts, ""])  # a blank line: no paragraph runs from one text into the next
        owner.extend([number] * (len(parts) + 1))
    found = units(lines)
    words = [_words(unit.text) for unit in found]
    dropped = _boilerplate(found, words, lines, Counter(line.strip() for line in lines))
    candidates = [unit for unit in found if unit.order not in dropped]
    query_terms = _terms(_words(query)) if query else []
    if not candidates:
        kept: set[int] = set()
    elif query and query_terms:
        scores = _query_scores(candidates, [words[unit.order] for unit in candidates], query, query_terms)
        best = [0.0] * len(texts)
        for unit in candidates:
            best[owner[unit.line]] = max(best[owner[unit.line]], scores[unit.order])
        top = max(best) or 1.0
        for unit in candidates:
            scores[unit.order] *= 1 + _CHUNK_PRIOR * best[owner[unit.line]] / top
        kept = _select(candidates, scores, room(True))
    else:
        kept = _select(candidates, _plain_scores(candidates), room(False))
    per_text: list[list[Unit]] = [[] for _ in texts]
    starts = [0] * len(texts)
    for line, number in enumerate(owner):
        if line == 0 or owner[line - 1] != number:
            starts[number] = line
    for unit in found:
        number = owner[unit.line]
        per_text[number].append(unit._replace(line=unit.line - starts[number]))
    out: list[tuple[str, int] | None] = []
    for number, own in enumerate(per_text):
        chosen = sum(1 for unit in own if unit.order in kept)
        if chosen == len(own):
            out.append(None)
        elif not chosen:
            out.append(("", len(own)))
        else:
            lines_of = lines[starts[number] : starts[number] + len(texts[number].split("\n"))]
            out.append((_render(lines_of, own, kept), len(own) - chosen))
    return out


def _all_repeats(repeats: Counter[str]) -> bool:
    """Every line blank or short and repeated 3+ times, none a heading: ``_boilerplate`` would drop
    every unit. Told from the distinct lines alone, before any unit is made (millions of them for a
    text of one short line over and over)."""
    return all(
        not line or (len(line) < _SHORT_LINE and count >= 3 and not (_ATX.match(line) or _SETEXT.match(line)))
        for line, count in repeats.items()
    )


def _boilerplate(
    found: list[Unit], words: list[list[str]], lines: list[str], repeats: Counter[str]
) -> set[int]:
    """Units not worth a token: banners and prompts, short lines repeated 3+ times, repeated sentences
    (the first stays), and paragraphs that nearly repeat an earlier one. ``repeats`` counts the
    stripped lines."""
    keys = [" ".join(unit_words) for unit_words in words]
    seen: set[str] = set()
    dropped = _near_duplicates(found, keys)
    for unit in found:
        line = lines[unit.line].strip()
        key = keys[unit.order]
        short = len(line) < _SHORT_LINE  # a menu item or banner; a long line repeated is overlapping chunks
        if short and (_BOILERPLATE.search(line) or (repeats[line] >= 3 and not unit.heading)):
            dropped.add(unit.order)
        elif key in seen and len(key) > 20:
            dropped.add(unit.order)  # the same sentence again (overlapping chunks, repeated notes)
        seen.add(key)
    return dropped


def _near_duplicates(found: list[Unit], keys: list[str]) -> set[int]:
    """In paragraphs whose sentences mostly (Jaccard >= ``_NEAR_DUPLICATE``) repeat an earlier
    paragraph's, the units that repeat or nearly repeat one of its sentences; a sentence of their own
    (a chunk that overlaps another and adds to it) stays."""
    paragraphs: dict[int, list[Unit]] = {}
    for unit in found:
        if not unit.heading:
            paragraphs.setdefault(unit.paragraph, []).append(unit)
    index: dict[str, list[int]] = {}
    sentences_of: dict[int, set[str]] = {}
    dropped: set[int] = set()
    for number, members in paragraphs.items():
        sentences = {keys[unit.order] for unit in members}
        if len(sentences) < 3:
            continue
        shared = Counter(other for key in sentences for other in index.get(key, ()))
        earlier = next(
            (other for other, n in shared.items()
             if n / (len(sentences) + len(sentences_of[other]) - n) >= _NEAR_DUPLICATE),
            None,
        )  # fmt: skip
        if earlier is not None:
            before = [set(key.split()) for key in sentences_of[earlier]]
            dropped.update(unit.order for unit in members if _repeats(keys[unit.order], before))
            continue
        sentences_of[number] = sentences
        for key in sentences:
            index.setdefault(key, []).append(number)
    return dropped


def _repeats(key: str, before: list[set[str]]) -> bool:
    """Whether a sentence (its words) nearly repeats one of ``before`` (word Jaccard >= 0.6)."""
    words = set(key.split())
    return any(len(words & other) >= 0.6 * len(words | other) for other in before)


def _feedback_scores(
    candidates: list[Unit], words: list[list[str]], query: str, query_terms: list[str]
) -> tuple[dict[int, float], dict[int, float] | None]:
    """``_query_scores``, and the scores again with the query grown by the names of its best units
    (pseudo-relevance feedback; None when they add no term): a question about a thing the text names
    only through another (``the first president of the publisher of X``) reaches the sentences about
    that other thing, where the answer sits."""
    scores = _query_scores(candidates, words, query, query_terms)
    ranked = sorted(range(len(candidates)), key=lambda i: (-scores[candidates[i].order], i))[:_FEEDBACK_UNITS]
    sources = [
        candidates[j]
        for i in ranked
        if scores[candidates[i].order] > 0
        for j in range(i, min(i + 2, len(candidates)))
        if candidates[j].paragraph == candidates[i].paragraph
    ]  # the best units and the sentence after each, which often names what they are about
    asked = set(query_terms)
    extra = {
        term: _FEEDBACK
        for unit in sources
        for name in _NAME.findall(unit.text)
        for term in _terms(_words(name))
        if term not in asked
    }
    if not extra:
        return scores, None
    return scores, _query_scores(candidates, words, query, [*query_terms, *extra], extra)


def _query_scores(
    candidates: list[Unit],
    words: list[list[str]],
    query: str,
    query_terms: list[str],
    weights: dict[str, float] | None = None,
) -> dict[int, float]:
    """BM25 with bigram, name, number and answer-type evidence, smoothed over neighbours; ``weights``
    scales the BM25 weight of some terms (those feedback added)."""
    wanted = list(dict.fromkeys(query_terms))
    # the inflected forms of each wanted stem, so a unit's words are looked up, never stemmed
    forms = {
        stem + suffix: stem
        for stem in wanted
        for suffix in ("", "s", "es", "ed", "ing")
        if _stem(stem + suffix) == stem and stem + suffix not in _STOP
    }
    hits = [
        [] if forms.keys().isdisjoint(unit_words) else [forms[word] for word in unit_words if word in forms]
        for unit_words in words
    ]  # most units hold no form: the set test skips them without a Python loop
    count = len(candidates)
    average = sum(len(w) for w in words) / count or 1.0
    frequency = Counter(term for unit_hits in hits for term in set(unit_hits))
    idf = {term: math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5)) for term in wanted}
    if weights:
        idf = {term: value * weights.get(term, 1.0) for term, value in idf.items()}
    bigrams = set(pairwise(query_terms))
    names = {  # names and numbers of the query, found verbatim; as telling as their words are rare
        name: max((idf.get(term, 0.0) for term in _terms(_words(name))), default=0.0)
        for name in [*_NAME.findall(query), *_NUMBER.findall(query)]
    }
    answer = next((pattern for question, pattern in _ANSWER_TYPES if question.search(query)), None)
    top_idf = max(idf.values(), default=1.0)
    raw: list[float] = []
    for unit, unit_words, unit_hits in zip(candidates, words, hits, strict=True):
        if not unit_hits:
            raw.append(0.0)
            continue
        tf: dict[str, int] = {}
        for term in unit_hits:
            tf[term] = tf.get(term, 0) + 1
        norm = _K1 * (1 - _B + _B * len(unit_words) / average)
        score = sum(idf[t] * n * (_K1 + 1) / (n + norm) for t, n in tf.items())
        if len(unit_hits) > 1 and any(first in tf and second in tf for first, second in bigrams):
            # other words read as "" so they break adjacency
            sequence = [forms.get(word, "") for word in unit_words if word not in _STOP]
            score += _BIGRAM * top_idf * sum(1 for pair in pairwise(sequence) if pair in bigrams)
        score += _NAMES * sum(weight for name, weight in names.items() if name in unit.text)
        if answer is not None and answer.search(unit.text):
            score += _ANSWER * top_idf
        raw.append(score)
    scores: dict[int, float] = {}
    for index, unit in enumerate(candidates):
        before = raw[index - 1] if index and candidates[index - 1].paragraph == unit.paragraph else 0.0
        after = (
            raw[index + 1] if index + 1 < count and candidates[index + 1].paragraph == unit.paragraph else 0.0
        )
        scores[unit.order] = raw[index] + _NEIGHBOUR * max(before, after)
    return scores


def _plain_scores(candidates: list[Unit]) -> dict[int, float]:
    """Without a query: openings of paragraphs, then sentences with numbers, names, paths and code."""
    scores: dict[int, float] = {}
    for unit in candidates:
        score = 3.0 if unit.first else 0.0
        score += 1.0 if _SALIENT.search(unit.text) else 0.0
        score += min(1.5, 0.5 * len(_NAME.findall(unit.text)))
        scores[unit.order] = score
    return scores


def _select(candidates: list[Unit], scores: dict[int, float], room: float, first: bool = True) -> set[int]:
    """Headings and short code blocks, the best unit (unless not ``first``: a second pass over what is
    left), then the next best with a positive score while they fit in ``room``."""
    kept = {unit.order for unit in candidates if unit.pinned}
    room -= sum(len(unit.text) for unit in candidates if unit.pinned)
    ranked = sorted(
        (unit for unit in candidates if not unit.pinned), key=lambda u: (-scores[u.order], u.order)
    )
    for rank, unit in enumerate(ranked):
        if scores[unit.order] <= 0 and (kept or not first):
            break
        cost = len(unit.text.strip()) + 3  # a gap marker, more often than not
        if cost <= room or (rank == 0 and first):  # the best unit is shown even when it exceeds the room
            kept.add(unit.order)
            room -= cost
    return kept


def _render(lines: list[str], found: list[Unit], kept: set[int]) -> str:
    by_line: dict[int, list[Unit]] = {}
    for unit in found:
        by_line.setdefault(unit.line, []).append(unit)
    out: list[str] = []
    gap = blank = False
    for number, line in enumerate(lines):
        on_line = by_line.get(number)
        if on_line is None:
            blank = blank or not line.strip()
            continue
        chosen = [unit for unit in on_line if unit.order in kept]
        if not chosen:
            gap = True
            continue
        if gap:
            out.append(_GAP)
        elif blank and out:
            out.append("")
        gap = blank = False
        out.append(_line(line, on_line, chosen))
    if gap:
        out.append(_GAP)
    return "\n".join(out)


def _line(line: str, on_line: list[Unit], chosen: list[Unit]) -> str:
    """The kept pieces of one line: adjacent units as one original slice, gaps as `` … ``."""
    if len(chosen) == len(on_line):
        return line
    pieces: list[str] = []
    run_start = chosen[0]
    previous = chosen[0]
    for unit in chosen[1:]:
        if unit.order == previous.order + 1:
            previous = unit
            continue
        pieces.append(line[run_start.start : previous.end].rstrip())
        run_start = previous = unit
    pieces.append(line[run_start.start : previous.end].rstrip())
    text = f" {_GAP} ".join(pieces)
    if chosen[0].order != on_line[0].order:
        indent = line[: len(line) - len(line.lstrip())]
        return f"{indent}{_GAP} {text.lstrip()}"
    return text
