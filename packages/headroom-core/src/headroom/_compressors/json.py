"""JSON: keep the schema, the records that matter and every anomaly; drop repetition.

Arrays of objects anywhere in the document (top level, ``{"items": [...]}``, the ``response`` of each
record, ...) keep their first and last records, error and non-2xx records, outliers, rare values and
query matches (see ``_json_pick``); the other records go to the store behind one marker. What is kept
is rendered by ``_json_render`` as tables, templates and references. JSON lines (one document per
line) are treated as one array. Input that does not parse passes through untouched.
"""

from __future__ import annotations

from typing import Any

from .._query import QueryMatcher
from ._job import Job
from ._json_pick import anomalies, dumps, loads
from ._json_render import Renderer, collapse

_MIN_RECORDS_TO_DROP = 3
_MAX_QUERY_MATCHES = 50


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
    """Walks the document and decides, per array of objects, which records stay."""

    def __init__(self, matcher: QueryMatcher) -> None:
        self.matcher = matcher
        self.keep: dict[int, set[int]] = {}
        self.extra_paths: dict[int, list[str]] = {}

    def walk(self, value: Any) -> None:
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(child for child in node.values() if isinstance(child, (dict, list)))
            elif isinstance(node, list):
                if len(node) >= _MIN_RECORDS_TO_DROP and all(isinstance(item, dict) for item in node):
                    kept = self._choose(node)
                    if len(kept) < len(node):
                        self.keep[id(node)] = kept
                        self._extra_paths(node, kept)
                        stack.extend(node[index] for index in kept)
                        continue
                stack.extend(child for child in node if isinstance(child, (dict, list)))

    def _choose(self, records: list[Any]) -> set[int]:
        kept = {0, len(records) - 1} | anomalies(records)
        if self.matcher:
            kept.update(self.matcher.pick([dumps(record).lower() for record in records], _MAX_QUERY_MATCHES))
        return kept

    def _extra_paths(self, records: list[Any], kept: set[int]) -> None:
        """Key paths that only omitted records have, so the schema stays complete."""
        shown: set[str] = set()
        hidden: set[str] = set()
        for index, record in enumerate(records):
            _key_paths(record, "", shown if index in kept else hidden)
        extra = sorted(hidden - shown)
        if extra:
            self.extra_paths[id(records)] = [", ".join(extra)]


def _key_paths(value: Any, prefix: str, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            into.add(path)
            _key_paths(child, path, into)
    elif isinstance(value, list):
        for child in value:
            _key_paths(child, f"{prefix}[]", into)


def compress(job: Job) -> str | None:
    """Compress a JSON document; None when it does not parse or holds nothing to gain on."""
    document = parse(job.text)
    if not isinstance(document, (dict, list)):
        return None
    picker = _Picker(QueryMatcher(job.query))
    picker.walk(document)
    renderer = Renderer(picker.keep, picker.extra_paths, query=job.query)
    rendered = renderer.render(document)
    if job.budget is not None and len(rendered) > job.budget * len(job.text):
        # every kept record is required; what a budget can still take is length
        renderer = Renderer(picker.keep, picker.extra_paths, tight=True, query=job.query)
        rendered = renderer.render(document)
    if renderer.dropped:
        unit = "records" if picker.keep else "items"
        return f"{rendered}\n{job.marker(renderer.dropped, unit)}"
    if renderer.cut[0]:
        return f"{rendered}\n{job.marker(renderer.cut[0], 'characters')}"
    return rendered


__all__ = ["collapse", "compress", "parse"]
