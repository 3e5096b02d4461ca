"""``headroom_retrieve`` as a LangChain tool, defined from the core's own JSON schema.

The tool never raises: an unknown or expired ref, bad arguments or a failing store become a message
the model can act on (``Headroom.answer_tool_call``), so a bad call never ends an agent run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from headroom import Config, Headroom
from langchain_core.tools import BaseTool, StructuredTool

from ._shared import engine


def headroom_retrieve_tool(*, headroom: Headroom | None = None, config: Config | None = None) -> BaseTool:
    """The ``headroom_retrieve`` tool (``ref``, optional ``query``) as a LangChain ``StructuredTool``.

    Bind it wherever the model reads compressed text with retrieve markers: ``HeadroomMiddleware``
    does this itself; in hand-built graphs and LCEL chains, add it to the model's tools.

    Args:
        headroom: the engine whose store holds the originals (share it with whatever compressed them).
        config: settings for a new engine when ``headroom`` is not given.

    Returns:
        A tool with sync and async implementations that answers with the original, the matching
        lines, or a not-found message written for the model.
    """
    hr = engine(headroom, config)
    spec = hr.retrieve_tool("json_schema")

    def retrieve(**arguments: Any) -> str:
        return hr.answer_tool_call(arguments)

    async def aretrieve(**arguments: Any) -> str:
        return await asyncio.to_thread(hr.answer_tool_call, arguments)

    return StructuredTool.from_function(
        func=retrieve,
        coroutine=aretrieve,
        name=spec["name"],
        description=spec["description"],
        args_schema=spec["parameters"],
    )
