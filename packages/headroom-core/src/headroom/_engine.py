"""``Headroom``: the facade every adapter, the proxy and the CLI go through.

It wires the parts and holds no logic of its own: the one-text ``Pipeline`` (detect, split mixed
content, compress, store, mark, record), the policies that send texts through it (``_policy``:
conversations and tool results, RAG texts; the budget and prompt-cache checks run inside the
conversation policy), and retrieval (``_retrieve``). Each ``a*`` method runs its twin on a worker
thread, so an event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._config import Config
from ._errors import ConfigError
from ._pipeline import Pipeline
from ._stats.ledger import Ledger
from ._stats.recorder import Recorder
from ._store import Store
from ._tokens import Tokenizer
from ._tool import retrieve_tool
from ._types import SOURCES, Compressed, CompressResult, Kind, Source, ToolFormat

log = logging.getLogger("headroom")

if TYPE_CHECKING:
    from ._memory import Memory
    from ._policy.conversation import Conversations


class Headroom:
    """Compresses what an agent reads and keeps every original retrievable.

    Args:
        config: settings; ``Config()`` (defaults and ``HEADROOM_*`` variables) when None.
        source: who is calling, tagged on every ledger event: ``library``, ``langchain``, ``agno``,
            ``llamaindex``, ``proxy`` or ``cli``.

    Attributes:
        config: the settings.
        source: the ledger source.
        outcomes: how many texts ended with each ``Compressed.outcome`` (and ``store_errors``).
        events: the ledger events of this engine (adapters and the proxy record their own through it).
    """

    def __init__(self, config: Config | None = None, *, source: Source = "library") -> None:
        if source not in SOURCES:
            raise ConfigError(f"source {source!r} is unknown; use one of {', '.join(SOURCES)}")
        self.config = config if config is not None else Config()
        self.source: Source = source
        self.events = Recorder(self.config, source)
        self._pipeline = Pipeline(self.config, self.events)
        self.outcomes: Counter[str] = self._pipeline.outcomes
        self._policy: Conversations | None = None  # created on first use, with its memos
        self._policy_lock = threading.Lock()
        self._memory: Memory | None = None

    def _conversations(self) -> Conversations:
        policy = self._policy
        if policy is None:
            with self._policy_lock:
                if self._policy is None:
                    # the policies are imported on first use, so ``import headroom`` stays light
                    from ._policy.conversation import Conversations

                    self._policy = Conversations(self._pipeline)
                policy = self._policy
        return policy

    # --- the store and the ledger --------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store of originals, opened on first use.

        Raises:
            StoreError: it cannot be opened.
        """
        return self._pipeline.originals.store

    @property
    def ledger(self) -> Ledger | None:
        """The stats ledger (``ledger.db`` beside the store), None when ``config.ledger`` is off."""
        return self.events.ledger

    @property
    def memory(self) -> Memory:
        """The cross-agent memory (``memory.db`` beside the ledger), opened on first use.

        Raises:
            HeadroomError: it cannot be opened.
        """
        memory = self._memory
        if memory is None:
            with self._policy_lock:
                if self._memory is None:
                    from ._memory import Memory, memory_path  # sqlite3 only when memory is used

                    self._memory = Memory(memory_path(self.config.store))
                memory = self._memory
        return memory

    def close(self) -> None:
        """Write the ledger's pending events and close the store's, the ledger's, the shared cache's
        and the memory's connections."""
        self.events.close()
        self._pipeline.originals.close()
        self._pipeline.cache.close()
        if self._memory is not None:
            self._memory.close()

    def warm(self) -> None:
        """Load the tokenizer and import every compressor and policy now instead of on first use: a
        server calls it at startup, so its first request is not slow and never holds the interpreter
        for long. The shared cache's file is opened too; with ``offload_chars``, the worker processes
        start."""
        from ._compressors import KINDS_WITH_COMPRESSOR, compressor_for

        self.tokenizer().count("warm")
        for kind in KINDS_WITH_COMPRESSOR:
            compressor_for(kind)
        self._conversations()  # the policies, imported
        self._pipeline.cache.warm()
        from ._policy import texts  # noqa: F401
        from ._retrieve import retrieve  # noqa: F401

        if self.config.offload_chars:
            from ._workers import pool

            pool().start()

    def tokenizer(self, model: str | None = None) -> Tokenizer:
        """The tokenizer used for counts: ``model``'s own encoding when known, else ``config.tokenizer``."""
        return self._pipeline.tokenizer(model)

    # --- one text ------------------------------------------------------------------------------------

    def compress_text(
        self,
        text: str | bytes,
        query: str | None = None,
        kind: Kind | None = None,
        budget: float | None = None,
        retrievable: bool = True,
        *,
        model: str | None = None,
        path: str | None = None,
    ) -> Compressed:
        """Compress one text. Never raises for what ``text`` contains; only bad arguments raise.

        Args:
            text: the original (a tool result, a log, a JSON document, ...); bytes are decoded as
                UTF-8 with ``surrogateescape``, so every byte stays recoverable.
            query: what the model is looking for; matching lines and records are kept.
            kind: force a kind instead of detecting it.
            budget: share of tokens to keep (0 < budget <= 1), None for the kind's default.
            retrievable: whether the model can call ``headroom_retrieve``; when False, markers name
                no tool and the caller recovers originals through ``Compressed.ref``.
            model: the model that will read the text, for its tokenizer and the ledger.
            path: a file name the text came from, a hint for detecting code.

        Returns:
            The compressed text, or the original with ``outcome`` saying why it was kept.

        Raises:
            ConfigError: ``kind`` or ``budget`` is invalid.
        """
        return self._pipeline.compress(text, query, kind, budget, retrievable, model=model, path=path)

    async def acompress_text(
        self,
        text: str | bytes,
        query: str | None = None,
        kind: Kind | None = None,
        budget: float | None = None,
        retrievable: bool = True,
        *,
        model: str | None = None,
        path: str | None = None,
    ) -> Compressed:
        """``compress_text`` on a worker thread."""
        return await asyncio.to_thread(
            self.compress_text, text, query, kind, budget, retrievable, model=model, path=path
        )

    # --- RAG texts -----------------------------------------------------------------------------------

    def compress_texts(
        self,
        texts: Sequence[str],
        query: str | None = None,
        *,
        budget: float | None = None,
        max_tokens: int | None = None,
        retrievable: bool = True,
        model: str | None = None,
    ) -> list[Compressed]:
        """Compress several texts as one context (RAG chunks retrieved for one question).

        The sentences kept are chosen across all texts under one budget: the chunks that match the query
        best keep the most, a chunk with nothing worth keeping comes back as "" (or, with
        ``retrievable``, as its marker alone), and repeats of earlier chunks go first. Each text is read
        as prose. Texts carrying a marker of ours pass through.

        Args:
            texts: the chunks, most relevant first or in any order.
            query: the question they were retrieved for.
            budget: share of the context's tokens to keep (default a quarter with a query, half without).
            max_tokens: a cap on the tokens kept, whatever the share.
            retrievable: whether the model can call ``headroom_retrieve``: each changed text then ends
                with a marker; without, omissions show as ``…`` and the refs are in ``Compressed.ref``.
            model: the model that will read them, for its tokenizer and the ledger.

        Returns:
            One ``Compressed`` per text, in order.

        Raises:
            ConfigError: ``budget`` or ``max_tokens`` is out of range.
        """
        from ._policy.texts import compress_texts  # on first use: ``import headroom`` stays light

        return compress_texts(self._pipeline, list(texts), query, budget, max_tokens, retrievable, model)

    async def acompress_texts(
        self,
        texts: Sequence[str],
        query: str | None = None,
        *,
        budget: float | None = None,
        max_tokens: int | None = None,
        retrievable: bool = True,
        model: str | None = None,
    ) -> list[Compressed]:
        """``compress_texts`` on a worker thread."""
        return await asyncio.to_thread(
            self.compress_texts,
            texts,
            query,
            budget=budget,
            max_tokens=max_tokens,
            retrievable=retrievable,
            model=model,
        )

    # --- conversations -------------------------------------------------------------------------------

    def compress(
        self,
        messages: Any,
        query: str | None = None,
        model: str | None = None,
        *,
        system: Any = None,
        tools: Any = None,
        retrievable: bool = True,
    ) -> CompressResult:
        """Compress a conversation by policy, returned in the caller's own shape.

        Tool results are compressed (``include_tools`` / ``exclude_tools``), user turns only with
        ``compress_user_messages``, the system prompt and assistant text never. Each tool result is
        compressed with the user turn before it as its query, so an unchanged prefix compresses to the
        same bytes on every request. With ``max_context_tokens``, old tool results become stubs.

        Args:
            messages: OpenAI chat messages, Responses API input items, Anthropic messages, or a string.
            query: use this query for every block instead of each block's own preceding user turn
                (a query that changes between requests then changes earlier blocks too).
            model: the model that will read the messages, for its tokenizer and the ledger.
            system: Anthropic's separate system prompt (string or text blocks), checked for volatile
                content and returned in ``CompressResult.system``.
            tools: the request's tool definitions, checked for volatile content and ordering and
                returned in ``CompressResult.tools`` (canonical order with ``align_cache``).
            retrievable: whether the model can call ``headroom_retrieve``; when False (an LCEL chain
                without tools), markers and budget stubs name no tool and the refs are only for the
                caller (``CompressResult.refs``).

        Returns:
            A new list (the caller's objects are never changed), token counts, refs, budget flags and
            prompt-cache findings.

        Raises:
            ConfigError: ``messages`` is neither a sequence of messages nor a string.
        """
        try:
            return self._conversations().compress(messages, query, model, system, tools, retrievable)
        except (ConfigError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # the last line of defence: a shape nobody foresaw goes back unchanged
            log.exception("headroom: compressing the conversation failed; returning it unchanged")
            return CompressResult(
                messages=messages, tokens_before=0, tokens_after=0, system=system, tools=tools
            )

    async def acompress(
        self,
        messages: Any,
        query: str | None = None,
        model: str | None = None,
        *,
        system: Any = None,
        tools: Any = None,
        retrievable: bool = True,
    ) -> CompressResult:
        """``compress`` on a worker thread: CPU work and store I/O never block the event loop."""
        return await asyncio.to_thread(
            self.compress, messages, query, model, system=system, tools=tools, retrievable=retrievable
        )

    def compress_tool_result(
        self,
        content: Any,
        tool: str | None = None,
        *,
        arguments: Any = None,
        query: str | None = None,
        is_error: bool = False,
        model: str | None = None,
        retrievable: bool = True,
        fresh: bool = False,
    ) -> CompressResult:
        """One tool result, as it is produced, by the conversation policy: the tool filters, the error
        policy, the memo, and never a ``headroom_retrieve`` result. For adapters that see each result
        once (framework tool hooks).

        Args:
            content: the result: a string, or a list of content parts (text parts are compressed,
                images and other parts kept as they are).
            tool: the tool's name, for ``include_tools`` / ``exclude_tools``.
            arguments: the call's arguments (a dict or JSON string); a file path in them helps detect code.
            query: what the model is looking for, usually the newest user message.
            is_error: the tool reported an error: its error text stays verbatim.
            model: the model that will read the result, for its tokenizer and the ledger.
            retrievable: whether the model can call ``headroom_retrieve``.
            fresh: apply the freshness rule to it as the newest result: one of up to
                ``fresh_max_tokens`` tokens (or a file read, as big as it is) is sent whole, compressed
                only into the memo for when it ages (for hooks that see a result once, as it arrives).

        Returns:
            ``messages`` is the new content (the very object given when nothing changed); token counts
            are the result's own.

        Raises:
            ConfigError: ``content`` is neither a string nor a list.
        """
        return self._conversations().compress_tool_result(
            content, tool, arguments, query, is_error, model, retrievable, fresh
        )

    # --- retrieval -----------------------------------------------------------------------------------

    def retrieve(
        self,
        ref: str,
        query: str | None = None,
        *,
        offset: int = 0,
        lines: str | tuple[int, int | None] | None = None,
    ) -> str:
        """The original behind ``ref``; with ``query``, ``offset`` or ``lines``, one page of it.

        Args:
            ref: the ref from a marker.
            query: words every returned line (JSON: record) must contain; matches come best first.
            offset: matches (without a query: lines) to skip; each page names its next offset.
            lines: a 1-based inclusive range of the original's lines, ``"120-180"``, ``"120-"`` or
                ``(120, 180)``; with a query, only matches within it.

        Every call is a ledger event (``found``, ``not_found``, or ``failed`` when the store fails).

        Raises:
            RefNotFound: the ref is unknown or expired (the message is written for the model).
            StoreError: the store cannot be read.
            ValueError: ``offset`` is negative or ``lines`` is not a range.
        """
        from ._retrieve import retrieve  # on first use: ``import headroom`` stays light

        return retrieve(self._pipeline, ref, query, offset, lines)

    def stats(
        self, since: float | None = None, source: str | None = None, *, panels: bool = False
    ) -> dict[str, object]:
        """The ``headroom stats --json`` figures of this engine's ledger (every source on this store):
        events after ``since`` (unix time) from ``source`` (all when None). ``panels``: with the
        dashboard's breakdowns too, under ``panels`` (``by`` source, model, kind and tool,
        ``retrievals`` by kind and tool, ``sources``).

        Raises:
            HeadroomError: the ledger or the price table cannot be read.
        """
        from ._stats import perf  # on first use: ``import headroom`` stays light
        from ._stats.read import ledger_for

        if self.ledger is not None:
            self.ledger.flush()  # what this process recorded counts too
        with ledger_for(self.config.store) as (db, _, prices):
            figures = perf.stats(db, prices, since, source).as_json()
            if panels:
                figures["panels"] = perf.panels(db, prices, since, source)
            return figures

    def stats_history(
        self, bucket: str = "hour", since: float | None = None, source: str | None = None,
        by: str | None = None,
    ) -> list[dict[str, object]]:  # fmt: skip
        """The ``stats`` figures over time: per ``bucket`` (``hour``, ``day`` or ``week``, UTC) of
        events after ``since`` from ``source``, the blocks' tokens before and after and the proxy's
        requests (``{"start", "blocks", "tokens_before", "tokens_after", "requests",
        "request_tokens_before", "request_tokens_after"}``), oldest first. ``by`` (``source``,
        ``model``, ``kind`` or ``tool``) splits each bucket into one row per group (its name in ``group``).

        Raises:
            ConfigError: ``bucket`` is not ``hour``, ``day`` or ``week``, or ``by`` is not a group.
            HeadroomError: the ledger cannot be read.
        """
        from ._stats.perf import history
        from ._stats.read import ledger_for

        if self.ledger is not None:
            self.ledger.flush()
        with ledger_for(self.config.store) as (db, _, _prices):
            return history(db, bucket, since, source, by)

    def retrieve_tool(self, format: ToolFormat = "openai") -> dict[str, Any]:
        """The ``headroom_retrieve`` tool definition for ``format`` (see ``headroom.retrieve_tool``)."""
        return retrieve_tool(format)

    def answer_tool_call(self, arguments: Mapping[str, Any] | str | None) -> str:
        """The text to return for a ``headroom_retrieve`` call: the content, or a message for the model.

        Never raises: unknown refs, bad arguments and store failures become messages the model can act on.
        """
        from ._retrieve import answer_tool_call  # on first use: ``import headroom`` stays light

        return answer_tool_call(self._pipeline, arguments)
