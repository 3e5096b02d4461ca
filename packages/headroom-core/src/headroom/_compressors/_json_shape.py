"""Objects that are arrays in disguise: maps keyed by ids, versions, dates, hashes or numbers.

A package registry lists ``versions: {"0.1.0": {...manifest}, "0.2.0": {...}}`` and ``time: {"0.1.0":
"2011-10-26T...", ...}``; an API returns ``{"3f2a...-uuid": {...record}, ...}``. Such a map holds
records exactly as an array would, so the compressor treats it like one: similar records summarised,
the first, last and anomalous ones kept, every key still listed. The shape decides, never a key name:
most keys must look like identifiers (a name such as ``sha256`` or ``created`` does not) and the
values must all be objects (records) or all scalars.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ._json_pick import anomalies

_ID_KEY = re.compile(
    r"""^(?:
      [-+]?\d+(?:\.\d+)*                                     # numbers, dotted numbers
    | [A-Za-z]{0,12}[-_]?v?\d+(?:\.\d+)+(?:[-+.~_][0-9A-Za-z.+~_-]*)?   # versions: 1.2.3-rc.1, go1.13
    | v\d+(?:[-+.~_][0-9A-Za-z.+~_-]*)?                        # v2, v3-beta
    | \d{4}-\d{2}(?:-\d{2})?(?:[T\ ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?   # dates and timestamps
    | [0-9a-fA-F]{7,}                                          # hashes, short or long
    | [0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}     # UUIDs
    | [A-Za-z]{1,12}[-_:][0-9A-Za-z_-]{3,}                     # prefixed ids: cus_8f3k2, user-1024
    | [0-9A-Za-z_-]{16,}                                       # opaque tokens: push ids, base62 ids
    )$""",
    re.VERBOSE,
)
_MIN_KEYED = 4
_ID_SHARE = 0.9  # a few ordinary keys may sit among the ids (npm's ``time`` has ``created``)


def id_like_key(key: str) -> bool:
    """A key that names a member rather than a field: it must hold a digit (``sha`` and ``created``
    are field names; ``1.2.0``, ``9f86d08`` and ``user_1024`` name members)."""
    return any(char.isdigit() for char in key) and _ID_KEY.match(key) is not None


def _mostly_ids(obj: dict[str, Any]) -> bool:
    if len(obj) < _MIN_KEYED:
        return False
    ids = sum(1 for key in obj if id_like_key(key))
    return ids >= math.ceil(_ID_SHARE * len(obj))


def keyed_records(obj: dict[str, Any]) -> bool:
    """True for a map of records keyed by ids: every value an object, nearly every key an id."""
    return all(isinstance(value, dict) for value in obj.values()) and _mostly_ids(obj)


def keyed_scalars(obj: dict[str, Any]) -> bool:
    """True for a map of scalars keyed by ids (``time: {"1.2.0": "2018-..."}``)."""
    return all(not isinstance(value, (dict, list)) for value in obj.values()) and _mostly_ids(obj)


def scalar_map_hidden(obj: dict[str, Any], longest: int, head: int, tail: int) -> set[str] | None:
    """The keys whose values a long map of scalars keyed by ids leaves out (None: not such a map):
    all but the first ``head`` and last ``tail`` id keys, outliers and rare values; ordinary keys
    always keep their values."""
    if len(obj) <= longest or not keyed_scalars(obj):
        return None
    ids = [key for key in obj if id_like_key(key)]
    unusual = anomalies([{"value": obj[key]} for key in ids])
    return {key for index, key in enumerate(ids) if head <= index < len(ids) - tail and index not in unusual}


def one_value(obj: dict[str, Any], least: int) -> bool:
    """True when ``obj`` has at least ``least`` keys and every value is the same scalar (``true`` and
    ``1`` differ)."""
    if len(obj) < least:
        return False
    values = iter(obj.values())
    first = next(values)
    if isinstance(first, (dict, list)):
        return False
    return all(value == first and type(value) is type(first) for value in values)
