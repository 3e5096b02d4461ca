"""Retrieval: the original behind a ref, or with a query only the lines (JSON: records) that match.

``retrieve`` looks the ref up through the pipeline's store and records a ledger event for every call;
``answer_tool_call`` turns a ``headroom_retrieve`` call into the text the model reads, never raising.
A line or record matches when it contains every whitespace-separated word of the query,
case-insensitively. The answer starts with ``[headroom_retrieve: N of M lines match "QUERY"; showing
K]`` and lists each match as ``<1-based line number>\\t<line>`` (JSON: ``<record path>\\t<compact
record>``), at most 200 matches or about 4,000 tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._errors import HeadroomError, RefNotFound
from ._lines import split_lines
from ._markers import normalize_ref
from ._pipeline import Pipeline
from ._query import query_words
from ._stats.events import FAILED, FOUND, NOT_FOUND
from ._store import Original
from ._tool import parse_arguments

log = logging.getLogger("headroom")

MAX_MATCHES = 200
MAX_TOKENS = 4000
_MAX_LINE_CHARS = 4 * MAX_TOKENS  # one giant line is cut here rather than flood the context


def retrieve(pipeline: Pipeline, ref: str, query: str | None = None) -> str:
    """See ``Headroom.retrieve``."""
    started = time.perf_counter()
    events = pipeline.events
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
    if not query or not query.strip():
        text = original.text
    else:
        text = search(original, query, pipeline.tokenizer().count)
    events.retrieved(canonical, query, started, FOUND, original.kind, text)
    return text


def answer_tool_call(pipeline: Pipeline, arguments: Mapping[str, Any] | str | None) -> str:
    """See ``Headroom.answer_tool_call``."""
    try:
        ref, query = parse_arguments(arguments)
        return retrieve(pipeline, ref, query)
    except (ValueError, RefNotFound) as exc:
        return str(exc)
    except HeadroomError as exc:
        log.warning("headroom: retrieval failed: %s", exc)
        return f"headroom_retrieve failed ({exc}); call the original tool again"


def search(original: Original, query: str, count_tokens: Callable[[str], int]) -> str:
    """The matching part of ``original`` in the retrieve format; the whole original for an empty query."""
    words = query_words(query)
    if not words:
        return original.text
    if original.kind == "json":
        records = _json_records(original.text)
        if records is not None:
            matches = [(path, text) for path, text, low in records if all(word in low for word in words)]
            return _answer(query, "records", len(records), _deepest(matches), count_tokens)
    lines = split_lines(original.text)
    lowered = split_lines(original.text.lower())
    if len(lowered) != len(lines):  # lower() never adds line breaks; stay exact if it somehow did
        lowered = [line.lower() for line in lines]
    matches = [
        (str(number), line)
        for number, (line, low) in enumerate(zip(lines, lowered, strict=True), 1)
        if all(word in low for word in words)
    ]
    return _answer(query, "lines", len(lines), matches, count_tokens)


def _deepest(matches: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop a matching record when a record nested in it matches too: the nested one is the answer."""
    ancestors: set[str] = set()
    for path, _ in matches:
        for end, char in enumerate(path):
            if char == "]" and end + 1 < len(path):
                ancestors.add(path[: end + 1])
    return [(path, text) for path, text in matches if path not in ancestors]


def _answer(
    query: str, unit: str, total: int, matches: list[tuple[str, str]], count_tokens: Callable[[str], int]
) -> str:
    shown: list[str] = []
    budget = MAX_TOKENS
    for label, text in matches[:MAX_MATCHES]:
        if len(text) > _MAX_LINE_CHARS:
            text = text[:_MAX_LINE_CHARS] + " [… cut; retrieve without a query for the whole original]"
        entry = f"{label}\t{text}"
        cost = count_tokens(entry) + 1
        if shown and cost > budget:
            break
        shown.append(entry)
        budget -= cost
    quoted = query.replace('"', "'")
    header = f'[headroom_retrieve: {len(matches)} of {total} {unit} match "{quoted}"; showing {len(shown)}]'
    return "\n".join([header, *shown])


# --- JSON records -----------------------------------------------------------------------------------


def _json_records(text: str) -> list[tuple[str, str, str]] | None:
    """(path, compact JSON, lower-cased compact JSON) of every record, or None when not JSON."""
    from ._compressors._json_pick import loads  # orjson and the JSON helpers: on the first JSON query

    try:
        document: Any = loads(text)
    except (ValueError, RecursionError):
        return None
    try:
        records = list(_records(document, ""))
    except RecursionError:
        return None
    return records or None


def _dump(value: Any) -> str:
    from ._compressors._json_pick import dumps  # loaded by _json_records before this runs

    return dumps(value)


def _records(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """Records are the elements of arrays of objects, in document order, outermost first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _records(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        objects = bool(value) and all(isinstance(item, dict) for item in value)
        for index, item in enumerate(value):
            child_path = f"{path}[{index}]"
            if objects:
                text = _dump(item)
                yield child_path, text, text.lower()
            yield from _records(item, child_path)
