"""``HeadroomCompressionManager``: Agno's ``compress_tool_results`` with Headroom instead of an LLM.

Agno's own ``CompressionManager`` asks a model to summarise tool results: lossy, slow, paid for. This
subclass keeps Agno's storage shape (the original stays in ``Message.content``, the compressed text
goes to ``Message.compressed_content``, which the provider adapters send) and fills it with Headroom's
deterministic, reversible compression (no count or token threshold: the compression costs no model
call). With the freshness rule on (``Config.fresh_turns``, the default) the whole run goes through the
core's conversation policy before each model call, as the proxy does: a fresh result stays pending, so
the model reads it whole, and gets its compressed content once it has aged. With ``fresh_turns = 0``,
each result is compressed right after its call. Each result is compressed with the user message
before it as the query. A result that cannot be made smaller is given as it is (Agno counts an empty
answer as a failure). With ``HeadroomTools`` on the agent, markers invite retrieval; without it they do not.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agno.compression.manager import CompressionManager
from agno.models.message import Message
from headroom import Config, Headroom
from headroom.integration import TOOL_NAME

from ._shared import engine, latest_user_text, message_text

if TYPE_CHECKING:
    from agno.metrics import RunMetrics

log = logging.getLogger("headroom")

# whether the model of the run being compressed has headroom_retrieve: Agno passes the run's tools to
# should_compress right before compress, in the same context
_bound: ContextVar[bool] = ContextVar("headroom_retrieve_bound", default=False)


def _offers_retrieve(tools: Any) -> bool:
    for tool in tools or ():
        name = (
            tool.get("function", tool).get("name") if isinstance(tool, dict) else getattr(tool, "name", None)
        )
        if name == TOOL_NAME:
            return True
    return False


def _as_chat(message: Message) -> dict[str, Any]:
    """An Agno message as an OpenAI chat message (what the conversation policy reads)."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message_text(message)}
    chat: dict[str, Any] = {"role": message.role, "content": message_text(message)}
    if message.role == "assistant" and message.tool_calls:
        chat["tool_calls"] = message.tool_calls
    return chat


@dataclass
class HeadroomCompressionManager(CompressionManager):
    """``Agent(compression_manager=HeadroomCompressionManager())``: reversible, no LLM call.

    Attributes:
        headroom: a shared engine; default: a new one with ``source="agno"``.
        config: settings for that new engine.
        retrievable: whether the model has ``headroom_retrieve``; None (the default) looks for it in
            the tools of the run being compressed (``HeadroomTools`` on the agent).
    """

    headroom: Headroom | None = None
    config: Config | None = None
    retrievable: bool | None = None

    def __post_init__(self) -> None:
        self.compress_tool_results_limit = self.compress_tool_results_limit or 1
        self.headroom = engine(self.headroom, self.config)

    @property
    def engine(self) -> Headroom:
        assert self.headroom is not None  # set in __post_init__
        return self.headroom

    def should_compress(self, messages: list[Message], tools: Any = None, *args: Any, **kwargs: Any) -> bool:
        """Every new tool result, at once: compressing costs no model call, so there is no threshold."""
        _bound.set(_offers_retrieve(tools))
        return self.compress_tool_results and any(self._pending(m) for m in messages)

    async def ashould_compress(
        self, messages: list[Message], tools: Any = None, *args: Any, **kwargs: Any
    ) -> bool:
        return self.should_compress(messages, tools)

    def compress(self, messages: list[Message], run_metrics: RunMetrics | None = None) -> None:
        """Fill ``compressed_content`` of every tool message that has none yet; with the freshness rule
        on (``Config.fresh_turns``), of those that have aged: a fresh one stays pending, so the model
        reads it whole, and gets its compressed content on a later call."""
        if not self.compress_tool_results:
            return
        retrievable = self.retrievable if self.retrievable is not None else _bound.get()
        if self.engine.config.fresh_turns > 0:
            self._compress_aged(messages, retrievable)
            return
        for index, message in enumerate(messages):
            if self._pending(message):
                self._compress_one(message, latest_user_text(messages[:index]), retrievable)

    def _compress_aged(self, messages: list[Message], retrievable: bool) -> None:
        """The conversation policy over the whole run (as the proxy applies it); aged results only."""
        try:
            result = self.engine.compress([_as_chat(m) for m in messages], retrievable=retrievable)
        except Exception:  # the model then reads the originals
            log.exception("headroom: could not compress the run's tool results; sending them whole")
            return
        fresh = set(result.fresh)
        for index, (message, sent) in enumerate(zip(messages, result.messages, strict=True)):
            if not self._pending(message) or index in fresh:
                continue
            text = message_text(message)
            new = sent["content"] if message.tool_name != TOOL_NAME else text
            message.compressed_content = new or text or " "
            self._count(text, new, changed=new != text)

    async def acompress(self, messages: list[Message], run_metrics: RunMetrics | None = None) -> None:
        await asyncio.to_thread(self.compress, messages, run_metrics)

    @staticmethod
    def _pending(message: Message) -> bool:
        return message.role == "tool" and message.compressed_content is None

    def _compress_one(self, message: Message, query: str | None, retrievable: bool) -> None:
        text = message_text(message)
        name = message.tool_name or ""
        new = text
        if text and name != TOOL_NAME:
            try:
                done = self.engine.compress_tool_result(
                    text, name, arguments=message.tool_args, query=query,
                    is_error=bool(message.tool_call_error), retrievable=retrievable,
                )  # fmt: skip
                new = done.messages
            except Exception:  # the model then reads the original
                log.exception("headroom: could not compress a %s result; sending it whole", name)
        message.compressed_content = new or text or " "
        self._count(text, new, changed=new is not text)

    def _count(self, text: str, new: str, changed: bool) -> None:
        self.stats["tool_results_compressed"] = self.stats.get("tool_results_compressed", 0) + int(changed)
        self.stats["original_size"] = self.stats.get("original_size", 0) + len(text)
        self.stats["compressed_size"] = self.stats.get("compressed_size", 0) + len(new)
