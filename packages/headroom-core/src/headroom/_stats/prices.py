"""List input prices, to put a dollar figure on the tokens headroom saved.

The table is one small dated JSON file shipped with the package (``prices.json``); users add or
override models with a file of the same shape named by ``HEADROOM_PRICES``. Nothing is fetched from
the network and nothing is guessed: a model the table does not know has no price, and the reports
say "unknown price" for it. Every figure is a list input price (no cache, batch or negotiated rates),
and the reports say so.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

from .._errors import ConfigError
from .money import Rates

log = logging.getLogger("headroom")
_V = TypeVar("_V")

PRICES_ENV = "HEADROOM_PRICES"
_TABLE_KEY = "usd_per_million_input_tokens"
_CACHE_KEY = "cache_multipliers_of_input"
_MULTIPLIERS = ("read", "write_5m", "write_1h")


@dataclass(frozen=True)
class Prices:
    """A price table: list input prices in USD per million tokens, by model-name prefix.

    Attributes:
        as_of: the date the prices were taken from the providers' price pages.
        note: what the figures are (from the file).
        table: lower-case model-name prefix -> USD per million input tokens.
        override: the ``HEADROOM_PRICES`` file merged over the shipped table, if any.
        cache: lower-case model-name prefix -> prompt-cache rates as multiples of the input price.
    """

    as_of: str
    note: str
    table: Mapping[str, float]
    override: str | None = None
    cache: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def per_million(self, model: str | None) -> float | None:
        """The list input price of ``model`` in USD per million tokens, or None when unknown.

        The longest prefix of the table matching the model name wins, so ``gpt-4o-mini-2024-07-18``
        is ``gpt-4o-mini``. Provider prefixes (``openai/``, ``anthropic.``, ``us.anthropic.``) and
        version suffixes in Vertex or Bedrock style are tolerated.
        """
        return _longest(model, self.table)

    def rates(self, model: str | None) -> Rates | None:
        """``model``'s prompt rates (uncached, cache read, 5-minute and 1-hour writes), or None when
        its input price is unknown; without cache multipliers every part is billed as uncached."""
        price = self.per_million(model)
        if price is None:
            return None
        return Rates.of(price, dict(_longest(model, self.cache) or {}))

    def usd(self, model: str | None, tokens: int) -> float | None:
        """What ``tokens`` input tokens of ``model`` cost at list price, or None when unknown."""
        price = self.per_million(model)
        return None if price is None else tokens * price / 1_000_000


def _longest(model: str | None, table: Mapping[str, _V]) -> _V | None:
    """The value of ``table``'s longest prefix of ``model``'s name, or None."""
    if not model:
        return None
    name = model.strip().lower().rsplit("/", 1)[-1]
    candidates = [name]
    at = name.find("claude-")
    if at >= 0:  # Bedrock and Vertex names; Anthropic's ids use dashes where people write dots
        candidates.append(name[at:].replace(".", "-"))
    best: tuple[int, _V] | None = None
    for candidate in candidates:
        for prefix, value in table.items():
            if candidate.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), value)
    return None if best is None else best[1]


def _price(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value >= 0


def _parse_cache(data: dict[str, object], where: str) -> dict[str, dict[str, float]]:
    """The ``cache_multipliers_of_input`` table (absent: none); ``ValueError`` saying what is wrong."""
    table = data.get(_CACHE_KEY, {})
    if not isinstance(table, dict):
        raise ValueError(f'{where}: "{_CACHE_KEY}" must be an object of model prefixes')
    out: dict[str, dict[str, float]] = {}
    for name, entry in table.items():
        if name.startswith("_"):
            continue  # a note
        if not isinstance(entry, dict) or not all(
            key in _MULTIPLIERS
            and not isinstance(value, bool)
            and isinstance(value, (int, float))
            and value >= 0
            for key, value in entry.items()
        ):
            raise ValueError(f"{where}: the cache multipliers of {name!r} must be numbers >= 0 named"
                             f" {', '.join(_MULTIPLIERS)}")  # fmt: skip
        out[name.strip().lower()] = {key: float(value) for key, value in entry.items()}
    return out


def _parse(data: object, where: str) -> tuple[str | None, str | None, dict[str, float]]:
    """``(as_of, note, table)`` from a decoded price file; ``ValueError`` saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object")
    as_of, note, table = data.get("as_of"), data.get("note"), data.get(_TABLE_KEY)
    if as_of is not None and not isinstance(as_of, str):
        raise ValueError(f'{where}: "as_of" must be a date string such as "2025-11-24"')
    if note is not None and not isinstance(note, str):
        raise ValueError(f'{where}: "note" must be a string')
    if not isinstance(table, dict):
        raise ValueError(f'{where}: expected "{_TABLE_KEY}": {{"model-prefix": price, ...}}')
    prices: dict[str, float] = {}
    for name, price in table.items():
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not price >= 0:
            raise ValueError(f"{where}: the price of {name!r} must be a number >= 0, got {price!r}")
        prices[name.strip().lower()] = float(price)
    return as_of, note, prices


def _shipped() -> Prices:
    text = (resources.files("headroom") / "prices.json").read_text(encoding="utf-8")
    data = json.loads(text)
    as_of, note, table = _parse(data, "prices.json")
    return Prices(as_of or "unknown date", note or "", table, cache=_parse_cache(data, "prices.json"))


def load_prices(*, strict: bool = False) -> Prices:
    """The shipped price table, with the ``HEADROOM_PRICES`` file merged over it when set.

    Args:
        strict: raise when the override file is unusable (the CLI); otherwise log a warning and
            use the shipped table alone (a library must not fail over a price list).

    Returns:
        The merged table; the override's ``as_of`` (when given) replaces the shipped date.

    Raises:
        ConfigError: with ``strict``, the override file cannot be read or has the wrong shape.
    """
    shipped = _shipped()
    path = os.environ.get(PRICES_ENV, "").strip()
    if not path:
        return shipped
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        as_of, note, table = _parse(data, path)
        cache = _parse_cache(data, path)
    except (OSError, ValueError) as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        message = f"{PRICES_ENV}={path} is unusable ({exc}); fix the file or unset the variable"
        if strict:
            raise ConfigError(message) from exc
        log.warning("headroom: %s; using the shipped price table", message)
        return shipped
    return Prices(as_of or shipped.as_of, note or shipped.note, {**shipped.table, **table}, path,
                  {**shipped.cache, **cache})  # fmt: skip
