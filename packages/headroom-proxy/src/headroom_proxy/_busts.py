"""Cache busts: which requests made the provider write again a prefix it had cached, and whose doing.

After each response the proxy keeps, per conversation (credential, API and the client's history: a
``Thread`` key), what the request sent as digests, once as the client sent it and once as it went
upstream: the system prompt, the tools, then each message (a running digest, ``prefix_digests``), and
how many prompt tokens the provider then held cached (read plus written). The next request of the
conversation (its history starts with that one's) is compared with it:

- the provider read less than was cached: that many tokens were written again (``tokens``, at most
  what this request did not read), billed as its writes were (``part``);
- what went upstream first differed before (or where) what the client sent did not: **ours** (a block
  we rewrote: a token-budget step, a result compressed once it aged, the retrieve tool added);
- else the client's (``client``), named: the system prompt or the tools (with the volatile content
  the prefix checks found) or the first message that changed;
- nothing changed: the cache expired or was evicted, nobody's bust, not counted.

It runs in the request's background task, after the response has gone out: no added latency.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from headroom.integration import BillingPart, Usage, usage_of

from ._state import Thread, canonical, prefix_digests

LOOKBACK = 64  # history lengths looked up for the previous request, longest first
_HEAD = 2  # the system prompt and the tools come first in the prefix, then the messages


@dataclass(frozen=True)
class Bust:
    """One request's cache bust: who changed the prefix, the tokens written again, their billing."""

    who: str  # ``ours`` or ``client``
    tokens: int
    part: BillingPart
    named: str  # what changed: ``system prompt (timestamp)``, ``tools``, ``message 3``


def _digest(value: Any) -> str:
    return hashlib.blake2b(canonical(value), digest_size=8).hexdigest()


def sequence(body: dict[str, Any], messages: list[Any]) -> list[str]:
    """The prefix of a request as digests: its system prompt (Anthropic's ``system``, Responses'
    ``instructions``), its tools, then its history (``messages``) through each message."""
    running = [digest.hex()[:16] for _, digest in prefix_digests(messages)][1:]
    return [_digest([body.get("system"), body.get("instructions")]), _digest(body.get("tools")), *running]


def diverges(before: list[str], now: list[str]) -> int | None:
    """The first position where ``now`` differs from ``before`` within ``before``, None when
    ``before`` is a prefix of it."""
    for position, (old, new) in enumerate(zip(before, now, strict=False)):
        if old != new:
            return position
    return None if len(now) >= len(before) else len(now)


def _named(position: int, volatile: tuple[Any, ...]) -> str:
    if position >= _HEAD:
        return f"message {position - _HEAD}"
    where = "system" if position == 0 else "tool"
    found = sorted({v.what for v in volatile if str(v.where).startswith(where)})
    name = "system prompt" if position == 0 else "tools"
    return f"{name} ({', '.join(found)})" if found else name


def attribute(previous: dict[str, Any], sent_in: list[str], sent_out: list[str], usage: Usage,
              volatile: tuple[Any, ...] = ()) -> Bust | None:  # fmt: skip
    """The bust of a request that sent ``sent_in`` (the client's prefix) as ``sent_out`` and was
    billed ``usage``, after ``previous`` (its conversation's last record), or None."""
    cached = previous.get("cached")
    if not isinstance(cached, int) or cached <= 0:
        return None
    written = min(cached - usage.cache_read, usage.prompt - usage.cache_read)
    if written <= 0:
        return None
    theirs = diverges(list(previous.get("in") or ()), sent_in)
    ours = diverges(list(previous.get("out") or ()), sent_out)
    if ours is None:
        return None  # what went upstream kept its prefix: the cache expired or was evicted
    part: BillingPart = ("write_1h" if usage.write_1h and not usage.write_5m
                         else "write_5m" if usage.write_5m else "uncached")  # fmt: skip
    if theirs is None or ours < theirs:
        return Bust("ours", written, part, _named(ours, ()))
    return Bust("client", written, part, _named(theirs, volatile))


def track(thread: Thread, api: str, sent_in: list[str], sent_out: list[str], usage_reported: Any,
          volatile: tuple[Any, ...] = ()) -> Bust | None:  # fmt: skip
    """Compare this request with its conversation's previous one (``attribute``) and keep its own
    record for the next (blocking: the store; call it after the response has gone out)."""
    usage = usage_of(usage_reported)
    messages = len(sent_in) - _HEAD
    found: dict[str, Any] | None = None
    for length in range(messages - 1, max(messages - 1 - LOOKBACK, -1), -1):
        key = thread.key(api, "prefix", sent_in[_HEAD + length] if length >= 0 else "", str(length))
        hit = thread.recall([key]).get(key)
        if isinstance(hit, dict):
            found = hit
            break
    bust = attribute(found, sent_in, sent_out, usage, volatile) if found and usage else None
    cached = usage.cache_read + usage.write_5m + usage.write_1h if usage else 0
    last = sent_in[-1] if messages > 0 else ""
    thread.state.keep({thread.key(api, "prefix", last, str(messages - 1)):
                       {"in": sent_in, "out": sent_out, "cached": cached}})  # fmt: skip
    return bust
