"""headroom-llamaindex: Headroom for LlamaIndex: a node postprocessor for RAG, tools for agents.

    from headroom_llamaindex import HeadroomNodePostprocessor

    query_engine = index.as_query_engine(node_postprocessors=[HeadroomNodePostprocessor()])

Exports are loaded on first use: ``import headroom_llamaindex`` does not import LlamaIndex, whose own
import takes over a second.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headroom import __version__

if TYPE_CHECKING:
    from ._postprocessor import HeadroomNodePostprocessor
    from ._tools import headroom_retrieve_tool, wrap_tool

__all__ = [
    "HeadroomNodePostprocessor",
    "__version__",
    "headroom_retrieve_tool",
    "wrap_tool",
]

_WHERE = {
    "HeadroomNodePostprocessor": "._postprocessor",
    "headroom_retrieve_tool": "._tools",
    "wrap_tool": "._tools",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'headroom_llamaindex' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
