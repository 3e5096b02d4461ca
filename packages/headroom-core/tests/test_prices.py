"""List prices: the shipped table, longest-prefix matching, unknown models, and the override file."""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path

import pytest
from headroom import ConfigError
from headroom._stats.prices import load_prices


def test_the_shipped_table_is_dated_and_labelled() -> None:
    prices = load_prices()
    datetime.date.fromisoformat(prices.as_of)
    assert "list input prices" in prices.note.lower()
    assert "usd per million tokens" in prices.note.lower()
    assert prices.override is None
    assert all(price > 0 for price in prices.table.values())


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gpt-4o", 2.5),
        ("gpt-4o-2024-08-06", 2.5),
        ("gpt-4o-mini-2024-07-18", 0.15),  # the longest prefix wins over gpt-4o
        ("openai/gpt-4.1-mini", 0.4),
        ("GPT-5", 1.25),
        ("gpt-5-nano", 0.05),
        ("o3-mini", 1.1),
        ("o4-mini", 1.1),
        ("claude-opus-4-5-20251101", 5.0),
        ("claude-opus-4-1-20250805", 15.0),
        ("claude-sonnet-4.5", 3.0),
        ("claude-haiku-4-5", 1.0),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.8),
        ("claude-3-5-sonnet@20240620", 3.0),
    ],
)
def test_models_match_their_longest_prefix(model: str, price: float) -> None:
    assert load_prices().per_million(model) == price


@pytest.mark.parametrize("model", [None, "", "llama-3.1-70b", "mistral-large", "gpt", "claude"])
def test_unknown_models_have_no_price_rather_than_a_guess(model: str | None) -> None:
    prices = load_prices()
    assert prices.per_million(model) is None
    assert prices.usd(model, 1_000_000) is None


def test_usd_is_tokens_times_the_price_per_million() -> None:
    assert load_prices().usd("gpt-4o", 2_000_000) == pytest.approx(5.0)


def test_an_override_file_adds_and_replaces_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    table = {"llama-3": 0.5, "GPT-4o": 2.0}
    path.write_text(json.dumps({"as_of": "2026-11-01", "usd_per_million_input_tokens": table}))
    monkeypatch.setenv("HEADROOM_PRICES", str(path))
    prices = load_prices(strict=True)
    assert (prices.as_of, prices.override) == ("2026-11-01", str(path))
    assert prices.per_million("llama-3.1-70b") == 0.5
    assert prices.per_million("gpt-4o") == 2.0
    assert prices.per_million("gpt-4o-mini") == 0.15  # the shipped table is still there
    assert "list input prices" in prices.note.lower()


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "expected a JSON object"),
        ('{"as_of": "2026-01-01"}', '"usd_per_million_input_tokens"'),
        ('{"usd_per_million_input_tokens": {"x": -1}}', "must be a number >= 0"),
        ('{"usd_per_million_input_tokens": {"x": true}}', "must be a number >= 0"),
        ('{"usd_per_million_input_tokens": {"x": "1.0"}}', "must be a number >= 0"),
        ('{"as_of": 2026, "usd_per_million_input_tokens": {}}', '"as_of" must be a date string'),
        (None, "No such file"),
    ],
)
def test_a_bad_override_is_a_clear_error_on_the_cli_and_a_warning_in_the_library(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    content: str | None,
    complaint: str,
) -> None:
    path = tmp_path / "prices.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("HEADROOM_PRICES", str(path))
    with pytest.raises(ConfigError, match="HEADROOM_PRICES") as raised:
        load_prices(strict=True)
    assert complaint in str(raised.value)
    assert "unset the variable" in str(raised.value)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        prices = load_prices()
    assert prices.override is None
    assert prices.per_million("gpt-4o") == 2.5
    assert any(complaint in record.getMessage() for record in caplog.records)
