"""JSON: keep the schema, the records that matter and every anomaly; drop repetition.

Arrays of objects anywhere in the document (top level, ``{"items": [...]}``, the ``response`` of each
record, ...) and maps keyed by ids, versions, dates or hashes (``versions: {"1.2.0": {...}}``, see
``_json_shape``) are collections of records. Each keeps its first and last records, error and non-2xx
records, outliers, rare values and query matches (see ``_json_pick``), and every record that holds a
record one of its nested collections must keep, at any depth (the files of a release), unless an
identical record is shown already; such a record shows its short fields and those branches, its other
branches named. The other records go to the store behind one marker, a keyed map's omitted keys
still listed. What is kept is rendered by ``_json_render`` as tables, templates
and references. JSON lines (one document per line) are treated as one array. Input that does not
parse passes through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._query import QueryMatcher
from ._job import Job
from ._json_pick import anomalies, dumps, loads
from ._json_render import Renderer, collapse
from ._json_shape import keyed_records
from ._json_text import identity_key

_MIN_RECORDS_TO_DROP = 3
_MAX_QUERY_MATCHES = 50
_PARTIAL_STRING = 80


def parse(text: str) -> Any:
    """The document, or None when ``text`` is not JSON (nor JSON lines)."""
    try:
        return loads(text)
    except RecursionError:
        return None
    except ValueError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    try:
        return [loads(line) for line in lines]
    except (ValueError, RecursionError):
        return None


class _Picker:
    """Decides, per array of objects and per map keyed by ids, which records stay.

    A collection keeps its first and last records, its anomalies and its query matches, and also
    every record that holds, at any depth, a record its own nested collections must keep (the files
    of a release, the response items of a recorded request) unless an identical record is already
    shown: repetition is not information, and a nested record shown verbatim elsewhere stays visible.
    """

    def __init__(self, matcher: QueryMatcher) -> None:
        self.matcher = matcher
        self.keep: dict[int, set[int]] = {}
        self.extra_paths: dict[int, list[str]] = {}
        self.keyed: set[int] = set()
        self.partial: dict[int, set[str]] = {}  # id of a record kept for its nested records -> left out

    def walk(self, value: Any) -> None:
        self._visit(value)

    def _visit(self, node: Any) -> set[str]:
        """Compact JSON of every record this subtree must show (its collections' required records)."""
        if isinstance(node, dict):
            if keyed_records(node):
                self.keyed.add(id(node))
                return self._collection(node, list(node.values()))
            return self._children(node.values())
        if isinstance(node, list):
            if node and all(isinstance(item, dict) for item in node):
                return self._collection(node, node)
            return self._children(node)
        return set()

    def _children(self, values: Iterable[Any]) -> set[str]:
        required: set[str] = set()
        for child in values:
            if isinstance(child, (dict, list)):
                required |= self._visit(child)
        return required

    def _collection(self, node: dict[str, Any] | list[Any], records: list[Any]) -> set[str]:
        branches = [self._branches(record) for record in records]
        nested = [set().union(*inner.values()) for inner in branches]
        keys = list(node) if isinstance(node, dict) else None
        base = (
            self._choose(records, keys) if len(records) >= _MIN_RECORDS_TO_DROP else set(range(len(records)))
        )
        required = {dumps(records[index]) for index in base}
        shown = set(required)
        for index in base:
            shown |= nested[index]
        kept = set(base)
        for index, inner in enumerate(nested):
            if index not in kept and not inner <= shown:
                kept.add(index)
                shown |= inner
                hidden = _hidden_branches(records[index], branches[index])
                if hidden:
                    self.partial[id(records[index])] = hidden
        if len(kept) < len(records) or any(id(records[index]) in self.partial for index in kept):
            self.keep[id(node)] = kept
            self._extra_paths(node, records, kept)
        return shown

    def _branches(self, record: dict[str, Any]) -> dict[str, set[str]]:
        """Per member holding objects or arrays: the records it must show."""
        return {key: self._visit(child) for key, child in record.items() if isinstance(child, (dict, list))}

    def _choose(self, records: list[Any], keys: list[str] | None) -> set[int]:
        """First, last, anomalies and query matches (in a keyed map the key is part of the match)."""
        kept = {0, len(records) - 1} | anomalies(records)
        if self.matcher:
            texts = [dumps(record).lower() for record in records]
            if keys is not None:
                texts = [f"{key.lower()} {text}" for key, text in zip(keys, texts, strict=True)]
            kept.update(self.matcher.pick(texts, _MAX_QUERY_MATCHES))
        return kept

    def _extra_paths(self, node: dict[str, Any] | list[Any], records: list[Any], kept: set[int]) -> None:
        """Key paths that only omitted records (or the branches a record kept for its nested records
        leaves out) have, so the schema stays complete."""
        shown: set[str] = set()
        hidden: set[str] = set()
        for index, record in enumerate(records):
            if index not in kept:
                _key_paths(record, "", hidden)
                continue
            left_out = self.partial.get(id(record), set())
            _key_paths({key: value for key, value in record.items() if key not in left_out}, "", shown)
            _key_paths({key: record[key] for key in left_out}, "", hidden)
        extra = sorted(hidden - shown)
        if extra:
            self.extra_paths[id(node)] = [", ".join(extra)]


def _hidden_branches(record: dict[str, Any], branches: dict[str, set[str]]) -> set[str]:
    """What a record kept only for the records nested in it leaves out: the objects and arrays that
    hold none of those records, and long strings. Its name field, its short scalars (status, version)
    and the branches holding the nested records stay."""
    name = identity_key(record)
    return {
        key
        for key, value in record.items()
        if (isinstance(value, (dict, list)) and value and not branches.get(key))
        or (isinstance(value, str) and len(value) > _PARTIAL_STRING and key != name)
    }


def _key_paths(value: Any, prefix: str, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            into.add(path)
            _key_paths(child, path, into)
    elif isinstance(value, list):
        for child in value:
            _key_paths(child, f"{prefix}[]", into)


def _renderer(picker: _Picker, query: str | None, tight: bool) -> Renderer:
    return Renderer(
        picker.keep, picker.extra_paths, tight=tight, query=query, keyed=picker.keyed, partial=picker.partial
    )


def compress(job: Job) -> str | None:
    """Compress a JSON document; None when it does not parse or holds nothing to gain on."""
    document = parse(job.text)
    if not isinstance(document, (dict, list)):
        return None
    picker = _Picker(QueryMatcher(job.query))
    picker.walk(document)
    renderer = Renderer(
        picker.keep, picker.extra_paths, query=job.query, keyed=picker.keyed, partial=picker.partial
    )
    rendered = renderer.render(document)
    if job.budget is not None and len(rendered) > job.budget * len(job.text):
        # every kept record is required; what a budget can still take is length
        renderer = Renderer(
            picker.keep,
            picker.extra_paths,
            tight=True,
            query=job.query,
            keyed=picker.keyed,
            partial=picker.partial,
        )
        rendered = renderer.render(document)
    if renderer.dropped:
        unit = "records" if picker.keep else "items"
        return f"{rendered}\n{job.marker(renderer.dropped, unit)}"
    if renderer.left_out:
        return f"{rendered}\n{job.marker(renderer.left_out, 'fields')}"
    if renderer.cut[0]:
        return f"{rendered}\n{job.marker(renderer.cut[0], 'characters')}"
    return rendered


__all__ = ["collapse", "compress", "parse"]
