"""The one source of configuration: a frozen dataclass whose defaults come from ``HEADROOM_*`` variables.

``Config()`` reads the environment when it is created; explicit arguments win over the environment,
and the environment wins over the documented defaults. An invalid variable raises ``ConfigError``
naming the variable, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ._errors import ConfigError

T = TypeVar("T")

MIN_TIME_BUDGET = 0.5  # seconds: the least any compression is given (small inputs, cold imports)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")


_VIEW_TURNS: int | None = 25
_ALL_TOOLS: tuple[str, ...] = ("*",)
_NO_TOOLS: tuple[str, ...] = ()


def _parse_globs(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_optional_int(raw: str) -> int | None:
    return None if raw.strip().lower() in {"", "none", "off"} else int(raw)


def _env(name: str, parse: Callable[[str], T], default: T) -> Callable[[], T]:
    """A default factory reading ``HEADROOM_<NAME>``, falling back to ``default`` when unset."""
    var = f"HEADROOM_{name}"

    def factory() -> T:
        raw = os.environ.get(var)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{var}={raw!r} is invalid ({exc}); fix or unset it") from exc

    return factory


@dataclass(frozen=True)
class Config:
    """Every setting of headroom, with the defaults documented in ARCHITECTURE.md.

    Attributes:
        store: where originals are kept: ``memory``, ``sqlite`` (the user data dir),
            ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``redis://host:port/db``.
        ttl_seconds: how long an original is kept after it was stored; 0 keeps it until evicted.
        max_store_bytes: size cap of the store; least recently used originals go first.
        min_tokens: blocks smaller than this pass through untouched.
        min_saving: a result saving less than this share is discarded for the original.
        include_tools: globs of tool names whose results may be compressed.
        exclude_tools: globs of tool names whose results are never compressed.
        compress_user_messages: also compress long user turns (pastes, RAG context).
        max_context_tokens: conversation token budget, off when None.
        keep_last_turns: turns the budget policy never touches.
        tokenizer: tiktoken encoding for counts (a model's own encoding wins when a model is given).
        ledger: record stats events.
        align_cache: move volatile lines (timestamps, ids) of the system prompt to the newest user
            turn and put tool definitions in canonical order, so providers' prompt caches keep hitting.
        time_budget: CPU seconds one compression may use per MB of its input (never less than
            ``MIN_TIME_BUDGET``); past it the text passes through unchanged (``timed_out``). 0: no budget.
        fresh_turns: a tool result is sent whole for at least this many turns (model steps) after it
            arrived, then compressed; 0 compresses every result as soon as it arrives.
        fresh_batch: results age out in batches of at least this many turns, so the prompt cache's
            prefix changes once every ``fresh_batch`` turns at most.
        fresh_batch_tokens: and only when the batch saves at least this many tokens (rewriting the
            cached prefix after it must pay).
        view_turns: a file read (a call naming a file) stays whole this many turns instead of
            ``fresh_turns``; None: for the whole conversation (agents edit lines they read long ago).
        fresh_max_tokens: a tool result larger than this is compressed at once, fresh or not.
        offload_chars: texts of at least this many characters are compressed in worker processes
            (at most two), so the caller's other threads keep running and a big text's segments run
            in parallel. 0: every compression in the calling thread.
        cache_bytes: size bound of the shared compression cache (``cache.db`` beside the store), where
            every process of the user finds the results another compressed; 0 turns it off. It is off
            for the ``memory`` store.
    """

    store: str = field(default_factory=_env("STORE", str, "sqlite"))
    ttl_seconds: int = field(default_factory=_env("TTL_SECONDS", int, 2_592_000))
    max_store_bytes: int = field(default_factory=_env("MAX_STORE_BYTES", int, 1 << 30))
    min_tokens: int = field(default_factory=_env("MIN_TOKENS", int, 300))
    min_saving: float = field(default_factory=_env("MIN_SAVING", float, 0.15))
    include_tools: tuple[str, ...] = field(default_factory=_env("INCLUDE_TOOLS", _parse_globs, _ALL_TOOLS))
    exclude_tools: tuple[str, ...] = field(default_factory=_env("EXCLUDE_TOOLS", _parse_globs, _NO_TOOLS))
    compress_user_messages: bool = field(default_factory=_env("COMPRESS_USER_MESSAGES", _parse_bool, False))
    max_context_tokens: int | None = field(
        default_factory=_env("MAX_CONTEXT_TOKENS", _parse_optional_int, None)
    )
    keep_last_turns: int = field(default_factory=_env("KEEP_LAST_TURNS", int, 4))
    tokenizer: str = field(default_factory=_env("TOKENIZER", str, "o200k_base"))
    ledger: bool = field(default_factory=_env("LEDGER", _parse_bool, True))
    align_cache: bool = field(default_factory=_env("ALIGN_CACHE", _parse_bool, False))
    time_budget: float = field(default_factory=_env("TIME_BUDGET", float, 1.0))
    offload_chars: int = field(default_factory=_env("OFFLOAD_CHARS", int, 1 << 20))
    fresh_turns: int = field(default_factory=_env("FRESH_TURNS", int, 5))
    fresh_batch: int = field(default_factory=_env("FRESH_BATCH", int, 10))
    fresh_batch_tokens: int = field(default_factory=_env("FRESH_BATCH_TOKENS", int, 5000))
    view_turns: int | None = field(default_factory=_env("VIEW_TURNS", _parse_optional_int, _VIEW_TURNS))
    fresh_max_tokens: int = field(default_factory=_env("FRESH_MAX_TOKENS", int, 8000))
    cache_bytes: int = field(default_factory=_env("CACHE_BYTES", int, 256 << 20))

    def __post_init__(self) -> None:
        checks = [
            (self.ttl_seconds >= 0, "ttl_seconds must be >= 0"),
            (self.max_store_bytes > 0, "max_store_bytes must be > 0"),
            (self.min_tokens >= 0, "min_tokens must be >= 0"),
            (0 <= self.min_saving < 1, "min_saving must be in [0, 1)"),
            (self.keep_last_turns >= 0, "keep_last_turns must be >= 0"),
            (
                self.max_context_tokens is None or self.max_context_tokens > 0,
                "max_context_tokens must be > 0",
            ),
            (bool(self.store.strip()), "store must not be empty"),
            (0 <= self.time_budget < float("inf"), "time_budget must be a number of seconds >= 0"),
            (self.offload_chars >= 0, "offload_chars must be >= 0"),
            (self.fresh_turns >= 0, "fresh_turns must be >= 0"),
            (self.fresh_batch >= 1, "fresh_batch must be >= 1"),
            (self.fresh_batch_tokens >= 0, "fresh_batch_tokens must be >= 0"),
            (self.view_turns is None or self.view_turns >= 0, "view_turns must be >= 0"),
            (self.fresh_max_tokens >= 0, "fresh_max_tokens must be >= 0"),
            (self.cache_bytes >= 0, "cache_bytes must be >= 0 (0 turns the cache off)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        # Tuples keep the dataclass hashable and frozen even when lists are passed in.
        object.__setattr__(self, "include_tools", tuple(self.include_tools))
        object.__setattr__(self, "exclude_tools", tuple(self.exclude_tools))
