"""``HeadroomRunnable``: compression as one step of an LCEL chain, ``prompt | HeadroomRunnable() | model``.

It takes what a chat model takes (a ``ChatPromptValue``, a list of messages, a string) and returns
the same kind of value, compressed by the core's conversation policy. In a chain the prompt's human
turn usually carries the context (retrieved chunks, pasted files), so user turns are compressed by
default (their closing question stays whole and is the query), unless ``config=`` or
``HEADROOM_COMPRESS_USER_MESSAGES`` says otherwise.

A plain chain binds no tools, so markers name no tool (``retrievable=False``) and the refs go to the
caller in each changed message's ``response_metadata["headroom"]["refs"]``. Pass
``retrievable=True`` when the model has ``headroom_retrieve_tool()`` bound.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from headroom import Config, Headroom
from langchain_core.language_models.base import LanguageModelInput
from langchain_core.messages import HumanMessage
from langchain_core.prompt_values import ChatPromptValue, PromptValue, StringPromptValue
from langchain_core.runnables import Runnable, RunnableConfig

from ._convert import as_messages, compress_view
from ._shared import engine


def _chain_config() -> Config:
    if "HEADROOM_COMPRESS_USER_MESSAGES" in os.environ:
        return Config()
    return Config(compress_user_messages=True)


class HeadroomRunnable(Runnable[LanguageModelInput, LanguageModelInput]):
    """Compresses a chat model's input inside an LCEL chain; ``invoke``, ``ainvoke``, ``batch``, ``stream``.

    Args:
        headroom: a shared engine; default: a new one with ``source="langchain"``.
        config: settings for that new engine; default: ``Config()`` with ``compress_user_messages``
            on (a chain's context is in its human turn).
        retrievable: True when the model downstream has ``headroom_retrieve`` bound; then markers
            invite retrieval. Default False: lossy markers, refs in ``response_metadata``.
        model: the downstream model's name, for its tokenizer and the ledger.

    Example:
        >>> chain = prompt | HeadroomRunnable() | model  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        headroom: Headroom | None = None,
        config: Config | None = None,
        retrievable: bool = False,
        model: str | None = None,
    ) -> None:
        if headroom is None and config is None:
            config = _chain_config()
        self.headroom = engine(headroom, config)
        self.retrievable = retrievable
        self.model = model
        self.name = "HeadroomRunnable"

    def invoke(self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._compress, input, config, run_type="chain")

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        return await self._acall_with_config(self._acompress, input, config, run_type="chain")

    async def _acompress(self, value: LanguageModelInput) -> LanguageModelInput:
        return await asyncio.to_thread(self._compress, value)

    def _compress(self, value: LanguageModelInput) -> LanguageModelInput:
        """``value`` compressed, as the same kind of value (prompt value, message list or string)."""
        if isinstance(value, (str, StringPromptValue)):
            text = value if isinstance(value, str) else value.text
            view = compress_view(self.headroom, [HumanMessage(text)], model=self.model,
                                 retrievable=self.retrievable)  # fmt: skip
            new = view.messages[0].content
            if not isinstance(new, str) or new == text:
                return value
            return new if isinstance(value, str) else StringPromptValue(text=new)
        messages = value.to_messages() if isinstance(value, PromptValue) else as_messages(value)
        view = compress_view(self.headroom, messages, model=self.model, retrievable=self.retrievable)
        if view.same_as(messages, None):
            return value
        if isinstance(value, PromptValue):
            return ChatPromptValue(messages=view.messages)
        return view.messages
