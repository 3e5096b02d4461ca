"""The text pieces of the JSON rendering: scalars, keys, paths, and the templates that state a value
through another one (``forks_url: {url}/forks``).

Pure functions split from ``_json_render`` so the renderer stays about layout: what a value looks
like, and when a string must be JSON-quoted to stay unambiguous, is decided here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from ._json_pick import dumps

_CONTROL = re.compile(r"[\x00-\x1f]")
_NUMBERISH = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$")
_SAFE_KEY = re.compile(r"^[\w$@+\-][\w$@+\-.]*$")
_INDEX = re.compile(r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]')
_BLOB_RUN = re.compile(r"[A-Za-z0-9+/=]{40,}")
_BLOB, _BLOB_KEEP, _BLOB_SHARE = 256, 48, 0.7  # an encoded string over 256 chars keeps 48
_MIN_TEMPLATE_BASE = 12
_MAX_TABLE_COLUMNS = 60
_IDENTITY_KEYS = ("id", "uuid", "sha", "key", "number", "name", "login", "title", "path", "url")
LONG_STRING = 2000
LONG_STRING_KEEP = 400


def scalar(
    value: Any,
    delimiter: str = "",
    cut: list[int] | None = None,
    limits: tuple[int, int] = (LONG_STRING, LONG_STRING_KEEP),
    shorten: Callable[[str], str | None] | None = None,
) -> str:
    """A scalar as text: raw when unambiguous, JSON-quoted otherwise; very long strings are shortened,
    by ``shorten`` (an excerpt of the sentences that matter) or else to their start, and encoded blobs
    (signatures, base64 payloads) to their start (the number of characters cut is added to ``cut[0]``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if not isinstance(value, str):
        return dumps(value)
    blob = len(value) > _BLOB and is_blob(value)
    if blob or len(value) > limits[0]:
        kept = value[:_BLOB_KEEP] if blob else (shorten(value) if shorten is not None else None)
        kept = kept or value[: limits[1]]
        if cut is not None:
            cut[0] += len(value) - len(kept)
        return dumps(kept)[:-1] + f'…" (+{len(value) - len(kept)} chars)'
    if (
        not value
        or value != value.strip()
        or _CONTROL.search(value)
        or value in ("null", "true", "false")
        or _NUMBERISH.match(value)
        or value[0] in '"([{…'
        or (delimiter and delimiter in value)
    ):
        return dumps(value)
    return value


def is_blob(value: str) -> bool:
    """Base64 or hex rather than text: mostly long runs of letters and digits mixed, without a space
    or punctuation. A model reads nothing in a signature or an encoded payload; its start says what
    it is, and the original is a retrieval away."""
    runs = [run for run in _BLOB_RUN.findall(value) if not run.isalpha() and not run.isdigit()]
    return sum(map(len, runs)) >= _BLOB_SHARE * len(value)


def key_label(key: str) -> str:
    return key if _SAFE_KEY.match(key) else dumps(key)


def child_path(path: str, key: str) -> str:
    label = key if _SAFE_KEY.match(key) else f"[{dumps(key)}]"
    if not path:
        return label
    return f"{path}{label}" if label.startswith("[") else f"{path}.{label}"


def collapse(path: str) -> str:
    """A path with array indices and map keys collapsed: ``[3].response[1].user`` ->
    ``[].response[].user``, ``versions["1.2.0"].dist`` -> ``versions[].dist`` (the family a "like"
    reference is looked up in)."""
    return _INDEX.sub("[]", path)


def identity_key(record: dict[str, Any]) -> str | None:
    """The field that names a record: the first present of the usual identifying fields. It is
    never written through a template, so a search for a record's name (or its URL) finds it."""
    for key in _IDENTITY_KEYS:
        value = record.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            return key
    return None


def url_templates(obj: dict[str, Any]) -> dict[str, str]:
    """``{key: "{base}/rest"}`` for string values that extend another field's URL value (the object's
    name field aside)."""
    urls = [(value, key) for key, value in obj.items() if isinstance(value, str) and "://" in value]
    name = identity_key(obj)
    if len(urls) < 2:
        return {}
    bases = sorted(
        ((value, key) for value, key in urls if len(value) >= _MIN_TEMPLATE_BASE),
        key=lambda item: -len(item[0]),
    )
    out: dict[str, str] = {}
    for value, key in urls:
        if key == name:
            continue
        for base, base_key in bases:
            if base_key != key and len(value) > len(base) and value.startswith(base):
                out[key] = "{" + base_key + "}" + value[len(base) :]
                break
    return out


def member_path(path: str, key: str) -> str:
    """The path of a record in a map keyed by ids or versions: ``versions["1.2.0"]``, always bracketed
    so that ``collapse`` puts every member of the map in one family."""
    return f"{path}[{dumps(key)}]"


def table_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Each record flattened into cells when the records are flat enough for a table, else None."""
    if len(records) < 2:
        return None
    rows: list[dict[str, Any]] = []
    columns: set[str] = set()
    for record in records:
        row: dict[str, Any] = {}
        if not flat_cells(record, "", row):
            return None
        columns.update(row)
        if len(columns) > _MAX_TABLE_COLUMNS:
            return None
        rows.append(row)
    return rows


def flat_cells(value: dict[str, Any], prefix: str, row: dict[str, Any]) -> bool:
    """Flatten ``value`` into ``row``; False when it holds something a cell cannot show."""
    for key, child in value.items():
        column = f"{prefix}{key}"
        if isinstance(child, dict) and child:
            if not flat_cells(child, column + ".", row):
                return False
        elif isinstance(child, list) and child:
            if any(isinstance(item, (dict, list)) for item in child) or len(dumps(child)) > 120:
                return False
            row[column] = child
        else:
            row[column] = child
    return True


def with_gaps(indices: list[int]) -> Iterator[tuple[int, int]]:
    """(index, number of omitted records just before it)."""
    previous = -1
    for index in indices:
        yield index, index - previous - 1
        previous = index


def column_templates(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, str]:
    """Columns whose every value is another column's value with a fixed prefix and suffix
    (``comments_url = {url}/comments``); the longest base wins. A row's name column stays literal."""
    out: dict[str, str] = {}
    first = rows[0]
    names = {identity_key(row) for row in rows}
    bases = sorted(
        (column for column in columns if isinstance(first.get(column), (str, int))
         and not isinstance(first.get(column), bool) and str(first.get(column))),
        key=lambda column: -len(str(first[column])),
    )  # fmt: skip
    for column in columns:
        value = first.get(column)
        if not isinstance(value, str) or len(value) < _MIN_TEMPLATE_BASE or column in names:
            continue
        for other in bases:
            base_text = str(first[other])
            at = value.rfind(base_text) if other != column else -1
            if at < 0 or len(base_text) == len(value):
                continue
            prefix, suffix = value[:at], value[at + len(base_text) :]
            if all(
                other in row
                and isinstance(row.get(column), str)
                and row[column] == f"{prefix}{row[other]}{suffix}"
                for row in rows
            ):
                out[column] = f"{prefix}{{{other}}}{suffix}"
                break
    return out
