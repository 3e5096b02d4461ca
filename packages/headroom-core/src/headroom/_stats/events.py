"""The ledger's vocabulary: the ``Event`` row, its event types and outcomes, and where the file lives.

Kept apart from the writer (``ledger``) and the SQLite schema (``db``), so whatever records or reads
events (the recorder, the reports, the proxy through ``headroom.integration``) shares one definition
without importing either.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from .._store import beside_store
from .._types import Outcome, Source

EventType = Literal["compress", "retrieve", "budget", "request"]
LedgerOutcome = Literal[
    "compressed", "too_small", "low_saving", "excluded", "bad_input", "timed_out", "store_failed",  # compress
    "failed",
    "found", "not_found",  # retrieve (a store error while retrieving is "failed")
    "forwarded",  # request (or "compressed")
    "stubbed", "over_budget",  # budget
]  # fmt: skip

COMPRESS: Final = "compress"
RETRIEVE: Final = "retrieve"
BUDGET: Final = "budget"
REQUEST: Final = "request"

# compress outcomes
COMPRESSED: Final = "compressed"  # the compressed text was used
TOO_SMALL: Final = "too_small"  # under min_tokens: not worth compressing
LOW_SAVING: Final = "low_saving"  # the compressor ran, but saved less than min_saving (or nothing)
EXCLUDED: Final = "excluded"  # never compressed on purpose (policy, tool globs, already compressed)
BAD_INPUT: Final = "bad_input"  # the input could not be parsed safely (nested too deeply); passed through
TIMED_OUT: Final = "timed_out"  # the compressor ran past Config.time_budget; passed through
STORE_FAILED: Final = "store_failed"  # the original could not be stored, so nothing was dropped
FAILED: Final = "failed"  # a compressor raised; the original passed through (see the log)
COMPRESS_OUTCOMES: tuple[LedgerOutcome, ...] = (
    COMPRESSED, TOO_SMALL, LOW_SAVING, EXCLUDED, BAD_INPUT, TIMED_OUT, STORE_FAILED, FAILED,
)  # fmt: skip

# retrieve outcomes (a store error while retrieving is recorded as FAILED)
FOUND: Final = "found"
NOT_FOUND: Final = "not_found"
# request outcomes (the proxy: one event per request, beside its blocks' compress events)
FORWARDED: Final = "forwarded"  # sent on as it came: nothing to compress, bypassed, or not parseable
# budget outcomes
STUBBED: Final = "stubbed"  # older tool results replaced by stubs to fit max_context_tokens
OVER_BUDGET: Final = "over_budget"  # the protected part alone exceeds max_context_tokens

# who changed a request's cached prefix when the provider's cache missed part of it (``bust``)
OURS: Final = "ours"  # the prefix we sent changed where the client's did not (a budget or policy step)
CLIENT: Final = "client"  # the client's own prefix changed (system prompt, tools, an earlier message)
BillingPart = Literal["write_5m", "write_1h", "uncached"]
TOOL_CHARS: Final = 128  # a tool's name as recorded (the client names its tools)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One row of the ledger.

    Attributes:
        event: ``compress``, ``retrieve``, ``budget`` or ``request`` (a proxied request: its whole
            conversation's tokens before and after, the proxy's own time in ``ms``, and in ``reason``
            ``retrieval rounds: N``, then ``; cold start`` for the first request a proxy process
            compressed and ``; output shaper`` when the shaper was appended).
        source: who called: ``library``, ``langchain``, ``agno``, ``llamaindex``, ``proxy`` or ``cli``.
        outcome: one of the outcome constants of this module.
        reason: why, for people (``212 tokens < min_tokens 300``); empty when there is nothing to say.
        model: the model that reads the text, when known (prices and per-model figures).
        kind: ``json``, ``log``, ... (for a retrieval, the kind of the original).
        compressor: the compressor that ran (``mixed`` for mixed content), None when none did.
        tokens_before: tokens of the original (compress, budget).
        tokens_after: tokens the model reads instead (compress, budget); for a retrieval, the tokens of
            the text returned to the model, counted exactly with the default tokenizer.
        ms: wall time of the call on the caller's thread, in milliseconds.
        ref: the ref of the original (compress: when something was dropped; retrieve: the ref asked).
        has_query: a retrieval with a query (only the matching lines or records were returned).
        memo: a reuse: the block's earlier compression came from the conversation memo, or from the
            shared cache (then ``reason`` ends with ``shared cache``), and was not recomputed.
        time: unix time of the event.
        usage_uncached, usage_cache_read, usage_write_5m, usage_write_1h: a proxied request's prompt as
            the provider billed it (its response's ``usage``, summed over retrieval rounds), None when
            the response reported none (``_stats.money``).
        bust, bust_tokens, bust_part: a proxied request whose provider cache read less than the
            previous request of its conversation had cached, with the prefix changed by us (``ours``)
            or by the client (``client``; ``reason`` names what changed): the tokens written again,
            and how they were billed (``write_5m``, ``write_1h``, or ``uncached`` without writes).
        ttfb_ms: a proxied request's time to first byte added by the proxy: from its arrival to the
            client's first byte, less the provider's own time to first byte on the first round
            (retrieval rounds before the client's first byte count as added); None if not measured.
        tool: the tool whose result the block was (compress), or whose result the retrieved original
            was (retrieve: known when this process compressed it); None for other text.
    """

    event: EventType
    source: Source
    outcome: LedgerOutcome
    reason: str = ""
    model: str | None = None
    kind: str | None = None
    compressor: str | None = None
    tokens_before: int = 0
    tokens_after: int = 0
    ms: float = 0.0
    ref: str | None = None
    has_query: bool = False
    memo: bool = False
    time: float = field(default_factory=_time.time)
    usage_uncached: int | None = None
    usage_cache_read: int | None = None
    usage_write_5m: int | None = None
    usage_write_1h: int | None = None
    bust: str | None = None
    bust_tokens: int = 0
    bust_part: BillingPart | None = None
    tool: str | None = None
    ttfb_ms: float | None = None


def ledger_outcome(
    outcome: Outcome, *, kind: str, tokens_before: int, attempt_tokens: int | None, min_tokens: int,
    min_saving: float,
) -> tuple[LedgerOutcome, str]:  # fmt: skip
    """The ledger outcome and a reason for one of the engine's ``Compressed.outcome`` values.

    Args:
        outcome: ``Compressed.outcome``.
        kind: the kind of the text.
        tokens_before: tokens of the original.
        attempt_tokens: tokens of the compressor's output when it was discarded for saving too
            little, else None.
        min_tokens: ``Config.min_tokens`` at the time.
        min_saving: ``Config.min_saving`` at the time.

    Returns:
        ``(ledger outcome, reason)``.
    """
    if outcome == "compressed":
        return COMPRESSED, ""
    if outcome == "below_min_tokens":
        return TOO_SMALL, f"{tokens_before} tokens < min_tokens {min_tokens}"
    if outcome == "below_min_saving":
        if attempt_tokens is not None and tokens_before > 0:
            saved = 1 - attempt_tokens / tokens_before
            return LOW_SAVING, f"saved {saved:.0%} < min_saving {min_saving:.0%}"
        return LOW_SAVING, f"saved less than min_saving {min_saving:.0%}"
    if outcome == "not_compressible":
        return LOW_SAVING, "nothing the compressor could drop"
    if outcome == "unsupported_kind":
        return EXCLUDED, f"no compressor for {kind}"
    if outcome == "already_compressed":
        return EXCLUDED, "already carries a headroom marker"
    if outcome == "store_failed":
        return STORE_FAILED, "the store could not keep the original"
    if outcome == "bad_input":
        return BAD_INPUT, "nested too deeply"
    if outcome == "timed_out":
        return TIMED_OUT, "over the time budget"
    return FAILED, "the compressor raised (see the log)"  # "error"


def ledger_path(store_url: str) -> Path:
    """Where the ledger of ``Config.store`` lives: ``ledger.db`` beside the store (``beside_store``)."""
    return beside_store(store_url, "ledger.db")
