"""Retrieval: the original behind a ref, its matches for a query, or a range of its lines.

``retrieve`` looks the ref up through the pipeline's store and records a ledger event for every call;
``answer_tool_call`` turns a ``headroom_retrieve`` call into the text the model reads, never raising.

Without a query, offset or line range the answer is the exact original. Otherwise it is a page of at
most ``MAX_TOKENS`` tokens that starts with one header line, for a query::

    [headroom_retrieve: N of M lines match "QUERY"; showing K, ranked A-B; R more: offset=B]

(``records`` for JSON; ``in lines X-Y`` after the query when a range was given), and for a range
``[headroom_retrieve: lines A-B of M; next: lines="C-D"]``. Matches are ranked (``_matching``) and
listed as ``<1-based line number>\\t<line>`` (JSON: ``<record path>\\t<compact record>``). When they do
not all fit on the first page, a summary comes between the header and them: every template (records:
every shape) of the matches with its count and first line, under ``templates of the matches:`` and
above ``matches, best first:``. A query that matches nothing says which word is missing and which
terms spelled like it do occur.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import HeadroomError, RefNotFound
from ._lines import split_lines
from ._markers import normalize_ref
from ._pipeline import Pipeline
from ._query import Match, closest_terms, query_words, rank
from ._stats.events import FAILED, FOUND, NOT_FOUND
from ._store import Original
from ._tool import RetrieveRequest, parse_arguments, parse_lines

log = logging.getLogger("headroom")

MAX_TOKENS = 4000  # one answer, header and summary included
_HEADER_TOKENS = 80  # kept free for the header while the page fills
_SUMMARY_SHARE = 4  # the summary takes at most a quarter of the page
_MAX_GROUPS = 40
_GROUP_CHARS = 200
_MAX_ENTRY_CHARS = 3 * MAX_TOKENS  # one giant line is cut here rather than take the whole page
_CUT = ' [… cut; ask for lines="{n}" alone, or retrieve without arguments for the whole original]'

Counter_ = Callable[[str], int]


def retrieve(
    pipeline: Pipeline,
    ref: str,
    query: str | None = None,
    offset: int = 0,
    lines: str | tuple[int, int | None] | None = None,
) -> str:
    """See ``Headroom.retrieve``."""
    started = time.perf_counter()
    events = pipeline.events
    window = lines if isinstance(lines, tuple) else parse_lines(lines)
    if offset < 0:
        raise ValueError("offset must be 0 or more")
    canonical = normalize_ref(ref)
    if canonical is None:
        events.retrieved(ref.strip()[:64], query, started, NOT_FOUND, reason="not a ref")
        raise RefNotFound(ref.strip()[:64])
    try:
        original = pipeline.originals.get(canonical)
    except HeadroomError as exc:
        events.retrieved(canonical, query, started, FAILED, reason=str(exc)[:200])
        raise
    if original is None:
        events.retrieved(canonical, query, started, NOT_FOUND, reason="unknown or expired")
        raise RefNotFound(canonical)
    words = query_words(query) if query else []
    if not words and not offset and window is None:
        text = original.text
    else:
        text = search(original, query or "", pipeline.tokenizer().count, offset, window)
    events.retrieved(canonical, query, started, FOUND, original.kind, text)
    return text


def answer_tool_call(pipeline: Pipeline, arguments: Mapping[str, Any] | str | None) -> str:
    """See ``Headroom.answer_tool_call``."""
    try:
        call: RetrieveRequest = parse_arguments(arguments)
        return retrieve(pipeline, call.ref, call.query, call.offset, call.lines)
    except (ValueError, RefNotFound) as exc:
        return str(exc)
    except HeadroomError as exc:
        log.warning("headroom: retrieval failed: %s", exc)
        return f"headroom_retrieve failed ({exc}); call the original tool again"


def search(
    original: Original,
    query: str,
    count_tokens: Counter_,
    offset: int = 0,
    window: tuple[int, int | None] | None = None,
) -> str:
    """A page of ``original``: its matches for ``query``, or without words its lines (see the module)."""
    words = query_words(query)
    if words and window is None and original.kind == "json":
        records = _json_records(original.text)
        if records is not None:
            matches = _deepest(rank([(path, text) for path, text, _ in records], words, json=True))
            shapes = {index: records[index][2] for index in range(len(records))}
            page = _Page(query, "records", len(records), "", offset, count_tokens)
            return page.answer(matches, lambda found: _shapes(found, shapes), records)
    lines = split_lines(original.text)
    first, last = _clip(window, len(lines))
    if first > len(lines):
        return (
            f"[headroom_retrieve: the original has {len(lines)} lines; ask for lines from 1 to {len(lines)}]"
        )
    numbered = [(str(number), lines[number - 1]) for number in range(first, last + 1)]
    if not words:
        return _lines_page(numbered[offset:], len(lines), last, count_tokens)
    within = f" in lines {first}-{last}" if window is not None else ""
    page = _Page(
        query, "lines", len(lines) if window is None else len(numbered), within, offset, count_tokens
    )
    return page.answer(rank(numbered, words, levels=True), _templates, [(n, t, "") for n, t in numbered])


def _clip(window: tuple[int, int | None] | None, total: int) -> tuple[int, int]:
    if window is None:
        return 1, total
    first, last = window
    return first, min(total, last if last is not None else total)


@dataclass
class _Page:
    """One answer page of ranked matches, filled to the token budget."""

    query: str
    unit: str
    total: int
    within: str
    offset: int
    count_tokens: Counter_

    def answer(
        self,
        matches: list[Match],
        summarize: Callable[[list[Match]], list[str]],
        items: Sequence[tuple[str, str, str]],
    ) -> str:
        quoted = self.query.replace('"', "'")
        head = f'[headroom_retrieve: {len(matches)} of {self.total} {self.unit} match "{quoted}"{self.within}'
        if not matches:
            return "\n".join([f"{head}; showing 0]", *_miss(query_words(self.query), items, self.unit)])
        if self.offset >= len(matches):
            last = len(matches) - 1
            return f"{head}; showing 0: offset {self.offset} is past the last match, use 0 to {last}]"
        count = functools.lru_cache(maxsize=None)(self.count_tokens)  # entries are counted once a page
        budget = MAX_TOKENS - _HEADER_TOKENS
        summary: list[str] = []
        if self.offset == 0 and not _fits(matches, count, budget):
            summary = _fill(summarize(matches), count, budget // _SUMMARY_SHARE)
            budget -= sum(count(line) + 1 for line in summary)
        shown = _fill((_entry(m.label, m.text) for m in matches[self.offset :]), count, budget, cut=True)
        end = self.offset + len(shown)
        rest = len(matches) - end
        tail = f", ranked {self.offset + 1}-{end}" + (f"; {rest} more: offset={end}" if rest else "")
        body = [*summary, "matches, best first:"] if summary else []
        return "\n".join([f"{head}; showing {len(shown)}{tail}]", *body, *shown])


def _entry(label: str, text: str) -> str:
    if len(text) > _MAX_ENTRY_CHARS:
        text = text[:_MAX_ENTRY_CHARS] + _CUT.format(n=label)
    return f"{label}\t{text}"


def _fits(matches: list[Match], count_tokens: Counter_, budget: int) -> bool:
    for match in matches:
        budget -= count_tokens(_entry(match.label, match.text)) + 1
        if budget < 0:
            return False
    return True


def _fill(
    entries: Iterator[str] | list[str], count_tokens: Counter_, budget: int, cut: bool = False
) -> list[str]:
    """The leading entries that fit in ``budget`` tokens; a first entry too big for it is cut to fit."""
    out: list[str] = []
    for entry in entries:
        cost = count_tokens(entry) + 1
        if cost > budget:
            if cut and not out and budget > 20:
                out.append(_shorten(entry, count_tokens, budget))
            break
        out.append(entry)
        budget -= cost
    return out


def _shorten(entry: str, count_tokens: Counter_, budget: int) -> str:
    label = entry.partition("\t")[0]
    note = _CUT.format(n=label)
    keep = len(entry)
    while keep > 0:
        keep = keep * 2 // 3
        if count_tokens(entry[:keep] + note) + 1 <= budget:
            return entry[:keep] + note
    return label + "\t" + note.strip()


def _lines_page(numbered: list[tuple[str, str]], total: int, last: int, count_tokens: Counter_) -> str:
    if not numbered:
        return f"[headroom_retrieve: no lines there; the original has {total} lines]"
    shown = _fill((_entry(n, t) for n, t in numbered), count_tokens, MAX_TOKENS - _HEADER_TOKENS, cut=True)
    first, end = int(numbered[0][0]), int(numbered[len(shown) - 1][0])
    more = f'; next: lines="{end + 1}-{last}"' if end < last else ""
    return "\n".join([f"[headroom_retrieve: lines {first}-{end} of {total}{more}]", *shown])


# --- summaries --------------------------------------------------------------------------------------


def _templates(matches: list[Match]) -> list[str]:
    """The matching lines grouped by their log template (the log compressor's mining), best first."""
    from ._compressors._log_templates import mask, mine, refine, render_template

    masked = mask("\n".join(match.text for match in matches))
    if len(masked) != len(matches):  # a line never holds a line break; stay safe if one did
        return []
    refined: dict[str, str] = {}  # refining is the costly part: once per distinct masked line
    signatures: dict[str, list[int]] = {}
    grades: dict[str, int] = {}
    for index, raw in enumerate(masked):
        signature = refined.get(raw)
        if signature is None:
            signature = refined[raw] = refine(raw)
        seen = signatures.get(signature)
        if seen is None:
            signatures[signature] = [1, index, index]
            grades[signature] = matches[index].worst
        else:
            seen[0] += 1
            seen[2] = index
    clusters = sorted(mine(signatures, grades), key=lambda cluster: cluster.first)
    groups = [
        (cluster.count, f"line {matches[cluster.first].label}", _short(render_template(cluster) or "(blank)"))
        for cluster in clusters
    ]
    return _group_lines("templates", groups, len(matches))


def _shapes(matches: list[Match], shapes: Mapping[int, str]) -> list[str]:
    """The matching records grouped by shape (where they sit, which keys they have), best first."""
    found: dict[str, list[Any]] = {}
    for match in matches:
        group = found.get(shapes[match.index])
        if group is None:
            found[shapes[match.index]] = [1, match.label]
        else:
            group[0] += 1
    groups = [(count, label, _short(shape)) for shape, (count, label) in found.items()]
    return _group_lines("shapes", groups, len(matches))


def _group_lines(what: str, groups: list[tuple[int, str, str]], matched: int) -> list[str]:
    lines = [f"{what} of the matches (count, first, {what[:-1]}):"]
    lines += [f"  ×{count} {label}: {text}" for count, label, text in groups[:_MAX_GROUPS]]
    left = groups[_MAX_GROUPS:]
    if left:
        lines.append(f"  … {len(left)} more {what} ({sum(count for count, _, _ in left)} of {matched})")
    return lines


def _short(text: str) -> str:
    return text if len(text) <= _GROUP_CHARS else text[: _GROUP_CHARS - 1] + "…"


def _miss(words: list[str], items: Sequence[tuple[str, str, str]], unit: str) -> list[str]:
    """What to tell the model when nothing matches: the missing words and what is spelled like them."""
    texts = [text for _, text, _ in items]
    singular = unit[:-1]
    counts = {
        word: len(rank([("", text) for text in texts], [word], json=unit == "records")) for word in words
    }
    out: list[str] = []
    for word, count in counts.items():
        if count:
            continue
        close = closest_terms(texts, word)
        hint = ", ".join(f"{term} ({n} {unit if n != 1 else singular})" for term, n in close)
        out.append(f'no {singular} holds "{word}"' + (f"; terms spelled like it: {hint}" if hint else ""))
    if not out:  # every word occurs, never all together
        each = ", ".join(f'"{word}" {count}' for word, count in counts.items())
        out.append(
            f"every word occurs, but no {singular} holds them all ({each} {unit}); ask with fewer words"
        )
    return out


# --- JSON records -----------------------------------------------------------------------------------


def _deepest(matches: list[Match]) -> list[Match]:
    """Drop a matching record when a record nested in it matches too: the nested one is the answer."""
    ancestors: set[str] = set()
    for match in matches:
        path = match.label
        for end, char in enumerate(path):
            if char == "]" and end + 1 < len(path):
                ancestors.add(path[: end + 1])
    return [match for match in matches if match.label not in ancestors]


def _json_records(text: str) -> list[tuple[str, str, str]] | None:
    """(path, compact JSON, shape) of every record, or None when not JSON."""
    from ._compressors._json_pick import loads  # orjson and the JSON helpers: on the first JSON query

    try:
        document: Any = loads(text)
    except (ValueError, RecursionError):
        return None
    from ._compressors._json_shape import keyed_records

    try:
        records = list(_records(document, "", keyed_records))
    except RecursionError:
        return None
    return records or None


def _dump(value: Any) -> str:
    from ._compressors._json_pick import dumps  # loaded by _json_records before this runs

    return dumps(value)


def _shape(path: str, record: dict[str, Any]) -> str:
    from ._compressors._json_text import collapse  # loaded with the JSON helpers

    keys = list(record)
    listed = ", ".join(keys[:6]) + (", …" if len(keys) > 6 else "")
    return f"{collapse(path)} {{{listed}}}"


def _records(
    value: Any, path: str, keyed_records: Callable[[dict[str, Any]], bool]
) -> Iterator[tuple[str, str, str]]:
    """Records are the elements of arrays of objects, and the members of maps keyed by ids or
    versions (``versions["1.2.0"]``: arrays in disguise, as the JSON compressor reads them), in
    document order, outermost first. A member's text carries its key, often its only name."""
    if isinstance(value, dict):
        keyed = keyed_records(value)
        for key, child in value.items():
            if keyed:
                child_path = f"{path}[{_dump(key)}]"
                yield child_path, _dump({key: child}), _shape(child_path, child)
            else:
                child_path = f"{path}.{key}" if path else str(key)
            yield from _records(child, child_path, keyed_records)
    elif isinstance(value, list):
        objects = bool(value) and all(isinstance(item, dict) for item in value)
        for index, item in enumerate(value):
            child_path = f"{path}[{index}]"
            if objects:
                yield child_path, _dump(item), _shape(child_path, item)
            yield from _records(item, child_path, keyed_records)
