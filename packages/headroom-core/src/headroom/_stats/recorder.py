"""Turns what the pipeline and the policies did into ledger events.

One ``Recorder`` per engine: it opens the ledger lazily (``ledger.db`` beside the store), builds one
``Event`` per compression, retrieval, memo hit, policy exclusion, budget decision and proxied request,
and never lets stats break the work they describe: any failure is logged once and swallowed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

from .._config import Config
from .._tokens import get_tokenizer
from .._types import BlockOutcome, Compressed, ResultKind, Source
from .events import (
    BUDGET,
    COMPRESS,
    EXCLUDED,
    OVER_BUDGET,
    REQUEST,
    RETRIEVE,
    STORE_FAILED,
    STUBBED,
    TOOL_CHARS,
    BillingPart,
    Event,
    LedgerOutcome,
    ledger_outcome,
    ledger_path,
)
from .ledger import Ledger
from .money import usage_of

log = logging.getLogger("headroom")

RequestOutcome = Literal["compressed", "forwarded"]

_HELD: ContextVar[list[Event] | None] = ContextVar("headroom_held_events", default=None)
_TOOL: ContextVar[str | None] = ContextVar("headroom_block_tool", default=None)
TOOL_REFS = 65_536  # refs remembered with their tool, for the retrievals of this process (newest kept)


class Trace:
    """What one ``compress_text`` call did beyond its result, for its ledger event."""

    __slots__ = ("attempt_tokens", "compressor", "error")

    def __init__(self, compressor: str | None = None, attempt_tokens: int | None = None) -> None:
        self.compressor = compressor  # the compressor that ran (``mixed`` for mixed content)
        self.attempt_tokens = attempt_tokens  # a discarded output's tokens (saved too little)
        self.error: str | None = None  # the exception a compressor raised


class Recorder:
    """The ledger events of one engine (its ``config`` and ``source``)."""

    def __init__(self, config: Config, source: Source) -> None:
        self.config = config
        self.source: Source = source
        self._ledger: Ledger | None = None
        self._lock = threading.Lock()
        self._warned = False
        self._listeners: tuple[Callable[[Event], None], ...] = ()
        self._tools: dict[str, str] = {}  # ref -> the tool whose result it was compressed from

    @property
    def ledger(self) -> Ledger | None:
        """The ledger, None when ``config.ledger`` is off. Creating it costs no I/O: the file is
        opened by the ledger's writer thread on its first batch."""
        if not self.config.ledger:
            return None
        with self._lock:
            if self._ledger is None:
                self._ledger = Ledger(ledger_path(self.config.store))
            return self._ledger

    def close(self) -> None:
        """Write what is pending and close the ledger."""
        with self._lock:
            ledger, self._ledger = self._ledger, None
        if ledger is not None:
            ledger.close()

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every event from now on, the ledger on or off (the proxy's
        ``/metrics``), on the recording thread: it must be quick; what it raises is logged once."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    @contextmanager
    def held(self) -> Iterator[list[Event]]:
        """Hold what is recorded inside (in this context) in the list it yields, recorded only if
        ``replay``ed: a block compressed but then sent whole (the freshness rule) is counted once, as
        sent, not also as compressed."""
        events: list[Event] = []
        token = _HELD.set(events)
        try:
            yield events
        finally:
            _HELD.reset(token)

    @contextmanager
    def tool(self, name: str | None) -> Iterator[None]:
        """Give the ``compress`` events recorded inside (in this context) the tool ``name``: the
        block being compressed is that tool's result."""
        token = _TOOL.set(name[:TOOL_CHARS] if name else None)
        try:
            yield
        finally:
            _TOOL.reset(token)

    def replay(self, events: list[Event]) -> None:
        """Record events ``held`` back."""
        for event in events:
            self.record(event)

    def record(self, event: Event) -> None:
        """Queue ``event`` (and hand it to the listeners). A no-op when the ledger is off and nothing
        listens; never raises. Inside ``held``, only kept for it; inside ``tool``, a compress event
        gets the tool."""
        tool = _TOOL.get()
        if tool is not None and event.tool is None and event.event == COMPRESS:
            event = dataclasses.replace(event, tool=tool)
        holding = _HELD.get()
        if holding is not None:
            holding.append(event)
            return
        if event.tool is not None and event.ref is not None and event.event == COMPRESS:
            self._remember(event.ref, event.tool)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                if not self._warned:
                    self._warned = True
                    log.warning("headroom: a stats listener failed", exc_info=True)
        if not self.config.ledger:
            return
        try:
            ledger = self._ledger if self._ledger is not None else self.ledger
            if ledger is not None:
                ledger.record(event)
        except Exception:  # stats must never break the work they describe
            if not self._warned:
                self._warned = True
                log.warning("headroom: could not record a stats event", exc_info=True)

    def _remember(self, ref: str, tool: str) -> None:
        with self._lock:
            self._tools.pop(ref, None)
            self._tools[ref] = tool
            if len(self._tools) > TOOL_REFS:
                del self._tools[next(iter(self._tools))]

    def compressed(
        self, result: Compressed, model: str | None, trace: Trace, ms: float, *, cached: bool = False
    ) -> None:
        """One ``compress_text`` call; ``cached``: answered by the shared cache (recorded as a reuse,
        ``memo`` = 1, with ``shared cache`` in its reason)."""
        outcome, reason = ledger_outcome(
            result.outcome,
            kind=result.kind,
            tokens_before=result.tokens_before,
            attempt_tokens=trace.attempt_tokens,
            min_tokens=self.config.min_tokens,
            min_saving=self.config.min_saving,
        )
        if trace.error is not None:
            reason = f"{trace.error} in the compressor (see the log)"
        if cached:
            reason = f"{reason}; shared cache" if reason else "shared cache"
        self.record(
            Event(
                event=COMPRESS,
                source=self.source,
                outcome=outcome,
                reason=reason,
                model=model,
                kind=result.kind,
                compressor=trace.compressor,
                tokens_before=result.tokens_before,
                tokens_after=result.tokens_after,
                ms=ms,
                ref=result.ref,
                memo=cached,
            )
        )

    def retrieved(
        self,
        ref: str,
        query: str | None,
        started: float,
        outcome: LedgerOutcome,
        kind: str | None = None,
        text: str | None = None,
        reason: str = "",
    ) -> None:
        """One retrieval; ``tokens_after`` is the exact token count (``config.tokenizer``) of what was
        returned; ``tool``: the tool whose result ``ref`` was, when this recorder saw it compressed."""
        if not self.config.ledger:
            return
        ms = (time.perf_counter() - started) * 1000
        try:
            tokens = get_tokenizer(self.config.tokenizer).count(text) if text else 0
        except Exception:  # a count must not turn a successful retrieval into a failure
            log.warning("headroom: could not count a retrieval's tokens", exc_info=True)
            tokens = 0
        self.record(
            Event(
                event=RETRIEVE,
                source=self.source,
                outcome=outcome,
                reason=reason,
                kind=kind,
                tokens_after=tokens,
                ms=ms,
                ref=ref,
                has_query=bool(query and query.strip()),
                tool=self._tools.get(ref),
            )
        )

    def memo_hit(
        self,
        outcome: BlockOutcome,
        kind: ResultKind | None,
        tokens_before: int,
        tokens_after: int,
        model: str | None,
        ms: float,
    ) -> None:
        """A conversation block answered from the memo (``outcome`` as the block's policy decided)."""
        recorded: LedgerOutcome
        if outcome == "excluded" or outcome == "error_kept" or outcome == "fresh":
            recorded, reason = EXCLUDED, "error result kept whole" if outcome == "error_kept" else ""
        else:
            recorded, reason = ledger_outcome(
                outcome,
                kind=kind or "text",
                tokens_before=tokens_before,
                attempt_tokens=None,
                min_tokens=self.config.min_tokens,
                min_saving=self.config.min_saving,
            )
        self.record(
            Event(
                event=COMPRESS,
                source=self.source,
                outcome=recorded,
                reason=reason,
                model=model,
                kind=kind,
                tokens_before=tokens_before,
                tokens_after=tokens_after,
                ms=ms,
                memo=True,
            )
        )

    def excluded(self, tokens: int, reason: str, model: str | None) -> None:
        """A conversation block the policy did not compress."""
        self.record(
            Event(
                event=COMPRESS,
                source=self.source,
                outcome=EXCLUDED,
                reason=reason,
                model=model,
                tokens_before=tokens,
                tokens_after=tokens,
            )
        )

    def store_paused(self, reason: str) -> None:
        """The store timed out and is left alone for a while: one event says so (blocks pass through)."""
        self.record(Event(event=COMPRESS, source=self.source, outcome=STORE_FAILED, reason=reason))

    def budget(
        self, before: int, after: int, stubbed: int, over: bool, budget: int, model: str | None
    ) -> None:
        """The token budget stubbed old tool results, or could not be met."""
        reason = f"{stubbed} older tool results stubbed to fit max_context_tokens {budget}"
        if over:
            reason += "; the protected turns alone exceed it"
        self.record(
            Event(
                event=BUDGET,
                source=self.source,
                outcome=OVER_BUDGET if over else STUBBED,
                reason=reason,
                model=model,
                tokens_before=before,
                tokens_after=after,
            )
        )

    def request(
        self,
        outcome: RequestOutcome,
        model: str | None,
        api: str,
        before: int,
        after: int,
        ms: float,
        rounds: int,
        *,
        cold: bool = False,
        shaped: bool = False,
        usage: Any = None,
        bust: str | None = None,
        bust_tokens: int = 0,
        bust_part: BillingPart | None = None,
        bust_reason: str = "",
        ttfb_ms: float | None = None,
    ) -> None:
        """One request through the proxy: ``ms`` is the proxy's own time, not the upstream's; ``api``
        is recorded as the event's kind. ``cold``: the first request its process compressed (it pays
        the imports and caches the rest reuse); ``shaped``: the output shaper was appended;
        ``usage``: the response's ``usage`` object as the provider sent it (any shape; read by
        ``money.usage_of``); ``bust``: the provider re-wrote ``bust_tokens`` of the cached prefix,
        billed as ``bust_part``, because we (``ours``) or the client (``client``: ``bust_reason``
        names what changed) changed it; ``ttfb_ms``: what the proxy added to the client's time to
        first byte (None: not measured)."""
        billed = usage_of(usage)
        notes = [f"retrieval rounds: {rounds}", *(["cold start"] if cold else []),
                 *(["output shaper"] if shaped else []),
                 *([f"bust: {bust_reason or bust}"] if bust else [])]  # fmt: skip
        self.record(
            Event(
                event=REQUEST,
                source=self.source,
                outcome=outcome,
                reason="; ".join(notes),
                model=model,
                kind=api,
                tokens_before=before,
                tokens_after=after,
                ms=ms,
                usage_uncached=None if billed is None else billed.uncached,
                usage_cache_read=None if billed is None else billed.cache_read,
                usage_write_5m=None if billed is None else billed.write_5m,
                usage_write_1h=None if billed is None else billed.write_1h,
                bust=bust,
                bust_tokens=bust_tokens if bust else 0,
                bust_part=bust_part if bust else None,
                ttfb_ms=ttfb_ms,
            )
        )
