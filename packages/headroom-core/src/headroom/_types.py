"""The values headroom returns (``Compressed``, ``CompressResult``, ``Volatile``) and its vocabularies.

Every fixed vocabulary is a ``Literal`` alias, so mypy catches a misspelt kind, outcome, source or tool
format wherever one is written; the tuples beside them are the same values for runtime checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal[
    "json", "log", "search", "code", "diff", "git", "listing", "tests", "diagnostics", "html", "text"
]
"""What a text is, as detection (or ``kind=``) decides: each kind has its own compressor."""
ResultKind = Literal[
    "json", "log", "search", "code", "diff", "git", "listing", "tests", "diagnostics", "html", "text", "mixed"
]
"""``Kind``, or ``mixed``: a text whose parts (fenced blocks, JSON payloads) were compressed one by one."""
KINDS: tuple[Kind, ...] = get_args(Kind)

Outcome = Literal[
    "compressed",
    "below_min_tokens",
    "below_min_saving",
    "unsupported_kind",
    "not_compressible",
    "already_compressed",
    "store_failed",
    "bad_input",
    "timed_out",
    "error",
]
"""Why a ``Compressed`` text looks the way it does (see ``Compressed.outcome``)."""

BlockOutcome = Outcome | Literal["excluded", "error_kept", "fresh"]
"""A conversation block's outcome: an ``Outcome``, or left alone by the policy, its error rule or its
freshness rule (sent whole for now)."""

Source = Literal["library", "langchain", "agno", "llamaindex", "proxy", "cli", "mcp"]
"""Who calls the engine: tagged on every ledger event."""
SOURCES: tuple[Source, ...] = get_args(Source)

ToolFormat = Literal["openai", "openai_responses", "anthropic", "json_schema"]
"""The shapes of the ``headroom_retrieve`` tool definition (see ``retrieve_tool``)."""
TOOL_FORMATS: tuple[ToolFormat, ...] = get_args(ToolFormat)


@dataclass(frozen=True, kw_only=True)
class Compressed:
    """The result of compressing one text.

    Attributes:
        text: what the model should read (the original when nothing could be saved).
        kind: ``json``, ``log``, ``search``, ``code``, ``diff``, ``git``, ``listing``, ``tests``,
            ``diagnostics``, ``html``, ``text`` or ``mixed``.
        language: the programming language for ``code``, else None.
        tokens_before: tokens of the original.
        tokens_after: tokens of ``text``.
        ref: the ref of the whole original when anything was dropped, else None.
        refs: every ref emitted, parts of mixed content included.
        outcome: why the text looks the way it does: ``compressed``, ``below_min_tokens``,
            ``below_min_saving``, ``unsupported_kind``, ``not_compressible``, ``already_compressed``,
            ``store_failed``, ``bad_input`` (nested too deeply to compress safely), ``timed_out`` (over
            ``Config.time_budget``) or ``error``.
        tokens_estimated: True when no exact tokenizer could be loaded and counts are estimates.
    """

    text: str
    kind: ResultKind
    language: str | None = None
    tokens_before: int
    tokens_after: int
    ref: str | None = None
    refs: tuple[str, ...] = ()
    outcome: Outcome = "compressed"
    tokens_estimated: bool = False

    @property
    def tokens_saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def ratio(self) -> float:
        """``tokens_before / tokens_after`` (1.0 when nothing changed)."""
        return self.tokens_before / self.tokens_after if self.tokens_after else 1.0


@dataclass(frozen=True, kw_only=True)
class Volatile:
    """Content of the cached prefix (system prompt, tool definitions) that changes between requests.

    Attributes:
        where: ``system``, ``tool <name>`` or ``tools``.
        what: ``timestamp``, ``date``, ``time``, ``uuid``, ``request id``, ``unix time`` or ``order``.
        sample: the first such value found (``order``: what changed).
        confirmed: True when an earlier request had the same prefix except for this content, so the
            provider's prompt cache really missed; False when it only looks volatile.
    """

    where: str
    what: str
    sample: str
    confirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class CompressResult:
    """The result of compressing a conversation.

    Attributes:
        messages: a new list in the caller's own shape (a string when a string was given).
        tokens_before: tokens of the text content before compression.
        tokens_after: tokens of the text content after compression.
        refs: every ref emitted, in message order.
        over_budget: True when the protected part alone exceeds ``max_context_tokens``.
        stubbed: how many older tool results were replaced by a stub to fit ``max_context_tokens``.
        volatile: content of the system prompt and tools that busts providers' prompt caches.
        system: the separate system prompt (Anthropic), when one was given; moved volatile lines
            are gone from it when ``Config.align_cache`` is on.
        tools: the tool definitions, when given; in canonical order when ``Config.align_cache`` is on.
        fresh: indices of the messages holding a tool result sent whole for now by the freshness rule
            (``Config.fresh_turns``); it is compressed in a later request, once it has aged.
    """

    messages: Any
    tokens_before: int
    tokens_after: int
    refs: tuple[str, ...] = ()
    over_budget: bool = False
    stubbed: int = 0
    volatile: tuple[Volatile, ...] = ()
    system: Any = None
    tools: Any = None
    fresh: tuple[int, ...] = ()
