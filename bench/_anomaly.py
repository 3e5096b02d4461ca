"""Which records of a JSON document must stay visible after compression (QUALITY.md, anomaly retention).

Every array whose elements are all objects, at any depth, is a table of records. A record is retained
when it is the first or last of its array, has a non-2xx status, holds a rare value of a categorical
column or a numeric outlier, or matches the query; it is visible when its identity and the value it was
retained for appear in the output. Pure functions over parsed JSON: they never see the compressor.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeAlias, TypeGuard

Scalar: TypeAlias = bool | int | float | str | None

IDENTITY_KEYS = ("id", "uuid", "sha", "key", "number", "name", "login", "title", "path", "url")
ID_NAMES = frozenset({"id", "uuid", "sha", "etag", "node_id"})
ID_SUFFIXES = ("_id", "Id", "_url", "Url", "url", "uri", "href", "_at", "At", "date", "time", "timestamp")
STATUS_KEYS = ("status", "status_code", "statusCode")
URL_VALUE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
ISO_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
HEX_VALUE = re.compile(r"^(?:[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$")
Z_LIMIT = 3.5
LONG_SCALAR = 80


def is_scalar(value: object) -> TypeGuard[Scalar]:
    return value is None or isinstance(value, (bool, int, float, str))


def render(value: Scalar) -> tuple[str, ...]:
    """How a scalar may appear in an output: as in JSON, strings without quotes (raw or JSON-escaped)."""
    if isinstance(value, str):
        escaped = json.dumps(value, ensure_ascii=False)[1:-1]
        return (value,) if escaped == value else (value, escaped)
    return (json.dumps(value),)


def visible(value: Scalar, output: str) -> bool:
    return any(form in output for form in render(value))


@dataclass(frozen=True)
class ObjectArray:
    """An array of objects: its concrete path (``[3].response``), nesting depth and records."""

    path: str
    depth: int
    records: list[dict[str, object]]


def object_arrays(doc: object) -> list[ObjectArray]:
    """Every non-empty array whose elements are all objects, in document order."""
    found: list[ObjectArray] = []

    def walk(node: object, path: str, depth: int) -> None:
        if isinstance(node, list):
            if node and all(isinstance(item, dict) for item in node):
                found.append(ObjectArray(path, depth, node))
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]", depth + 1)
        elif isinstance(node, dict):
            for key, item in node.items():
                walk(item, f"{path}.{key}" if path else str(key), depth + 1)

    walk(doc, "", 0)
    return found


def columns(record: dict[str, object], prefix: str = "") -> dict[str, Scalar]:
    """Scalar leaves reachable through objects only, by dotted path (arrays are not columns)."""
    found: dict[str, Scalar] = {}
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            found.update(columns(value, path))
        elif value is None or isinstance(value, (bool, int, float, str)):
            found[path] = value
    return found


def is_id_column(path: str, values: list[Scalar]) -> bool:
    """Ids, URLs and timestamps, by leaf key name or by any of their string values."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf in ID_NAMES or leaf.endswith(ID_SUFFIXES):
        return True
    return any(
        isinstance(v, str) and (URL_VALUE.match(v) or ISO_VALUE.match(v) or HEX_VALUE.match(v))
        for v in values
    )


def robust_outliers(values: list[float]) -> list[int]:
    """Indices with modified z > 3.5 (MAD, or 1.253314 x mean absolute deviation when MAD is 0)."""
    if len(values) < 4:
        return []
    center = statistics.median(values)
    deviations = [abs(v - center) for v in values]
    mad = statistics.median(deviations)
    if mad > 0:
        scores = [0.6745 * d / mad for d in deviations]
    else:
        mean_ad = statistics.fmean(deviations)
        if mean_ad == 0:
            return []
        scores = [d / (1.253314 * mean_ad) for d in deviations]
    return [index for index, score in enumerate(scores) if score > Z_LIMIT]


def status_code(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@dataclass
class Retained:
    """A record that must stay visible, why, and the values that must be visible with it."""

    path: str
    record: dict[str, object]
    reasons: list[str] = field(default_factory=list)
    values: list[Scalar] = field(default_factory=list)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _query_matches(arrays: list[ObjectArray], query: str) -> set[str]:
    """Paths of the deepest records containing every query word as a whole word (a matching ancestor
    is not needed).

    Whole words, not substrings: a record "matches the query" when it is about what the query names.
    With substrings a short number such as the ``7`` of "Test issue 7" is found in every date and id,
    and the metric would demand records the query says nothing about.
    """
    patterns = [re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE) for word in query.split()]
    paths = {
        f"{array.path}[{index}]"
        for array in arrays
        for index, record in enumerate(array.records)
        if all(pattern.search(_compact(record)) for pattern in patterns)
    }
    return {p for p in paths if not any(q != p and q.startswith(p) and q[len(p)] in ".[" for q in paths)}


def retained_records(doc: object, query: str | None = None) -> list[Retained]:
    """Every record the anomaly-retention metric requires, in document order."""
    arrays = object_arrays(doc)
    kept: dict[str, Retained] = {}

    def keep(array: ObjectArray, index: int, reason: str, *values: Scalar) -> None:
        path = f"{array.path}[{index}]"
        entry = kept.setdefault(path, Retained(path, array.records[index]))
        entry.reasons.append(reason)
        entry.values.extend(values)

    for array in arrays:
        records = array.records
        keep(array, 0, "first")
        keep(array, len(records) - 1, "last")
        for index, record in enumerate(records):
            for key in STATUS_KEYS:
                raw = record.get(key)
                code = status_code(raw)
                if code is not None and is_scalar(raw) and not 200 <= code <= 299:
                    keep(array, index, f"{key}={code}", raw)
        by_column: dict[str, list[tuple[int, Scalar]]] = {}
        for index, record in enumerate(records):
            for path, value in columns(record).items():
                by_column.setdefault(path, []).append((index, value))
        for path, entries in by_column.items():
            if is_id_column(path, [value for _, value in entries]):
                continue
            keys = [_compact(value) for _, value in entries]
            counts = Counter(keys)
            if len(entries) >= 3 and len(counts) <= len(entries) / 2:
                for (index, value), key in zip(entries, keys, strict=True):
                    if counts[key] == 1:
                        keep(array, index, f"rare {path}={key}", value)
            numeric = [(i, v) for i, v in entries if isinstance(v, (int, float)) and not isinstance(v, bool)]
            for position in robust_outliers([float(v) for _, v in numeric]):
                index, value = numeric[position]
                keep(array, index, f"outlier {path}={value}", value)
    if query:
        matched = _query_matches(arrays, query)
        for array in arrays:
            for index in range(len(array.records)):
                if f"{array.path}[{index}]" in matched:
                    keep(array, index, "query")
    order = {
        f"{a.path}[{i}]": n for n, (a, i) in enumerate((a, i) for a in arrays for i in range(len(a.records)))
    }
    return sorted(kept.values(), key=lambda entry: order[entry.path])


def identity(record: dict[str, object]) -> tuple[str, Scalar] | None:
    """The first present, non-null scalar among ``IDENTITY_KEYS``, as (key, value)."""
    for key in IDENTITY_KEYS:
        value = record.get(key)
        if value is not None and is_scalar(value):
            return key, value
    return None


def missing_from(entry: Retained, output: str) -> str | None:
    """Why ``entry`` is not visible in ``output``, or None when it is."""
    ident = identity(entry.record)
    if ident is not None:
        if not visible(ident[1], output):
            return f"identity {ident[0]}={render(ident[1])[0][:60]} not visible"
    else:
        for key, value in entry.record.items():
            if is_scalar(value) and len(render(value)[0]) <= LONG_SCALAR and not visible(value, output):
                return f"{key}={render(value)[0]} not visible"
    for value in entry.values:
        if not visible(value, output):
            return f"value {render(value)[0][:60]} not visible"
    return None
