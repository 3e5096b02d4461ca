"""``HeadroomCompressionManager``: Agno's ``compress_tool_results`` with Headroom instead of an LLM.

Agno's own ``CompressionManager`` asks a model to summarise tool results: lossy, slow, paid for. This
subclass keeps Agno's storage shape (the original stays in ``Message.content``, the compressed text
goes to ``Message.compressed_content``, which the provider adapters send) and fills it with Headroom's
deterministic, reversible compression, right after each tool call (no count or token threshold: the
compression costs no model call). Each result is compressed with the user message before it as the
query. A result that cannot be made smaller is given as it is (Agno counts an empty answer as a
failure). With ``HeadroomTools`` on the agent, markers invite retrieval; without it they do not.
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
        """Fill ``compressed_content`` of every tool message that has none yet."""
        if not self.compress_tool_results:
            return
        retrievable = self.retrievable if self.retrievable is not None else _bound.get()
        for index, message in enumerate(messages):
            if self._pending(message):
                self._compress_one(message, latest_user_text(messages[:index]), retrievable)

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
        changed = int(new is not text)
        self.stats["tool_results_compressed"] = self.stats.get("tool_results_compressed", 0) + changed
        self.stats["original_size"] = self.stats.get("original_size", 0) + len(text)
        self.stats["compressed_size"] = self.stats.get("compressed_size", 0) + len(new)
