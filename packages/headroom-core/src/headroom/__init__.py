"""Headroom: context compression for LLM agents.

Tool outputs, logs, JSON and search hits are shrunk by content type before the model reads them;
every original stays in a local store and the model can pull it back with ``headroom_retrieve``.
This module is the API for applications; ``headroom.integration`` is the one for adapters and proxies.

    >>> import headroom
    >>> c = headroom.compress_text(build_log, query="timeout")  # doctest: +SKIP
    >>> headroom.retrieve(c.ref, query="timeout")  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ._config import Config
from ._engine import Headroom
from ._errors import ConfigError, HeadroomError, RefNotFound, StoreError
from ._tool import retrieve_tool
from ._types import Compressed, CompressResult, Volatile
from ._version import __version__

if TYPE_CHECKING:
    from ._types import Kind

__all__ = [
    "CompressResult",
    "Compressed",
    "Config",
    "ConfigError",
    "Headroom",
    "HeadroomError",
    "RefNotFound",
    "StoreError",
    "Volatile",
    "__version__",
    "compress",
    "compress_text",
    "default",
    "retrieve",
    "retrieve_tool",
]

_default: Headroom | None = None
_default_lock = threading.Lock()


def default() -> Headroom:
    """The shared instance behind the module-level functions, created on first use from ``Config()``."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Headroom()
        return _default


def compress_text(
    text: str,
    query: str | None = None,
    kind: Kind | None = None,
    budget: float | None = None,
    retrievable: bool = True,
) -> Compressed:
    """``Headroom.compress_text`` on the default instance."""
    return default().compress_text(text, query, kind, budget, retrievable)


def compress(
    messages: Any,
    query: str | None = None,
    model: str | None = None,
    *,
    system: Any = None,
    tools: Any = None,
    retrievable: bool = True,
) -> CompressResult:
    """``Headroom.compress`` on the default instance."""
    return default().compress(messages, query, model, system=system, tools=tools, retrievable=retrievable)


def retrieve(
    ref: str, query: str | None = None, *, offset: int = 0, lines: str | tuple[int, int | None] | None = None
) -> str:
    """``Headroom.retrieve`` on the default instance."""
    return default().retrieve(ref, query, offset=offset, lines=lines)
