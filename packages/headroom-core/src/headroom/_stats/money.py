"""What a request cost and what compression saved, at the cache mix the provider reported.

Every response of a provider says how its prompt was billed: Anthropic's ``usage`` splits it into
``input_tokens`` (after the last cache breakpoint), ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` (``cache_creation``: the 5-minute and 1-hour writes); OpenAI's
``prompt_tokens_details.cached_tokens`` (chat) or ``input_tokens_details.cached_tokens`` (responses)
is the cached part of ``prompt_tokens`` / ``input_tokens``. ``usage_of`` reads either into one
``Usage``.

The definitions (``request_money``), one implementation for the stats, perf and the dashboard:

- billed: each part of the prompt at its own rate (uncached, cache read, 5-minute write, 1-hour write:
  ``Rates``, the list input price times the provider's published multipliers in ``prices.json``);
- the provider's cache discount: the prompt at the uncached rate, minus billed. It is the provider's
  saving, shown apart and never added to compression's (it is negative on a request that writes);
- saved by compression: the tokens compression removed times this request's own average price per
  prompt token (billed / prompt tokens), so a removed token costs what the tokens around it cost:
  mostly a cache read on a warm conversation, a write on a cold one ("at the actual cache mix").
  Without usage it is the removed tokens at the uncached list price, labelled "at list price (no
  usage reported)".
- a cache bust: the provider wrote again part of a prefix it had cached (``bust_usd``: those tokens
  at the rate they were billed minus the read rate). One we caused (our rewrite of a block the
  client had not changed) is subtracted from compression's saving; one the client caused is
  reported apart, never ours to subtract or to claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Basis = Literal["actual cache mix", "list price (no usage reported)"]


@dataclass(frozen=True, slots=True)
class Usage:
    """A prompt as the provider billed it, in tokens."""

    uncached: int = 0
    cache_read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def prompt(self) -> int:
        return self.uncached + self.cache_read + self.write_5m + self.write_1h


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per million prompt tokens of one model, by how they are billed."""

    uncached: float
    cache_read: float
    write_5m: float
    write_1h: float

    @classmethod
    def of(cls, input_price: float, multipliers: dict[str, float]) -> Rates:
        """Rates from the list input price and the provider's multipliers (``read``, ``write_5m``,
        ``write_1h``; a missing one is 1: billed as uncached)."""
        return cls(input_price, input_price * multipliers.get("read", 1.0),
                   input_price * multipliers.get("write_5m", 1.0),
                   input_price * multipliers.get("write_1h", 1.0))  # fmt: skip

    def usd(self, usage: Usage) -> float:
        return (usage.uncached * self.uncached + usage.cache_read * self.cache_read
                + usage.write_5m * self.write_5m + usage.write_1h * self.write_1h) / 1_000_000  # fmt: skip


@dataclass(frozen=True, slots=True)
class Money:
    """One request's figures in USD (see the module docstring for the definitions)."""

    saved: float
    basis: Basis
    billed: float | None = None
    provider_discount: float | None = None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(usage: Any) -> Usage | None:
    """The prompt side of a response's ``usage`` (Anthropic, OpenAI chat or responses), or None
    when it reports no prompt tokens."""
    if not isinstance(usage, dict):
        return None
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:  # Anthropic
        creation = usage.get("cache_creation")
        written = _count(usage.get("cache_creation_input_tokens"))
        if isinstance(creation, dict):
            hour = _count(creation.get("ephemeral_1h_input_tokens"))
            five = _count(creation.get("ephemeral_5m_input_tokens"))
            five += max(written - five - hour, 0)  # a total the split does not cover: the 5-minute default
        else:
            hour, five = 0, written
        found = Usage(
            _count(usage.get("input_tokens")), _count(usage.get("cache_read_input_tokens")), five, hour
        )
        return found if found.prompt else None
    total_key, details_key = (
        ("prompt_tokens", "prompt_tokens_details") if "prompt_tokens" in usage
        else ("input_tokens", "input_tokens_details")
    )  # fmt: skip
    total = _count(usage.get(total_key))
    if not total:
        return None
    details = usage.get(details_key)
    cached = min(_count(details.get("cached_tokens")) if isinstance(details, dict) else 0, total)
    return Usage(uncached=total - cached, cache_read=cached)


def request_money(removed: int, usage: Usage | None, rates: Rates) -> Money:
    """What compression saved on one request that removed ``removed`` prompt tokens, what the
    request was billed, and the provider's own cache discount."""
    removed = max(removed, 0)
    if usage is None or not usage.prompt:
        return Money(removed * rates.uncached / 1_000_000, "list price (no usage reported)")
    billed = rates.usd(usage)
    uncached = usage.prompt * rates.uncached / 1_000_000
    return Money(removed * billed / usage.prompt, "actual cache mix", billed, uncached - billed)


@dataclass(frozen=True, slots=True)
class Shares:
    """Removed tokens attributed to the parts of their requests' prompts (``removed * part / prompt``
    per request, summed): what the roll-ups keep so that money stays a sum."""

    uncached: float = 0.0
    cache_read: float = 0.0
    write_5m: float = 0.0
    write_1h: float = 0.0


@dataclass(frozen=True, slots=True)
class Summed:
    """``request_money`` summed over requests of one model, in USD."""

    at_cache_mix: float
    at_list_price: float
    billed: float
    provider_discount: float


def bust_usd(write_5m: int, write_1h: int, uncached: int, rates: Rates) -> float:
    """What cache busts cost: the prefix tokens the provider wrote again (by how they were billed:
    5-minute write, 1-hour write, uncached where the provider has no write price) at that rate
    minus the cache-read rate they would have been billed without the bust."""
    return (write_5m * (rates.write_5m - rates.cache_read) + write_1h * (rates.write_1h - rates.cache_read)
            + uncached * (rates.uncached - rates.cache_read)) / 1_000_000  # fmt: skip


def money_of(shares: Shares, listed: float, usage: Usage, rates: Rates) -> Summed:
    """``request_money`` summed over requests of one model: ``shares`` and ``usage`` of those whose
    response reported usage, ``listed`` the removed tokens of those without. The saving at the cache
    mix is ``sum(removed * billed / prompt)`` = ``sum over parts(share * rate)``: the same figure."""
    mix = (shares.uncached * rates.uncached + shares.cache_read * rates.cache_read
           + shares.write_5m * rates.write_5m + shares.write_1h * rates.write_1h) / 1_000_000  # fmt: skip
    billed = rates.usd(usage)
    return Summed(mix, listed * rates.uncached / 1_000_000, billed,
                  usage.prompt * rates.uncached / 1_000_000 - billed)  # fmt: skip
