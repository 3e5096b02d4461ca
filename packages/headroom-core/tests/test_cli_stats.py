"""``headroom stats`` and ``headroom perf`` on a ledger of known events."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from headroom._cli import main
from headroom._cli.stats import parse_since
from headroom._stats.events import Event
from headroom._stats.ledger import Ledger
from headroom._stats.prices import load_prices

NOW = time.time()
HOUR = 3600.0


def compress(source: str, outcome: str, before: int, after: int, *, model: str | None = None,
             kind: str | None = None, compressor: str | None = None, ms: float = 1.0, ref: str | None = None,
             reason: str = "", ago: float = 60.0, memo: bool = False, tool: str | None = None) -> Event:  # fmt: skip
    return Event(event="compress", source=source, outcome=outcome, reason=reason, model=model, kind=kind, compressor=compressor, tokens_before=before, tokens_after=after, ms=ms, ref=ref,
                 memo=memo, time=NOW - ago, tool=tool)  # fmt: skip


KNOWN = [
    compress("library", "compressed", 10_000, 1_000, model="gpt-4o", kind="json", compressor="json", ms=10,
             ref="a" * 24, ago=HOUR),
    compress("proxy", "compressed", 20_000, 2_000, model="claude-sonnet-4-5", kind="log", compressor="log",
             ms=20, ref="b" * 24, tool="Bash"),
    compress("library", "too_small", 200, 200, kind="text", ms=1, reason="200 tokens < min_tokens 300",
             ago=10 * 24 * HOUR),
    compress("langchain", "low_saving", 1_000, 1_000, model="my-llm", kind="text", compressor="text", ms=600,
             reason="saved 4% < min_saving 15%", ago=120),
    Event(event="retrieve", source="library", outcome="found", kind="json", tokens_after=500, ms=0.5, ref="a" * 24, has_query=True,
          time=NOW - 30),
    Event(event="budget", source="proxy", outcome="over_budget", reason="3 older tool results stubbed", model="gpt-4o", tokens_before=9,
          tokens_after=5, time=NOW - 30),
]  # fmt: skip


def write(store: Path, events: list[Event]) -> None:
    ledger = Ledger(store.parent / "ledger.db")
    for event in events:
        ledger.record(event)
    ledger.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def run(store: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--store", f"sqlite:///{store}", *args])
    assert result.exit_code == 0, result.output
    return result


def as_json(store: Path, *args: str) -> Any:
    return json.loads(run(store, *args, "--json").stdout)


NO_MONEY = {"at_cache_mix": 0.0, "with_usage": 0, "at_list_price": 0.0, "without_usage": 0, "unpriced": 0,
            "billed": 0.0, "provider_discount": 0.0, "our_busts": 0, "our_bust_usd": 0.0, "client_busts": 0,
            "client_bust_usd": 0.0, "net_saved": 0.0}  # fmt: skip
NO_REQUESTS = {
    "count": 0,
    "compressed": 0,
    "tokens_before": 0,
    "tokens_after": 0,
    "retrieval_rounds": 0,
    "p50_ms": 0.0,
    "p95_ms": 0.0,
    "max_ms": 0.0,
    "cold_starts": 0,
    "cold_max_ms": 0.0,
    "shaped": 0,
    "ttfb_count": 0,
    "ttfb_p50_ms": 0.0,
    "ttfb_p95_ms": 0.0,
    "ttfb_max_ms": 0.0,
}


def test_stats_json_on_known_events(store: Path) -> None:
    write(store, KNOWN)
    assert as_json(store, "stats") == {
        "events": 4,
        "tokens_before": 31_200,
        "tokens_after": 4_200,
        "saved_pct": 86.5,
        "list_price_saved_usd": pytest.approx(9_000 * 2.5 / 1e6 + 18_000 * 3.0 / 1e6),
        "compressed": 2,  # the other two blocks were skipped: seen, not compressed
        "requests": NO_REQUESTS,
        "money": NO_MONEY,
    }


def request(outcome: str, before: int, after: int, ms: float, reason: str, ago: float = 30.0,
            ttfb: float | None = None) -> Event:  # fmt: skip
    return Event(event="request", source="proxy", outcome=outcome, reason=reason, model="claude-x",
                 kind="anthropic", tokens_before=before, tokens_after=after, ms=ms, time=NOW - ago,
                 ttfb_ms=ttfb)  # fmt: skip


def test_stats_and_perf_read_the_proxys_requests(store: Path) -> None:
    """Whole-request figures, apart from the blocks'; the proxy's own time per request with the cold
    start (a process's first compressing request) counted apart, so it is neither hidden nor the p95."""
    write(store, [*KNOWN,
                  request("compressed", 50_000, 10_000, 900.0, "retrieval rounds: 0; cold start", ago=50,
                          ttfb=901.0),
                  request("compressed", 52_000, 11_000, 2.0, "retrieval rounds: 2; output shaper",
                          ttfb=1400.0),  # its first byte waited for two retrieval rounds
                  request("forwarded", 300, 300, 0.5, "retrieval rounds: 0"),  # not measured
                  request("compressed", 60_000, 12_000, 614.0, "retrieval rounds: 1", ttfb=2.5)])  # fmt: skip
    found = as_json(store, "perf")["stats"]["requests"]
    # percentiles come from the roll-up's latency histogram: the bucket's upper edge, at most 5% above
    # the true value (2.0 ms), never above the peak (614 ms)
    assert found == {"count": 4, "compressed": 3, "tokens_before": 162_300, "tokens_after": 33_300,
                     "retrieval_rounds": 3, "p50_ms": 2.04, "p95_ms": 614.0, "max_ms": 614.0, "cold_starts": 1,
                     "cold_max_ms": 900.0, "shaped": 1, "ttfb_count": 2, "ttfb_p50_ms": 2.604,
                     "ttfb_p95_ms": 1400.0, "ttfb_max_ms": 1400.0}  # fmt: skip
    stats = run(store, "stats").stdout
    assert "4 seen, 2 compressed" in stats
    assert "4 through the proxy, 3 compressed; whole conversations 162,300 → 33,300 tokens" in stats
    perf = run(store, "perf").stdout
    assert "proxy requests" in perf
    assert "614.0 ms" in perf
    assert "900.0 ms" in perf
    assert "time to first byte added: p50 2.6 ms, p95 1,400.0 ms, max 1,400.0 ms (2 requests)" in perf
    assert as_json(store, "stats", "--source", "library")["requests"] == NO_REQUESTS


def test_requests_are_priced_at_the_cache_mix_they_were_billed_at(store: Path) -> None:
    """One implementation (``_stats.money``) behind the stats: a warm request with usage, a cold one
    with a write, one without usage (at list price, said so), one of a model without a price."""
    sonnet = "claude-sonnet-4-5"  # $3 a million; reads $0.30, 5-minute writes $3.75
    warm = Event(event="request", source="proxy", outcome="compressed", model=sonnet, tokens_before=70_200,
                 tokens_after=50_200, usage_uncached=200, usage_cache_read=50_000, usage_write_5m=0,
                 usage_write_1h=0, time=NOW - 20)  # fmt: skip
    cold = Event(event="request", source="proxy", outcome="compressed", model=sonnet, tokens_before=70_100,
                 tokens_after=50_100, usage_uncached=100, usage_cache_read=0, usage_write_5m=50_000,
                 usage_write_1h=0, time=NOW - 10)  # fmt: skip
    bare = Event(event="request", source="proxy", outcome="compressed", model=sonnet, tokens_before=30_000,
                 tokens_after=10_000, time=NOW - 5)  # fmt: skip
    unknown = Event(event="request", source="proxy", outcome="compressed", model="mystery-1",
                    tokens_before=9_000, tokens_after=1_000, time=NOW - 5)  # fmt: skip
    write(store, [warm, cold, bare, unknown])
    money = as_json(store, "stats")["money"]
    assert money == {
        "at_cache_mix": pytest.approx(20_000 * 0.0156 / 50_200 + 20_000 * 0.1878 / 50_100, abs=1e-6),
        "with_usage": 2,
        "at_list_price": pytest.approx(20_000 * 3 / 1e6),
        "without_usage": 1,
        "unpriced": 1,
        "billed": pytest.approx(0.0156 + 0.1878),
        "provider_discount": pytest.approx((50_200 + 50_100) * 3 / 1e6 - 0.0156 - 0.1878, abs=1e-6),
        "our_busts": 0, "our_bust_usd": 0.0, "client_busts": 0, "client_bust_usd": 0.0,
        "net_saved": pytest.approx(20_000 * 0.0156 / 50_200 + 20_000 * 0.1878 / 50_100 + 20_000 * 3 / 1e6,
                                   abs=1e-6),
    }  # fmt: skip
    assert as_json(store, "perf")["stats"]["money"] == money  # the same figures, one implementation
    shown = run(store, "stats").stdout
    assert "at the actual cache mix (2 requests)" in shown
    assert "at list price (no usage reported, 1 requests)" in shown
    assert "the provider's prompt-cache discount" in shown


def test_cache_busts_we_caused_are_subtracted_and_the_clients_shown_apart(store: Path) -> None:
    """Hand-computed, claude-sonnet-4-5 ($3/M uncached, reads 0.1x, 5-minute writes 1.25x, 1-hour 2x):
    our bust re-wrote 40,000 tokens at the 5-minute rate where a read was due; the client's re-wrote
    30,000 at the 1-hour rate."""

    def bust(who: str, part: str, tokens: int, usage: tuple[int, int, int, int]) -> Event:
        return Event(event="request", source="proxy", outcome="compressed", model="claude-sonnet-4-5",
                     reason=f"retrieval rounds: 0; bust: {who}", tokens_before=60_000, tokens_after=50_000,
                     usage_uncached=usage[0], usage_cache_read=usage[1], usage_write_5m=usage[2],
                     usage_write_1h=usage[3], bust=who, bust_tokens=tokens, bust_part=part,
                     time=NOW - 10)  # fmt: skip

    write(store, [bust("ours", "write_5m", 40_000, (0, 10_000, 40_000, 0)),
                  bust("client", "write_1h", 30_000, (0, 20_000, 0, 30_000))])  # fmt: skip
    money = as_json(store, "stats")["money"]
    ours = 40_000 * (3.75 - 0.30) / 1e6  # 0.138
    theirs = 30_000 * (6.00 - 0.30) / 1e6  # 0.171
    mix = (
        10_000 * (10_000 * 0.3 + 40_000 * 3.75) / 50_000 / 1e6
        + 10_000 * (20_000 * 0.3 + 30_000 * 6) / 50_000 / 1e6
    )
    assert money["our_busts"] == money["client_busts"] == 1
    assert money["our_bust_usd"] == pytest.approx(ours)
    assert money["client_bust_usd"] == pytest.approx(theirs)
    assert money["at_cache_mix"] == pytest.approx(mix, abs=1e-6)
    assert money["net_saved"] == pytest.approx(mix - ours, abs=1e-6)  # the client's is not subtracted
    shown = run(store, "stats").stdout
    assert "re-writing 1 cached prefixes we changed" in shown
    assert "client busts" in shown


@pytest.mark.parametrize(
    ("args", "events", "before", "after", "usd"),
    [
        (["--since", "24h"], 3, 31_000, 4_000, 0.0765),
        (["--since", "30m"], 2, 21_000, 3_000, 0.054),
        (["--source", "proxy"], 1, 20_000, 2_000, 0.054),
        (["--source", "library", "--since", "7d"], 1, 10_000, 1_000, 0.0225),
        (["--source", "agno"], 0, 0, 0, None),
    ],
)
def test_since_and_source_filter(
    store: Path, args: list[str], events: int, before: int, after: int, usd: float | None
) -> None:
    write(store, KNOWN)
    found = as_json(store, "stats", *args)
    assert (found["events"], found["tokens_before"], found["tokens_after"]) == (events, before, after)
    assert found["list_price_saved_usd"] == (None if usd is None else pytest.approx(usd))


def test_since_takes_durations_and_iso_dates() -> None:
    assert parse_since("24h", now=100_000.0) == 100_000.0 - 86_400
    assert parse_since("7d", now=1e6) == 1e6 - 7 * 86_400
    assert parse_since("30m", now=1e4) == 1e4 - 1_800
    assert parse_since("2026-03-01T00:00:00Z") == 1_772_323_200.0
    assert parse_since("2026-03-01T10:00+01:00") == 1_772_355_600.0
    assert parse_since("2026-03-01") == parse_since("2026-03-01T00:00")  # both local midnight
    with pytest.raises(ValueError, match="ISO date"):
        parse_since("yesterday")


def test_a_bad_since_is_a_usage_error(store: Path) -> None:
    result = CliRunner().invoke(main, ["--store", f"sqlite:///{store}", "stats", "--since", "soon"])
    assert result.exit_code == 2
    assert "'soon' is not 30m, 24h, 7d" in result.output


def test_perf_json_on_known_events(store: Path) -> None:
    write(store, KNOWN)
    perf = as_json(store, "perf")
    models = {m["model"]: m for m in perf["models"]}
    assert models["gpt-4o"]["blocks"] == 1
    assert models["gpt-4o"]["saved_pct"] == 90.0
    assert models["my-llm"]["list_price_saved_usd"] is None
    assert perf["overhead"] == {
        "count": 4,
        "avg_ms": 157.75,
        "p95_ms": 600.0,
        "max_ms": 600.0,
        "over_500ms": 1,
    }
    compressors = {c["compressor"]: c for c in perf["compressors"]}
    assert set(compressors) == {"json", "log", "text"}
    assert (compressors["json"]["uses"], compressors["json"]["kept"]) == (1, 1)
    assert compressors["json"]["avg_reduction_pct"] == 90.0
    assert (compressors["text"]["kept"], compressors["text"]["tokens_saved"]) == (0, 0)
    assert perf["routing"] == [
        {"outcome": "compressed", "count": 2, "share_pct": 50.0, "reasons": []},
        {"outcome": "too_small", "count": 1, "share_pct": 25.0,
         "reasons": [{"reason": "< min_tokens 300", "count": 1}]},
        {"outcome": "low_saving", "count": 1, "share_pct": 25.0,
         "reasons": [{"reason": "< min_saving 15%", "count": 1}]},
    ]  # fmt: skip
    retrievals = perf["retrievals"]
    assert retrievals["total"] == retrievals["found"] == retrievals["with_query"] == 1
    assert retrievals["by_kind"] == [
        {"group": "json", "retrievals": 1, "compressed_blocks": 1, "rate_pct": 100.0},
        {"group": "log", "retrievals": 0, "compressed_blocks": 1, "rate_pct": 0.0},
    ]
    assert retrievals["by_tool"] == [  # the library's block was no tool's result
        {"group": "unknown", "retrievals": 1, "compressed_blocks": 1, "rate_pct": 100.0},
        {"group": "Bash", "retrievals": 0, "compressed_blocks": 1, "rate_pct": 0.0},
    ]
    assert perf["budget"] == {"stubbed": 0, "stubbed_tokens_saved": 0, "over_budget": 1}
    advice = "\n".join(perf["recommendations"])
    assert "1 requests were over max_context_tokens" in advice
    assert "1 compressions took over 500 ms" in advice
    assert "no list price for my-llm" not in advice  # it saved nothing: no money is missing


def test_p95_is_the_nearest_rank(store: Path) -> None:
    write(
        store,
        [compress("library", "compressed", 100, 10, compressor="log", ms=float(ms)) for ms in range(1, 101)],
    )
    overhead = as_json(store, "perf")["overhead"]
    assert overhead == {"count": 100, "avg_ms": 50.5, "p95_ms": 95.0, "max_ms": 100.0, "over_500ms": 0}


def test_recommendations_come_from_the_numbers(store: Path) -> None:
    events = [
        compress("proxy", "too_small", 100, 100, reason="100 tokens < min_tokens 300") for _ in range(63)
    ]
    events += [compress("proxy", "compressed", 5_000, 500, model="gpt-4o", kind="json", compressor="json",
                        ref=f"{n:024x}", tool="mcp__github__list_issues") for n in range(10)]  # fmt: skip
    events += [compress("proxy", "compressed", 5_000, 500, model="gpt-4o", kind="json", compressor="json",
                        ref=f"{0:024x}", memo=True) for _ in range(20)]  # fmt: skip  # the same block again
    events += [compress("proxy", "store_failed", 900, 900, kind="log", compressor="log") for _ in range(3)]
    events += [compress("proxy", "failed", 900, 900, kind="log", compressor="log") for _ in range(2)]
    events += [compress("proxy", "compressed", 800, 100, model="llama-3", kind="log", compressor="log")]
    events += [compress("proxy", "low_saving", 900, 900, kind="log", compressor="log") for _ in range(1)]
    events += [
        Event(
            event="retrieve",
            source="proxy",
            outcome="found",
            kind="json",
            ref=f"{n:024x}",
            tool="mcp__github__list_issues",
        )
        for n in range(4)
    ]
    events += [Event(event="retrieve", source="proxy", outcome="not_found", ref="f" * 24)]
    write(store, events)
    perf = as_json(store, "perf")
    advice = perf["recommendations"]
    assert isinstance(advice, list)
    text = "\n".join(advice)
    assert "63% of blocks were under the size threshold (< min_tokens 300)" in text
    assert (
        "json blocks are retrieved 40% of the time: consider a larger budget or excluding their tool" in text
    )
    assert (
        "mcp__github__list_issues results are retrieved 40% of the time: consider "
        "HEADROOM_EXCLUDE_TOOLS=mcp__github__list_issues" in text
    )
    assert "3 originals could not be stored" in text
    assert "2 compressions failed" in text
    assert "1 retrievals asked for unknown or expired refs" in text
    assert "no list price for llama-3" in text
    assert perf["memo_hits"] == 20
    assert "took over 500 ms" not in text


def test_rich_output_shows_the_key_lines(store: Path) -> None:
    write(store, KNOWN)
    as_of = load_prices().as_of
    stats = run(store, "stats").stdout
    assert "31,200 → 4,200 in those blocks (saved 86.5%)" in stats
    assert f"$0.08 at list input price (prices as of {as_of})" in stats
    assert "+ 0 tokens" not in stats
    perf = run(store, "perf").stdout
    for line in ("per model", "my-llm", "unknown price", "overhead", "p95", "per compressor", "routing",
                 "skipped: too small", "< min_tokens 300", "retrievals: 1 (1 found", "recommendations",
                 "at list input price"):  # fmt: skip
        assert line in perf, line


@pytest.mark.parametrize("command", ["stats", "perf"])
def test_an_empty_ledger_is_a_friendly_message(store: Path, command: str) -> None:
    result = run(store, command)
    assert "No compressions recorded" in result.stdout
    assert not (store.parent / "ledger.db").exists()  # reading never creates the file
    zeros = as_json(store, command)
    stats = zeros if command == "stats" else zeros["stats"]
    assert stats == {"events": 0, "tokens_before": 0, "tokens_after": 0, "saved_pct": 0.0,
                     "list_price_saved_usd": None, "compressed": 0, "requests": NO_REQUESTS,
                     "money": NO_MONEY}  # fmt: skip


def test_a_price_override_changes_the_money(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(store, KNOWN)
    prices = tmp_path / "mine.json"
    prices.write_text(json.dumps({"as_of": "2026-11-01", "usd_per_million_input_tokens": {"gpt-4o": 10.0}}))
    monkeypatch.setenv("HEADROOM_PRICES", str(prices))
    assert as_json(store, "stats", "--source", "library")["list_price_saved_usd"] == pytest.approx(0.09)
    assert "prices as of 2026-11-01" in run(store, "stats").stdout
    prices.write_text("{broken")
    result = CliRunner().invoke(main, ["--store", f"sqlite:///{store}", "stats"])
    assert result.exit_code == 1
    assert "HEADROOM_PRICES=" in result.output


def test_the_cli_records_its_own_work(store: Path, tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text("".join(f"2026-03-01 10:00:{i % 60:02d} INFO app: job {i} done\n" for i in range(500)))
    ref = json.loads(run(store, "compress", str(log), "--json").stdout)["ref"]
    run(store, "retrieve", ref, "--query", "job 17")
    found = as_json(store, "stats", "--source", "cli")
    assert found["events"] == 1
    assert found["list_price_saved_usd"] is None  # the CLI names no model: no price is guessed
    assert as_json(store, "perf", "--source", "cli")["retrievals"]["with_query"] == 1
    assert as_json(store, "stats", "--source", "proxy")["events"] == 0


def test_history_buckets_the_blocks_and_requests_by_hour_day_and_week(store: Path) -> None:
    from headroom import Config, ConfigError, Headroom

    day = 1_780_000_000 // 86_400 * 86_400  # a midnight UTC

    def block(at: float) -> Event:
        return Event(event="compress", source="library", outcome="compressed", tokens_before=1000,
                     tokens_after=100, time=at)  # fmt: skip

    write(store, [block(day + 60), block(day + 120), block(day + 3 * 3600),
                  Event(event="request", source="proxy", outcome="compressed", tokens_before=5000, tokens_after=900,
                        time=day + 3 * 3600 + 5)])  # fmt: skip
    hr = Headroom(Config(store=f"sqlite:///{store}"))
    hours = hr.stats_history("hour")
    assert [(h["start"], h["blocks"], h["tokens_before"], h["requests"]) for h in hours] == [
        (day, 2, 2000, 0), (day + 3 * 3600, 1, 1000, 1)]  # fmt: skip
    assert hours[1]["request_tokens_after"] == 900
    [whole] = hr.stats_history("day")
    assert (whole["blocks"], whole["tokens_after"], whole["requests"]) == (3, 300, 1)
    assert len(hr.stats_history("week")) == 1
    assert hr.stats_history("hour", since=day + 3600)[0]["start"] == day + 3 * 3600
    assert hr.stats_history("hour", source="proxy")[0]["blocks"] == 0
    with pytest.raises(ConfigError, match="bucket must be one of hour, day, week"):
        hr.stats_history("minute")
    hr.close()
