"""``HeadroomMiddleware``: Headroom for LangChain v1 agents, added with one line.

Two hooks, each with its sync and async form (LangChain calls the one matching ``invoke`` or
``ainvoke``):

- ``wrap_model_call`` applies the core's conversation policy to what the model sees, without touching
  the state: with the freshness rule on (``Config.fresh_turns``, the default) recent tool results and
  file reads are sent whole and older ones compressed in batches, exactly as the proxy does. The core
  memoises every block by content hash, so a long conversation costs a hash and a lookup per message.
- ``wrap_tool_call``, with ``fresh_turns = 0`` only, compresses each tool result once, as it is
  produced, with the newest human message as the query. The compressed text goes into the agent
  state; the original goes to the CCR store and into ``ToolMessage.artifact``, so a checkpointed
  thread keeps it whatever the store's TTL: originals the store no longer holds are put back from the
  thread's state before the model reads it. With freshness on, the state keeps every result as the
  tool gave it.

The middleware registers ``headroom_retrieve`` in ``tools``, so ``create_agent`` binds it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from headroom import Config, Headroom, HeadroomError
from headroom.integration import TOOL_NAME
from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain.agents.middleware.types import ExtendedModelResponse, ToolCallRequest
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from ._convert import METADATA_KEY, compress_view, latest_human, messages_of, model_name, tagged
from ._shared import engine
from ._tool import headroom_retrieve_tool

log = logging.getLogger("headroom")

ToolResult = ToolMessage | Command[Any]


class HeadroomMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Compresses tool results and the model's view of the conversation; binds ``headroom_retrieve``.

    Args:
        headroom: a shared engine (its store answers ``headroom_retrieve``); default: a new one with
            ``source="langchain"``.
        config: settings for that new engine (``Config()`` and ``HEADROOM_*`` variables when None).

    Example:
        >>> agent = create_agent(model, tools=[...], middleware=[HeadroomMiddleware()])  # doctest: +SKIP
    """

    def __init__(self, *, headroom: Headroom | None = None, config: Config | None = None) -> None:
        super().__init__()
        self.headroom = engine(headroom, config)
        self.tools: Sequence[BaseTool] = [headroom_retrieve_tool(headroom=self.headroom)]
        self._model: str | None = None  # the agent's model, for tool results' token counts and ledger

    # --- tool results: compressed once, into the state -----------------------------------------------

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        if request.tool_call.get("name") == TOOL_NAME or self.headroom.config.fresh_turns > 0:
            return handler(request)  # retrieved content is never compressed; fresh: the view ages it
        return self._compress_result(handler(request), request)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        if request.tool_call.get("name") == TOOL_NAME or self.headroom.config.fresh_turns > 0:
            return await handler(request)
        result = await handler(request)
        return await asyncio.to_thread(self._compress_result, result, request)

    def _compress_result(self, result: ToolResult, request: ToolCallRequest) -> ToolResult:
        """``result`` with its tool message compressed; the result itself when that fails."""
        try:
            query = latest_human(messages_of(request.state))
            if isinstance(result, ToolMessage):
                return self._compress_message(result, request.tool_call, query)
            if isinstance(result, Command) and isinstance(result.update, dict):
                messages = result.update.get("messages")
                if isinstance(messages, list):
                    new = [
                        self._compress_message(m, request.tool_call, query)
                        if isinstance(m, ToolMessage) and m.tool_call_id == request.tool_call.get("id")
                        else m
                        for m in messages
                    ]
                    return dataclasses.replace(result, update={**result.update, "messages": new})
        except Exception:  # the agent always gets its tool result, compressed or not
            log.exception("headroom: could not compress a %s result; passing it through",
                          request.tool_call.get("name"))  # fmt: skip
        return result

    def _compress_message(self, message: ToolMessage, call: Any, query: str | None) -> ToolMessage:
        """One tool result by the core's policy (tool filters, errors, memo); metadata and artifact set."""
        if METADATA_KEY in message.response_metadata or not isinstance(message.content, (str, list)):
            return message  # compressed already (another HeadroomMiddleware further in)
        result = self.headroom.compress_tool_result(
            message.content, message.name or call.get("name"), arguments=call.get("args"), query=query,
            is_error=message.status == "error", model=self._model,
        )  # fmt: skip
        content = result.messages
        if content is message.content:
            return message
        if message.artifact is None:
            new = tagged(message, content, result.refs)
            return new.model_copy(update={"artifact": message.content})
        # the tool's own artifact stays what the application expects; the original sits beside it
        return tagged(message, content, result.refs, original=message.content)

    def _restore(self, messages: Sequence[Any]) -> None:
        """Put originals back into the store from the thread's state where the store lost them.

        Compressed results in the state keep their original (``artifact``) and refs
        (``response_metadata``); compressing the original again, with the same query, stores it under
        the same refs. So an old checkpointed thread is whole again before the model reads it.
        """
        try:
            self._restore_from(messages)
        except HeadroomError as exc:  # the store is down: the view is compressed without it
            log.warning("headroom: could not check the store for this thread's originals (%s)", exc)

    def _restore_from(self, messages: Sequence[Any]) -> None:
        calls: dict[str | None, Any] | None = None
        for index, message in enumerate(messages):
            meta = message.response_metadata.get(METADATA_KEY) if isinstance(message, ToolMessage) else None
            if not isinstance(meta, dict) or all(
                self.headroom.store.contains(r) for r in meta.get("refs", ())
            ):
                continue
            original = meta.get("original", message.artifact)
            if not isinstance(original, (str, list)):
                continue
            if calls is None:
                calls = {c["id"]: c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
            call = calls.get(message.tool_call_id, {"id": message.tool_call_id, "args": {}})
            before = message.model_copy(update={"content": original, "response_metadata": {}})
            self._compress_message(before, call, latest_human(messages[:index]))
            log.info("headroom: restored the original of a %s result from the thread's state", message.name)

    # --- the model's view: the conversation policy, state untouched ----------------------------------

    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        return handler(self._view(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any] | AIMessage | ExtendedModelResponse[Any]:
        return await handler(await asyncio.to_thread(self._view, request))

    def _view(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """``request`` with the messages the model should see; ``request`` itself when nothing changed."""
        self._model = model_name(request.model) or self._model
        try:
            self._restore(request.messages)
            view = compress_view(self.headroom, request.messages, request.system_message, model=self._model)
        except Exception:  # the model always gets its request, compressed or not
            log.exception("headroom: could not compress the model's view; sending it unchanged")
            return request
        if view.same_as(request.messages, request.system_message):
            return request
        messages = cast("list[AnyMessage]", view.messages)
        return request.override(messages=messages, system_message=view.system_message)
