"""headroom-llamaindex: Headroom for LlamaIndex: a node postprocessor for RAG, tools for agents.

    from headroom_llamaindex import HeadroomNodePostprocessor

    query_engine = index.as_query_engine(node_postprocessors=[HeadroomNodePostprocessor()])

Exports are loaded on first use: ``import headroom_llamaindex`` does not import LlamaIndex, whose own
import takes over a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom import __version__
from headroom.integration import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
