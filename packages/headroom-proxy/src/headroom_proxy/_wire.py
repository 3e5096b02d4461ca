"""What the provider APIs (``_apis``) and the stream states (``_streams``) both use: a retrieval call
of ours, and usage summed over retrieval rounds."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One ``headroom_retrieve`` call of the model: its id and its arguments (JSON text or object)."""

    id: str
    arguments: Any


def add_usage(total: dict[str, Any] | None, usage: Any) -> dict[str, Any] | None:
    """``total`` plus ``usage``, field by field (nested counts too); None stays None until usage comes."""
    if not isinstance(usage, dict):
        return total
    if total is None:
        return copy.deepcopy(usage)
    out = dict(total)
    for key, value in usage.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and isinstance(out.get(key, 0), (int, float)):
            out[key] = out.get(key, 0) + value
        elif isinstance(value, dict):
            out[key] = add_usage(out.get(key) if isinstance(out.get(key), dict) else None, value)
    return out
