"""``HeadroomTools``: ``headroom_retrieve`` as an Agno toolkit, and ``with_headroom`` to attach it all.

The tool never raises: an unknown or expired ref, bad arguments or a failing store become a message
the model can act on, so a bad call never ends a run. Its async variant reads the store on a worker
thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agno.tools import Toolkit
from headroom import Config, Headroom, retrieve_tool
from headroom.integration import TOOL_NAME

from ._hook import HeadroomHook
from ._shared import engine

_SPEC = retrieve_tool("json_schema")
_PROPERTIES = _SPEC["parameters"]["properties"]
_DOC = f"""{_SPEC["description"]}

Args:
    ref: {_PROPERTIES["ref"]["description"]}
    query: {_PROPERTIES["query"]["description"]}
    offset: {_PROPERTIES["offset"]["description"]}
    lines: {_PROPERTIES["lines"]["description"]}

Returns:
    str: the original, a page of its matching lines or records or of its lines, or a message saying
        why there are none.
"""


class HeadroomTools(Toolkit):
    """The ``headroom_retrieve(ref, query=None, offset=0, lines=None)`` tool for Agno agents.

    Args:
        hook: the ``HeadroomHook`` whose results the model will retrieve from (its engine is shared).
        headroom: a shared engine, when no hook is given.
        config: settings for a new engine, when neither is given.
        **kwargs: passed on to ``Toolkit`` (``instructions``, ``add_instructions``, ...).
    """

    def __init__(
        self,
        hook: HeadroomHook | None = None,
        *,
        headroom: Headroom | None = None,
        config: Config | None = None,
        **kwargs: Any,
    ) -> None:
        self.headroom = hook.headroom if hook is not None and headroom is None else engine(headroom, config)
        super().__init__(
            name="headroom",
            tools=[self.headroom_retrieve],
            async_tools=[(self.aheadroom_retrieve, TOOL_NAME)],
            **kwargs,
        )

    def headroom_retrieve(
        self, ref: str, query: str | None = None, offset: int = 0, lines: str | None = None
    ) -> str:
        return self.headroom.answer_tool_call({"ref": ref, "query": query, "offset": offset, "lines": lines})

    async def aheadroom_retrieve(
        self, ref: str, query: str | None = None, offset: int = 0, lines: str | None = None
    ) -> str:
        arguments = {"ref": ref, "query": query, "offset": offset, "lines": lines}
        return await asyncio.to_thread(self.headroom.answer_tool_call, arguments)

    headroom_retrieve.__doc__ = _DOC
    aheadroom_retrieve.__doc__ = _DOC


def with_headroom(agent: Any, *, headroom: Headroom | None = None, config: Config | None = None) -> Any:
    """Attach Headroom to an Agno ``Agent`` (or ``Team``): the hook and the retrieve toolkit, sharing
    one engine. Returns the agent.

    Raises:
        TypeError: the agent's tools are not a list (a tools factory: add both yourself).
    """
    tools = agent.tools if agent.tools is not None else []
    if not isinstance(tools, list):
        raise TypeError("agent.tools is not a list; add HeadroomTools(hook) and tool_hooks=[hook] yourself")
    hook = HeadroomHook(headroom=headroom, config=config)
    agent.tools = [*tools, HeadroomTools(hook)]
    agent.tool_hooks = [*(agent.tool_hooks or []), hook]
    return agent
