"""headroom-langchain: Headroom for LangChain v1 agents, LCEL chains, RAG retrievers and LangGraph.

    from langchain.agents import create_agent
    from headroom_langchain import HeadroomMiddleware

    agent = create_agent(model, tools=[...], middleware=[HeadroomMiddleware()])

Exports are loaded on first use, so ``import headroom_langchain`` stays cheap and only the parts of
LangChain an application uses are imported (``langchain.agents`` alone takes most of a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom import __version__
from headroom.integration import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
