"""``HeadroomHook``: an Agno tool hook that compresses each tool result as the tool returns it.

Agno calls a tool hook with the arguments it names (``function_name``, ``function_call``,
``arguments``, ``agent``, ``run_context``), and what the hook returns becomes the tool message. One
object serves sync and async runs: Agno skips ``async def`` hooks in sync runs, so the hook is a plain
callable; in async runs ``function_call`` returns a coroutine, and the hook returns a coroutine that
awaits it and compresses on a worker thread (Agno awaits what a sync hook returns).

Results are read the way the model would read them: strings as they are, Agno's ``ToolResult`` by its
``content`` (images and files kept), dicts, lists and Pydantic models as JSON (Agno would show their
Python repr; JSON is what the JSON compressor reads and what models read best). When nothing can be
saved, the result is returned as the very object the tool gave, so Agno shows it as it always would.
Generators (streaming tools) pass through untouched. A tool that raises still raises: Agno reports
the error text verbatim. ``headroom_retrieve`` results are never compressed.

The freshness rule (``Config.fresh_turns`` > 0, the default) applies as a hook can apply it: a result
is fresh when it arrives and a hook never sees it again, so only a result over ``fresh_max_tokens``
(which the rule compresses at once; a file read never) is compressed here; the rest reach the model
whole (``compress_tool_result(fresh=True)``: the core's own count decides, nothing is counted twice).
To have older results compressed as they age, add ``HeadroomCompressionManager`` (it applies the whole rule).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from agno.tools.function import ToolResult
from headroom import Config, Headroom
from headroom.integration import TOOL_NAME
from pydantic import BaseModel

from ._shared import engine, query_for

log = logging.getLogger("headroom")


def as_text(result: Any) -> str | None:
    """``result`` as the model would read it, or None for what must pass through untouched."""
    if isinstance(result, str):
        return result
    if isinstance(result, ToolResult):
        return result.content
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    if isinstance(result, (dict, list, tuple)):
        try:
            return json.dumps(result, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            return str(result)
    if result is None or isinstance(result, (bytes, bytearray, Iterator)) or inspect.isawaitable(result):
        return None
    return str(result)


def has_retrieve_tool(agent: Any) -> bool:
    """Whether ``agent`` (or team) offers ``headroom_retrieve``: only then may markers invite retrieval."""
    tools = getattr(agent, "tools", None)
    if not isinstance(tools, (list, tuple)):
        return False
    for tool in tools:
        functions = getattr(tool, "functions", None)
        names = list(functions) if isinstance(functions, dict) else [getattr(tool, "name", None)]
        names.append(getattr(tool, "__name__", None))
        if TOOL_NAME in names:
            return True
    return False


class HeadroomHook:
    """An Agno tool hook (``Agent(tool_hooks=[hook])``) that compresses tool results.

    Args:
        headroom: a shared engine (give the same to ``HeadroomTools``); default: a new one with
            ``source="agno"``.
        config: settings for that new engine.

    Example:
        >>> hook = HeadroomHook()  # doctest: +SKIP
        >>> agent = Agent(model=m, tools=[my_tools, HeadroomTools(hook)], tool_hooks=[hook])  # doctest: +SKIP
    """

    def __init__(self, *, headroom: Headroom | None = None, config: Config | None = None) -> None:
        self.headroom = engine(headroom, config)
        self.__name__ = "HeadroomHook"  # Agno names hooks in its log lines

    def __call__(
        self,
        function_name: str,
        function_call: Callable[..., Any],
        arguments: dict[str, Any],
        agent: Any = None,
        team: Any = None,
        run_context: Any = None,
    ) -> Any:
        result = function_call(**arguments)
        if function_name == TOOL_NAME:
            return result  # retrieved content is never compressed
        messages = getattr(run_context, "messages", None)
        owner = agent if agent is not None else team
        model = getattr(getattr(owner, "model", None), "id", None)
        work = (function_name, arguments, query_for(function_name, arguments, messages),
                has_retrieve_tool(owner), model if isinstance(model, str) else None)  # fmt: skip
        if inspect.isawaitable(result):
            return self._after(result, work)
        return self.compress(result, *work)

    async def _after(self, pending: Awaitable[Any], work: tuple[Any, ...]) -> Any:
        result = await pending
        return await asyncio.to_thread(self.compress, result, *work)

    def compress(
        self,
        result: Any,
        tool: str,
        arguments: Any = None,
        query: str | None = None,
        retrievable: bool = True,
        model: str | None = None,
    ) -> Any:
        """``result`` compressed (a string, or a ``ToolResult`` with compressed content), or ``result``
        itself when nothing could be saved. Never raises for what the result contains."""
        text = as_text(result)
        if text is None:
            return result
        try:  # fresh (what the agent acts on next) it stays whole; HeadroomCompressionManager ages it later
            done = self.headroom.compress_tool_result(
                text, tool, arguments=arguments, query=query, model=model, retrievable=retrievable, fresh=True
            )
        except Exception:  # the agent always gets its tool result, compressed or not
            log.exception("headroom: could not compress a %s result; passing it through", tool)
            return result
        if done.messages is text:
            return result
        if isinstance(result, ToolResult):
            return result.model_copy(update={"content": done.messages})
        return done.messages
