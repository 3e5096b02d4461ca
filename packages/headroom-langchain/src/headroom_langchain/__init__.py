"""headroom-langchain: Headroom for LangChain v1 agents, LCEL chains, RAG retrievers and LangGraph.

    from langchain.agents import create_agent
    from headroom_langchain import HeadroomMiddleware

    agent = create_agent(model, tools=[...], middleware=[HeadroomMiddleware()])

Exports are loaded on first use, so ``import headroom_langchain`` stays cheap and only the parts of
LangChain an application uses are imported (``langchain.agents`` alone takes most of a second).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headroom import __version__

if TYPE_CHECKING:
    from ._documents import HeadroomDocumentCompressor
    from ._hook import compress_messages_hook
    from ._middleware import HeadroomMiddleware
    from ._runnable import HeadroomRunnable
    from ._tool import headroom_retrieve_tool

__all__ = [
    "HeadroomDocumentCompressor",
    "HeadroomMiddleware",
    "HeadroomRunnable",
    "__version__",
    "compress_messages_hook",
    "headroom_retrieve_tool",
]

_WHERE = {
    "HeadroomDocumentCompressor": "._documents",
    "HeadroomMiddleware": "._middleware",
    "HeadroomRunnable": "._runnable",
    "compress_messages_hook": "._hook",
    "headroom_retrieve_tool": "._tool",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'headroom_langchain' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
