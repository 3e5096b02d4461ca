"""``compress_messages_hook``: a LangGraph pre-model hook for hand-built graphs.

Messages in, ``{"llm_input_messages": [...]}`` out: the graph's state keeps the originals and only the
model call reads the compressed view (the LangGraph convention for pre-model hooks). Use it as a node
before the model node, or as ``pre_model_hook`` of the deprecated ``langgraph.prebuilt.create_react_agent``;
new agents should use ``HeadroomMiddleware`` with ``langchain.agents.create_agent`` instead.

``compress_messages_hook`` is a ready instance (its engine is created on first use). Calling it with
keywords only gives a configured one::

    graph.add_node("compress", compress_messages_hook)
    graph.add_node("compress", compress_messages_hook(headroom=hr, retrievable=True))

It is a ``Runnable``, so LangGraph calls ``invoke``/``ainvoke`` and never inspects a signature.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from headroom import Config, Headroom
from langchain_core.runnables import Runnable, RunnableConfig

from ._convert import as_messages, compress_view, messages_of
from ._shared import engine

OUTPUT_KEY = "llm_input_messages"


class MessagesHook(Runnable[Any, dict[str, Any]]):
    """A pre-model hook: the state's ``messages`` compressed into ``llm_input_messages``.

    Args:
        headroom: a shared engine; default: a new one with ``source="langchain"``, made on first use.
        config: settings for that new engine.
        retrievable: True when the graph's model has ``headroom_retrieve_tool()`` bound (markers then
            invite retrieval); False gives lossy markers.
    """

    def __init__(
        self, *, headroom: Headroom | None = None, config: Config | None = None, retrievable: bool = False
    ) -> None:
        self._headroom = headroom
        self._config = config
        self._lock = threading.Lock()
        self.retrievable = retrievable
        self.name = "compress_messages_hook"
        if headroom is not None and config is not None:
            engine(headroom, config)  # raises the same clear error as every other export

    @property
    def headroom(self) -> Headroom:
        with self._lock:
            if self._headroom is None:
                self._headroom = engine(None, self._config)
            return self._headroom

    def __call__(
        self,
        state: Any = None,
        /,
        *,
        headroom: Headroom | None = None,
        config: Config | None = None,
        retrievable: bool | None = None,
    ) -> Any:
        """With a state: the hook's output. With keywords only: a new hook configured by them."""
        if state is None:
            keep = self.retrievable if retrievable is None else retrievable
            return MessagesHook(headroom=headroom, config=config, retrievable=keep)
        if headroom is not None or config is not None or retrievable is not None:
            raise TypeError("compress_messages_hook takes a state, or keywords to configure a new hook")
        return self._run(state)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return self._call_with_config(self._run, input, config, run_type="chain")

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        return await self._acall_with_config(self._arun, input, config, run_type="chain")

    async def _arun(self, state: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._run, state)

    def _run(self, state: Any) -> dict[str, Any]:
        messages = as_messages(state if isinstance(state, list) else messages_of(state))
        view = compress_view(self.headroom, messages, retrievable=self.retrievable)
        return {OUTPUT_KEY: view.messages}


compress_messages_hook = MessagesHook()
