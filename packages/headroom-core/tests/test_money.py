"""The money arithmetic on hand-computed cases: a request priced at the cache mix it was billed at."""

from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path

import pytest
from headroom._errors import ConfigError
from headroom._stats.money import Rates, Usage, request_money, usage_of
from headroom._stats.prices import load_prices

SONNET = load_prices().rates("claude-sonnet-4-5-20250929")  # $3 a million; reads 0.30, writes 3.75 / 6


def test_the_shipped_rates_of_a_claude_and_an_openai_model() -> None:
    assert SONNET is not None
    assert astuple(SONNET) == pytest.approx((3.0, 0.3, 3.75, 6.0))
    assert load_prices().rates("gpt-4o-2024-08-06") == Rates(2.5, 1.25, 2.5, 2.5)  # no write premium
    assert load_prices().rates("unknown-model") is None


def test_a_cold_request_writes_its_prefix() -> None:
    usage = usage_of({"input_tokens": 100, "cache_creation_input_tokens": 50_000, "cache_read_input_tokens": 0,
                      "output_tokens": 700})  # fmt: skip
    assert usage == Usage(uncached=100, write_5m=50_000)
    assert SONNET is not None
    money = request_money(20_000, usage, SONNET)
    assert money.billed == pytest.approx(0.1878)  # 100 x $3 + 50,000 x $3.75, per million
    assert money.saved == pytest.approx(20_000 * 0.1878 / 50_100)  # the removed tokens would be written too
    assert money.provider_discount == pytest.approx(50_100 * 3 / 1e6 - 0.1878)  # negative: a write
    assert money.basis == "actual cache mix"


def test_a_warm_prefix_is_mostly_cache_reads() -> None:
    usage = usage_of(
        {"input_tokens": 200, "cache_read_input_tokens": 50_000, "cache_creation_input_tokens": 0}
    )
    assert SONNET is not None
    money = request_money(20_000, usage, SONNET)
    assert money.billed == pytest.approx(0.0156)  # 200 x $3 + 50,000 x $0.30
    assert money.saved == pytest.approx(20_000 * 0.0156 / 50_200)
    assert money.provider_discount == pytest.approx(0.1506 - 0.0156)
    list_price = request_money(20_000, None, SONNET)
    assert list_price.saved / money.saved > 9  # what a tool that prices at list price would claim


def test_a_one_hour_write() -> None:
    usage = usage_of({"input_tokens": 0, "cache_read_input_tokens": 40_000, "cache_creation_input_tokens": 10_000,
                      "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 10_000}})  # fmt: skip
    assert usage == Usage(cache_read=40_000, write_1h=10_000)
    assert SONNET is not None
    money = request_money(5_000, usage, SONNET)
    assert money.billed == pytest.approx(0.072)  # 10,000 x $6 + 40,000 x $0.30
    assert money.saved == pytest.approx(0.0072)


def test_a_response_without_usage_is_priced_at_list_price_and_says_so() -> None:
    assert SONNET is not None
    for usage in (None, usage_of(None), usage_of({"output_tokens": 5}), usage_of("garbage")):
        money = request_money(20_000, usage, SONNET)
        assert money == request_money(20_000, None, SONNET)
        assert (money.saved, money.basis, money.billed) == (
            pytest.approx(0.06),
            "list price (no usage reported)",
            None,
        )


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 10_000, "completion_tokens": 50, "prompt_tokens_details": {"cached_tokens": 8_000}},
        {"input_tokens": 10_000, "output_tokens": 50, "input_tokens_details": {"cached_tokens": 8_000}},
    ],
)
def test_openai_chat_and_responses_report_their_cached_part(usage: dict[str, object]) -> None:
    rates = load_prices().rates("gpt-4o")
    assert rates is not None
    found = usage_of(usage)
    assert found == Usage(uncached=2_000, cache_read=8_000)
    money = request_money(3_000, found, rates)
    assert money.billed == pytest.approx(0.015)  # 2,000 x $2.50 + 8,000 x $1.25
    assert money.saved == pytest.approx(0.0045)
    assert money.provider_discount == pytest.approx(0.01)


def test_nonsense_counts_are_not_counted() -> None:
    assert usage_of({"prompt_tokens": -5}) is None
    assert usage_of({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 99}}) == Usage(0, 10)
    assert usage_of({"input_tokens": True, "cache_read_input_tokens": "7"}) is None


def test_the_price_file_overrides_cache_multipliers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"usd_per_million_input_tokens": {"acme-1": 4.0},
                                  "cache_multipliers_of_input": {"acme": {"read": 0.2}}}))  # fmt: skip
    monkeypatch.setenv("HEADROOM_PRICES", str(prices))
    acme = load_prices(strict=True).rates("acme-1-large")
    assert acme is not None
    assert astuple(acme) == pytest.approx((4.0, 0.8, 4.0, 4.0))
    prices.write_text(
        json.dumps({"usd_per_million_input_tokens": {}, "cache_multipliers_of_input": {"x": {"read": -1}}})
    )
    with pytest.raises(ConfigError, match="cache multipliers of 'x'"):
        load_prices(strict=True)
