"""``Headroom``: the facade every adapter, the proxy and the CLI go through.

``compress_text`` runs one block through detect -> compressor -> store, and never raises for what
the text contains: anything that goes wrong passes the original through, logged and counted in
``Headroom.outcomes``. The original is stored before a compressed text is returned, so a marker
always points at something retrievable; when the store fails, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ._compressors import Job, compressor_for
from ._config import Config
from ._detect import detect
from ._errors import ConfigError, HeadroomError, RefNotFound, StoreError
from ._ledger import FAILED, FOUND, NOT_FOUND, Ledger
from ._markers import Marker, make_ref, marker_refs, normalize_ref
from ._memo import Memo
from ._prefix import PrefixWatch
from ._recorder import Recorder, Trace
from ._split import Part, split_mixed
from ._store import Original, Store, open_store
from ._tokens import Tokenizer, encoding_for_model, get_tokenizer
from ._tool import parse_arguments, retrieve_tool
from ._types import KINDS, Compressed, CompressResult

if TYPE_CHECKING:
    from ._conversation import Done

log = logging.getLogger("headroom")

SOURCES = ("library", "langchain", "agno", "llamaindex", "proxy", "cli")
# Above this size the original's tokens are counted on a second thread while Python compresses:
# tiktoken releases the GIL, so the two overlap on a multi-core machine.
_PARALLEL_COUNT_CHARS = 8_192

_STORE_RETRY_SECONDS = 10.0  # after a failed open, the store is tried again after this long

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _counter_pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="headroom-count")
        return _executor


class _BadInput(Exception):
    """The input cannot be compressed safely (nested too deeply): it passes through as ``bad_input``."""


class Headroom:
    """Compresses what an agent reads and keeps every original retrievable.

    Args:
        config: settings; ``Config()`` (defaults and ``HEADROOM_*`` variables) when None.
        source: who is calling, tagged on every ledger event: ``library``, ``langchain``, ``agno``,
            ``llamaindex``, ``proxy`` or ``cli``.
    """

    def __init__(self, config: Config | None = None, *, source: str = "library") -> None:
        if source not in SOURCES:
            raise ConfigError(f"source {source!r} is unknown; use one of {', '.join(SOURCES)}")
        self.config = config if config is not None else Config()
        self.source = source
        self.outcomes: Counter[str] = Counter()
        # conversation memos: a re-sent history costs a hash and a lookup per block (see _conversation)
        self._memo: Memo[Done] = Memo(max_entries=8192, max_size=64 << 20)
        self._counts: Memo[int] = Memo(max_entries=65536, max_size=65536)
        self._prefix = PrefixWatch()
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._store_failure: tuple[float, StoreError] | None = None  # (when, why) the last open failed
        self.events = Recorder(self.config, source)

    # --- the store -----------------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store of originals, opened on first use.

        Raises:
            StoreError: it cannot be opened.
        """
        with self._store_lock:
            if self._store is None:
                failed = self._store_failure
                if failed is not None and time.monotonic() - failed[0] < _STORE_RETRY_SECONDS:
                    raise failed[1]  # a store that is down is not dialled again for every block
                try:
                    self._store = open_store(
                        self.config.store,
                        ttl_seconds=self.config.ttl_seconds,
                        max_store_bytes=self.config.max_store_bytes,
                    )
                except StoreError as exc:
                    self._store_failure = (time.monotonic(), exc)
                    raise
                self._store_failure = None
            return self._store

    def close(self) -> None:
        """Write the ledger's pending events and close the store's and the ledger's connections."""
        self.events.close()
        with self._store_lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    @property
    def ledger(self) -> Ledger | None:
        """The stats ledger (``ledger.db`` beside the store), None when ``config.ledger`` is off."""
        return self.events.ledger

    # --- compressing one text ------------------------------------------------------------------------

    def tokenizer(self, model: str | None = None) -> Tokenizer:
        """The tokenizer used for counts: ``model``'s own encoding when known, else ``config.tokenizer``."""
        return get_tokenizer(encoding_for_model(model, self.config.tokenizer))

    def compress_text(
        self,
        text: str | bytes,
        query: str | None = None,
        kind: str | None = None,
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
        started = time.perf_counter()
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        if kind is not None and kind not in KINDS[:-1]:
            raise ConfigError(f"kind {kind!r} is unknown; use one of {', '.join(KINDS[:-1])}")
        if budget is not None and not 0 < budget <= 1:
            raise ConfigError(f"budget must be in (0, 1], got {budget!r}")
        tokenizer = self.tokenizer(model)
        trace = Trace()
        try:
            result = self._compress_text(text, query, kind, budget, retrievable, tokenizer, path, trace)
        except Exception as exc:  # the last line of defence: the caller always gets its text back
            log.exception("headroom: compression failed; passing the text through unchanged")
            trace.error = type(exc).__name__
            result = self._unchanged(text, kind or "text", None, tokenizer.count(text), "error", tokenizer)
        self.outcomes[result.outcome] += 1
        if self.config.ledger:
            self.events.compressed(result, model, trace, (time.perf_counter() - started) * 1000)
        return result

    async def acompress_text(
        self,
        text: str | bytes,
        query: str | None = None,
        kind: str | None = None,
        budget: float | None = None,
        retrievable: bool = True,
        *,
        model: str | None = None,
        path: str | None = None,
    ) -> Compressed:
        """``compress_text`` on a worker thread, so an event loop is never blocked."""
        return await asyncio.to_thread(
            self.compress_text, text, query, kind, budget, retrievable, model=model, path=path
        )

    @staticmethod
    def _unchanged(
        text: str, kind: str, language: str | None, tokens: int, outcome: str, tokenizer: Tokenizer
    ) -> Compressed:
        return Compressed(text, kind, language, tokens, tokens, None, (), outcome, not tokenizer.exact)

    def _compress_text(
        self,
        text: str,
        query: str | None,
        kind: str | None,
        budget: float | None,
        retrievable: bool,
        tokenizer: Tokenizer,
        path: str | None,
        trace: Trace,
    ) -> Compressed:
        detected = detect(text, path) if kind is None else None
        kind = kind or detected.kind  # type: ignore[union-attr]
        language = detected.language if detected is not None else None
        counting: Future[int] | None = None
        if len(text) > _PARALLEL_COUNT_CHARS:
            counting = _counter_pool().submit(tokenizer.count, text)
            tokens_before = -1
        else:
            tokens_before = tokenizer.count(text)
            if tokens_before < self.config.min_tokens:
                return self._unchanged(text, kind, language, tokens_before, "below_min_tokens", tokenizer)

        if self._already_compressed(text):  # never compress twice, whichever kind (parts included)
            tokens = counting.result() if counting is not None else tokens_before
            return self._unchanged(text, kind, language, tokens, "already_compressed", tokenizer)
        whole = make_ref(text)
        parts = split_mixed(text, kind) if kind in ("text", "log") else None
        output: str | None
        if parts is not None:
            trace.compressor = "mixed"
            output, refs = self._compress_parts(parts, query, budget, retrievable, tokenizer)
            kind, language = "mixed", None
            if not refs:
                output = None
        elif compressor_for(kind) is None:
            output, refs = None, []
        else:
            trace.compressor = kind
            job = Job(text, query, budget, Marker(whole, retrievable), language)
            try:
                output = self._run(kind, job)
            except _BadInput:
                tokens = counting.result() if counting is not None else tokens_before
                return self._unchanged(text, kind, language, tokens, "bad_input", tokenizer)
            refs = [whole] if output is not None else []

        if counting is not None:
            tokens_before = counting.result()
            if tokens_before < self.config.min_tokens:
                return self._unchanged(text, kind, language, tokens_before, "below_min_tokens", tokenizer)
        if output is None:
            outcome = "not_compressible" if compressor_for(kind) or kind == "mixed" else "unsupported_kind"
            return self._unchanged(text, kind, language, tokens_before, outcome, tokenizer)
        tokens_after = tokenizer.count(output)
        if tokens_after > tokens_before * (1 - self.config.min_saving):
            trace.attempt_tokens = tokens_after
            return self._unchanged(text, kind, language, tokens_before, "below_min_saving", tokenizer)
        if not self._keep(whole, text, kind):
            return self._unchanged(text, kind, language, tokens_before, "store_failed", tokenizer)
        all_refs = tuple(dict.fromkeys([whole, *refs]))
        return Compressed(output, kind, language, tokens_before, tokens_after, whole, all_refs,
                          "compressed", not tokenizer.exact)  # fmt: skip

    def _run(self, kind: str, job: Job) -> str | None:
        """The compressor's output, or None when it cannot help.

        Raises:
            _BadInput: the input is nested too deeply to compress.
        """
        compressor = compressor_for(kind)
        if compressor is None:
            return None
        try:
            output = compressor(job)
        except RecursionError:
            log.warning("headroom: %s input nested too deeply to compress; passed through", kind)
            raise _BadInput(kind) from None
        if output is not None and output == job.text:
            return None
        return output

    def _compress_parts(
        self,
        parts: list[Part],
        query: str | None,
        budget: float | None,
        retrievable: bool,
        tokenizer: Tokenizer,
    ) -> tuple[str, list[str]]:
        """Compress each part of mixed content on its own; store each part that changed."""
        out: list[str] = []
        refs: list[str] = []
        for part in parts:
            if part.kind is None or compressor_for(part.kind) is None:
                out.append(part.text)
                continue
            if tokenizer.count(part.text) < self.config.min_tokens:
                out.append(part.text)
                continue
            ref = make_ref(part.text)
            body = part.text.rstrip("\n")
            job = Job(body, query, budget, Marker(ref, retrievable), part.language)
            try:
                output = self._run(part.kind, job)
            except _BadInput:
                output = None  # one part too deeply nested: it stays as it is, the others are compressed
            if output is None or not self._keep(ref, part.text, part.kind):
                out.append(part.text)
                continue
            out.append(output + part.text[len(body) :])
            refs.append(ref)
        return "".join(out), refs

    def _already_compressed(self, text: str) -> bool:
        """Whether ``text`` carries a marker of ours whose ref the store holds (never compress twice)."""
        refs = marker_refs(text)
        if not refs:
            return False
        try:
            return any(self.store.contains(ref) for ref in refs)
        except StoreError:
            log.warning("headroom: store unavailable while checking markers", exc_info=True)
            return True  # cannot tell: leave the text alone rather than risk compressing twice

    def _keep(self, ref: str, text: str, kind: str) -> bool:
        """Store the original; False (logged, counted) when the store fails."""
        try:
            self.store.put(ref, Original(text, kind))
        except (StoreError, ConfigError) as exc:
            log.warning("headroom: could not store the original (%s); passing the text through", exc)
            self.outcomes["store_errors"] += 1
            return False
        return True

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
        from ._texts import compress_texts

        return compress_texts(self, list(texts), query, budget, max_tokens, retrievable, model)

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
            self.compress_texts, texts, query, budget=budget, max_tokens=max_tokens, retrievable=retrievable,
            model=model,
        )  # fmt: skip

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
        from ._conversation import compress_messages

        return compress_messages(self, messages, query, model, system, tools, retrievable)

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

        Returns:
            ``messages`` is the new content (the very object given when nothing changed); token counts
            are the result's own.

        Raises:
            ConfigError: ``content`` is neither a string nor a list.
        """
        from ._conversation import compress_tool_result

        return compress_tool_result(self, content, tool, arguments, query, is_error, model, retrievable)

    # --- retrieval -----------------------------------------------------------------------------------

    def retrieve(self, ref: str, query: str | None = None) -> str:
        """The original behind ``ref``, or with ``query`` only its matching lines or records.

        Every call is a ledger event (``found``, ``not_found``, or ``failed`` when the store fails).

        Raises:
            RefNotFound: the ref is unknown or expired (the message is written for the model).
            StoreError: the store cannot be read.
        """
        from ._retrieve import search

        started = time.perf_counter()
        canonical = normalize_ref(ref)
        if canonical is None:
            self.events.retrieved(ref.strip()[:64], query, started, NOT_FOUND, reason="not a ref")
            raise RefNotFound(ref.strip()[:64])
        try:
            original = self.store.get(canonical)
        except HeadroomError as exc:
            self.events.retrieved(canonical, query, started, FAILED, reason=str(exc)[:200])
            raise
        if original is None:
            self.events.retrieved(canonical, query, started, NOT_FOUND, reason="unknown or expired")
            raise RefNotFound(canonical)
        if not query or not query.strip():
            text = original.text
        else:
            text = search(original, query, self.tokenizer().count)
        self.events.retrieved(canonical, query, started, FOUND, original.kind, text)
        return text

    def retrieve_tool(self, format: str = "openai") -> dict[str, Any]:
        """The ``headroom_retrieve`` tool definition for ``format`` (see ``headroom.retrieve_tool``)."""
        return retrieve_tool(format)

    def answer_tool_call(self, arguments: Mapping[str, Any] | str | None) -> str:
        """The text to return for a ``headroom_retrieve`` call: the content, or a message for the model.

        Never raises: unknown refs, bad arguments and store failures become messages the model can act on.
        """
        try:
            ref, query = parse_arguments(arguments)
            return self.retrieve(ref, query)
        except ValueError as exc:
            return str(exc)
        except RefNotFound as exc:
            return str(exc)
        except HeadroomError as exc:
            log.warning("headroom: retrieval failed: %s", exc)
            return f"headroom_retrieve failed ({exc}); call the original tool again"
