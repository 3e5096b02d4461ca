"""Which records of each JSON array of objects must stay visible, and which may go to the store.

Kept: the first and last record; records whose ``status`` (``status_code``, ``statusCode``) is not
2xx; records holding a rare value (seen once in a categorical column: one where at most half the
values are distinct, ids, URLs and timestamps excluded); numeric outliers (robust z above 3.5, from the
median absolute deviation, or the mean absolute deviation when that is zero); and records matching
the query. Columns are the scalar leaves reached from a record through objects (``user.login``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from statistics import median
from typing import Any

import orjson

_ID_NAMES = {"id", "uuid", "guid", "sha", "etag", "node_id"}
_ID_SUFFIXES = ("_id", "Id", "_url", "Url", "url", "uri", "href", "_at", "At", "date", "time", "timestamp")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_HEX = re.compile(r"^[0-9a-fA-F-]{16,}$")
_STATUS_KEYS = ("status", "status_code", "statusCode")
_MIN_CATEGORICAL = 3
_MIN_NUMERIC = 4
_Z = 3.5


def dumps(value: Any) -> str:
    """Compact JSON. orjson for speed; the stdlib for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """Parse JSON exactly. Not orjson: it silently turns integers beyond 64 bits into floats."""
    return json.loads(text)


def flatten(record: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, scalar) for every scalar reached through objects only."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, path + ".")
        elif not isinstance(value, list):
            yield path, value


def is_id_like(column: str, values: list[Any]) -> bool:
    leaf = column.rsplit(".", 1)[-1]
    if leaf in _ID_NAMES or leaf.endswith(_ID_SUFFIXES):
        return True
    for value in values:
        if isinstance(value, str) and (_URL.match(value) or _TIMESTAMP.match(value) or _HEX.match(value)):
            return True
    return False


def _status_anomaly(record: dict[str, Any]) -> bool:
    for key in _STATUS_KEYS:
        value = record.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int):
            return not 200 <= value <= 299
    return False


def _outliers(values: list[tuple[int, float]]) -> set[int]:
    numbers = [value for _, value in values]
    center = median(numbers)
    deviations = [abs(value - center) for value in numbers]
    mad = median(deviations)
    if mad > 0:
        scale = mad / 0.6745
    else:
        mean_deviation = sum(deviations) / len(deviations)
        if mean_deviation == 0:
            return set()
        scale = 1.253314 * mean_deviation
    return {
        index for (index, value), deviation in zip(values, deviations, strict=True) if deviation / scale > _Z
    }


def anomalies(records: list[Any]) -> set[int]:
    """Indices of records that must stay visible for what they hold (first/last excluded)."""
    keep: set[int] = set()
    columns: dict[str, list[tuple[int, Any]]] = {}
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        if _status_anomaly(record):
            keep.add(index)
        for column, value in flatten(record):
            columns.setdefault(column, []).append((index, value))
    for column, cells in columns.items():
        if len(cells) < _MIN_CATEGORICAL:
            continue
        values = [value for _, value in cells]
        if is_id_like(column, values):
            continue
        numeric = [(i, float(v)) for i, v in cells if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numeric) >= _MIN_NUMERIC:
            keep |= _outliers(numeric)
        counts = Counter(_hashable(value) for value in values)
        if len(counts) * 2 <= len(cells):
            keep |= {index for index, value in cells if counts[_hashable(value)] == 1}
    return keep


def _hashable(value: Any) -> Any:
    # 1 and True and 1.0 are equal in Python but different values in JSON
    return (type(value).__name__, value)
