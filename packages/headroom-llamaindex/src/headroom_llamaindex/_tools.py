"""The retrieve tool as a LlamaIndex ``FunctionTool``, and ``wrap_tool`` for compressed tool output.

No ``from __future__ import annotations`` here: LlamaIndex recognises a tool that wants the workflow
``Context`` by the real annotation of its parameter, and ``wrap_tool`` relies on that to read the
user's message (the query) from the agent's context.
"""

import asyncio
from typing import Any

from headroom import Config, Headroom, retrieve_tool
from llama_index.core.bridge.pydantic import BaseModel, Field, create_model
from llama_index.core.tools import AsyncBaseTool, BaseTool, FunctionTool, ToolMetadata, ToolOutput
from llama_index.core.workflow import Context

from ._shared import engine

_SPEC = retrieve_tool("json_schema")
_PROPERTIES = _SPEC["parameters"]["properties"]
RetrieveArgs: type[BaseModel] = create_model(
    "RetrieveArgs",
    ref=(str, Field(description=_PROPERTIES["ref"]["description"])),
    query=(str | None, Field(default=None, description=_PROPERTIES["query"]["description"])),
    offset=(int, Field(default=0, ge=0, description=_PROPERTIES["offset"]["description"])),
    lines=(str | None, Field(default=None, description=_PROPERTIES["lines"]["description"])),
)
_QUERY_ARGUMENTS = ("query", "question", "q")  # a tool's own search query, when it has one


def headroom_retrieve_tool(*, headroom: Headroom | None = None, config: Config | None = None) -> FunctionTool:
    """``headroom_retrieve(ref, query=None, offset=0, lines=None)`` for LlamaIndex agents
    (``FunctionAgent``, ``ReActAgent``).

    Args:
        headroom: the engine whose store holds the originals (share it with the postprocessor or
            ``wrap_tool``).
        config: settings for a new engine when ``headroom`` is not given.

    Returns:
        A tool with sync and async functions that never raises: an unknown ref or a bad call answers
        with a message the model can act on.
    """
    hr = engine(headroom, config)

    def headroom_retrieve(
        ref: str, query: str | None = None, offset: int = 0, lines: str | None = None
    ) -> str:
        return hr.answer_tool_call({"ref": ref, "query": query, "offset": offset, "lines": lines})

    async def aheadroom_retrieve(
        ref: str, query: str | None = None, offset: int = 0, lines: str | None = None
    ) -> str:
        arguments = {"ref": ref, "query": query, "offset": offset, "lines": lines}
        return await asyncio.to_thread(hr.answer_tool_call, arguments)

    return FunctionTool.from_defaults(
        fn=headroom_retrieve, async_fn=aheadroom_retrieve, name=_SPEC["name"],
        description=_SPEC["description"], fn_schema=RetrieveArgs,
    )  # fmt: skip


def wrap_tool(
    tool: BaseTool,
    *,
    headroom: Headroom | None = None,
    config: Config | None = None,
    retrievable: bool = True,
) -> FunctionTool:
    """A tool like ``tool`` whose output the model reads compressed, its original kept retrievable.

    The name, description and argument schema stay the same, and so does ``ToolOutput.raw_output``
    (the tool's own value, for the application). In an agent, the query is the user's message, read
    from the agent's context; called directly, a ``query``/``question`` argument of the tool is used.
    Errors pass through untouched, and so do outputs with images or other non-text blocks.

    Args:
        tool: any LlamaIndex tool (a ``FunctionTool``, a query engine tool, ...).
        headroom: a shared engine (give the same to ``headroom_retrieve_tool``).
        config: settings for a new engine when ``headroom`` is not given.
        retrievable: whether the agent has ``headroom_retrieve`` (markers then invite retrieval).
    """
    hr = engine(headroom, config)
    name = tool.metadata.get_name()
    inner_context = tool.ctx_param_name if isinstance(tool, FunctionTool) and tool.requires_context else None

    def arguments(kwargs: dict[str, Any], ctx: Context | None) -> dict[str, Any]:
        return {**kwargs, inner_context: ctx} if inner_context and ctx is not None else kwargs

    def compressed(output: ToolOutput, query: str | None, kwargs: dict[str, Any]) -> ToolOutput:
        if output.is_error or any(block.block_type != "text" for block in output.blocks):
            return output
        if query is None:
            query = next((v for k in _QUERY_ARGUMENTS if isinstance(v := kwargs.get(k), str) and v), None)
        text = output.content
        result = hr.compress_tool_result(text, name, arguments=kwargs, query=query, retrievable=retrievable)
        if result.messages is text:
            return output
        return ToolOutput(content=result.messages, tool_name=output.tool_name, raw_input=output.raw_input,
                          raw_output=output.raw_output)  # fmt: skip

    def run(ctx: Context = None, **kwargs: Any) -> ToolOutput:  # type: ignore[assignment]
        return compressed(tool(**arguments(kwargs, ctx)), None, kwargs)

    async def arun(ctx: Context = None, **kwargs: Any) -> ToolOutput:  # type: ignore[assignment]
        query = await _user_message(ctx)
        if isinstance(tool, AsyncBaseTool):
            output = await tool.acall(**arguments(kwargs, ctx))
        else:
            output = await asyncio.to_thread(tool, **kwargs)
        return await asyncio.to_thread(compressed, output, query, kwargs)

    metadata = ToolMetadata(
        name=name, description=tool.metadata.description, fn_schema=tool.metadata.fn_schema,
        return_direct=tool.metadata.return_direct,
    )  # fmt: skip
    # ctx=None by default: called directly (outside an agent) the tool needs no Context
    return FunctionTool(
        fn=run, async_fn=arun, metadata=metadata, callback=_as_is, partial_params={"ctx": None}
    )


def _as_is(output: ToolOutput) -> ToolOutput:
    """FunctionTool's callback: the ToolOutput the wrapper built is the tool's output."""
    return output


async def _user_message(ctx: Context | None) -> str | None:
    """The user's message of the running agent (``FunctionAgent`` / ``ReActAgent`` keep it in the store)."""
    if ctx is None:
        return None
    try:
        text = await ctx.store.get("user_msg_str", default=None)
    except Exception:  # a context without an agent's store: no query
        return None
    return text if isinstance(text, str) and text.strip() else None
