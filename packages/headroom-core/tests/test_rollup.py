"""The ledger's daily roll-ups: every report over them equals the same report over the raw events."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from headroom._sqlite_util import open_file
from headroom._stats.db import MIGRATIONS, insert_events, open_ledger_db
from headroom._stats.events import Event
from headroom._stats.money import Rates, Shares, Usage, bust_usd, money_of, request_money
from headroom._stats.perf import GROUPS, history, panels, perf, stats
from headroom._stats.prices import load_prices
from headroom._stats.rollup import DAY, bucket_ms, ms_bucket

NOW = 1_780_000_000.0  # a fixed clock: days split where the test expects


def generated(count: int, seed: int, days: float = 9.0) -> list[Event]:
    """Events of every type over ``days``: the mix a proxy and the adapters write."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        when = NOW - rng.uniform(0, days * DAY)
        source = rng.choice(["proxy", "library", "langchain"])
        model = rng.choice(["claude-sonnet-4-5", "gpt-4o", "my-llm", None])
        roll = rng.random()
        if roll < 0.7:
            before = rng.randint(10, 9000)
            outcome = rng.choice(["compressed", "compressed", "too_small", "low_saving", "excluded"])
            after = rng.randint(1, before) if outcome == "compressed" else before
            out.append(Event(event="compress", source=source, outcome=outcome, model=model,
                             kind=rng.choice(["json", "log", "code", None]), compressor="x",
                             tokens_before=before, tokens_after=after, ms=rng.expovariate(0.3),
                             ref=f"{rng.getrandbits(64):016x}" if outcome == "compressed" else None,
                             memo=rng.random() < 0.3, time=when,
                             tool=rng.choice(["Bash", "Read", "mcp__github__list_issues", None])))  # fmt: skip
        elif roll < 0.92:
            before = rng.randint(1000, 90_000)
            usage = rng.random() < 0.8
            read = rng.randint(0, before) if usage else None
            out.append(Event(event="request", source="proxy", outcome=rng.choice(["compressed", "forwarded"]),
                             reason=f"retrieval rounds: {rng.randint(0, 2)}" + ("; cold start" if rng.random() < 0.05 else "")
                             + ("; output shaper" if rng.random() < 0.2 else ""),
                             model=model, kind="messages", tokens_before=before,
                             tokens_after=rng.randint(before // 4, before), ms=rng.expovariate(0.05),
                             usage_uncached=rng.randint(1, 500) if usage else None, usage_cache_read=read,
                             usage_write_5m=rng.randint(0, 900) if usage else None,
                             usage_write_1h=rng.randint(0, 90) if usage else None, time=when,
                             **busted(rng, usage)))  # fmt: skip
        else:
            out.append(Event(event="retrieve", source=source, outcome=rng.choice(["found", "not_found"]),
                             kind=rng.choice(["json", "log"]), tokens_after=rng.randint(0, 400),
                             has_query=rng.random() < 0.5, ms=0.3, ref="r", time=when,
                             tool=rng.choice(["Bash", None])))  # fmt: skip
    return out


def busted(rng: random.Random, usage: bool) -> dict[str, Any]:
    """One request in ten with usage busts the cache, ours or the client's."""
    if not usage or rng.random() > 0.1:
        return {}
    return {"bust": rng.choice(["ours", "client"]), "bust_tokens": rng.randint(1, 5000),
            "bust_part": rng.choice(["write_5m", "write_1h", "uncached"])}  # fmt: skip


def write(path: Path, events: list[Event], batch: int = 97) -> None:
    with closing(open_ledger_db(path)) as db:
        for start in range(0, len(events), batch):  # several batches add to the same roll-up rows
            db.execute("BEGIN IMMEDIATE")
            insert_events(db, events[start : start + batch])
            db.execute("COMMIT")


def by_day(rows: list[dict[str, object]]) -> dict[int, dict[str, int]]:
    """Hourly rows (read from the events) summed into UTC days."""
    days: dict[int, dict[str, int]] = {}
    for row in rows:
        start = int(row["start"]) // DAY * DAY  # type: ignore[call-overload]
        day = days.setdefault(start, {})
        for key, value in row.items():
            if key != "start":
                day[key] = day.get(key, 0) + int(value)  # type: ignore[call-overload]
    return {start: {"start": start, **values} for start, values in days.items()}


def summed_by_day(rows: list[dict[str, object]]) -> dict[tuple[int, object], int]:
    """Hourly split rows summed into (UTC day, group): tokens before."""
    out: dict[tuple[int, object], int] = {}
    for row in rows:
        key = (int(row["start"]) // DAY * DAY, row["group"])  # type: ignore[call-overload]
        out[key] = out.get(key, 0) + int(row["tokens_before"])  # type: ignore[call-overload]
    return out


@pytest.mark.parametrize("since_days", [None, 3.0, 2.5, 0.3])
def test_daily_buckets_from_the_roll_up_equal_the_events_summed(
    tmp_path: Path, since_days: float | None
) -> None:
    path = tmp_path / "ledger.db"
    write(path, generated(3000, seed=1))
    since = None if since_days is None else NOW - since_days * DAY
    with closing(open_ledger_db(path)) as db:
        rolled = history(db, "day", since)
        raw = by_day(history(db, "hour", since))
        assert rolled == [raw[start] for start in sorted(raw)]
        for group in GROUPS:  # every split: each bucket's rows from the roll-up equal the events'
            split = history(db, "day", since, by=group)
            hourly = history(db, "hour", since, by=group)
            assert {(r["start"], r["group"]): r["tokens_before"] for r in split} == summed_by_day(hourly)
        assert (
            sum(int(r["blocks"]) for r in rolled)
            == db.execute(  # type: ignore[call-overload]
                "SELECT COUNT(*) FROM events WHERE event = 'compress' AND time >= ?", (since or 0,)
            ).fetchone()[0]
        )


# mid-day and mid-hour, on an hour, on a day: the days, hours and events of the window meet exactly
@pytest.mark.parametrize(
    "since", [NOW - 4.37 * DAY, (NOW - 4.37 * DAY) // 3600 * 3600, NOW // DAY * DAY - DAY]
)
def test_a_window_that_starts_mid_day_counts_exactly_the_events_after_it(
    tmp_path: Path, since: float
) -> None:
    path = tmp_path / "ledger.db"
    events = generated(2000, seed=2)
    write(path, events)
    kept = [e for e in events if e.time >= since]
    prices = load_prices(strict=True)
    with closing(open_ledger_db(path)) as db:
        found = stats(db, prices, since)
        assert found.events == sum(e.event == "compress" for e in kept)
        assert found.tokens_before == sum(e.tokens_before for e in kept if e.event == "compress")
        assert found.requests.count == sum(e.event == "request" for e in kept)
        assert found.requests.cold_starts == sum(e.event == "request" and "cold" in e.reason for e in kept)
        assert found.requests.retrieval_rounds == sum(int(e.reason.split(";")[0].split(": ")[1])
                                                      for e in kept if e.event == "request")  # fmt: skip
        assert found.requests.max_ms == round(max(e.ms for e in kept if e.event == "request"
                                                  and "cold" not in e.reason), 3)  # fmt: skip
        only_proxy = stats(db, prices, since, "langchain")
        assert only_proxy.events == sum(e.event == "compress" and e.source == "langchain" for e in kept)


def test_money_from_the_roll_up_is_each_request_priced_and_summed(tmp_path: Path) -> None:
    """The saving at the cache mix per request (``request_money``) summed equals the roll-up's."""
    path = tmp_path / "ledger.db"
    events = generated(1500, seed=3)
    write(path, events)
    prices = load_prices(strict=True)
    mix = listed = billed = discount = 0.0
    with_usage = without = unpriced = 0
    busts = {"ours": [0, 0.0], "client": [0, 0.0]}
    for e in events:
        if e.event != "request":
            continue
        rates = prices.rates(e.model)
        if rates is None:
            unpriced += 1
            continue
        if e.bust:
            parts = {
                part: e.bust_tokens if e.bust_part == part else 0
                for part in ("write_5m", "write_1h", "uncached")
            }
            busts[e.bust][0] += 1
            busts[e.bust][1] += bust_usd(parts["write_5m"], parts["write_1h"], parts["uncached"], rates)
        usage = None if e.usage_uncached is None else Usage(e.usage_uncached, e.usage_cache_read or 0,
                                                            e.usage_write_5m or 0, e.usage_write_1h or 0)  # fmt: skip
        money = request_money(e.tokens_before - e.tokens_after, usage, rates)
        if money.billed is None:
            listed, without = listed + money.saved, without + 1
        else:
            mix, billed, with_usage = mix + money.saved, billed + money.billed, with_usage + 1
            discount += money.provider_discount or 0.0
    with closing(open_ledger_db(path)) as db:
        found = stats(db, prices).money
    assert (found.with_usage, found.without_usage, found.unpriced) == (with_usage, without, unpriced)
    assert found.at_cache_mix == pytest.approx(mix, rel=1e-9)
    assert found.at_list_price == pytest.approx(listed, rel=1e-9)
    assert found.billed == pytest.approx(billed, rel=1e-9)
    assert found.provider_discount == pytest.approx(discount, rel=1e-9)
    assert busts["ours"][0] > 0
    assert (found.our_busts, found.client_busts) == (busts["ours"][0], busts["client"][0])
    assert found.our_bust_usd == pytest.approx(busts["ours"][1], rel=1e-9)
    assert found.client_bust_usd == pytest.approx(busts["client"][1], rel=1e-9)


def test_summed_money_of_one_request_is_that_requests_money() -> None:
    rates = Rates.of(3.0, {"read": 0.1, "write_5m": 1.25, "write_1h": 2.0})
    usage = Usage(uncached=40, cache_read=9000, write_5m=700, write_1h=260)
    one = request_money(2500, usage, rates)
    prompt = usage.prompt
    shares = Shares(*(2500 * part / prompt for part in (40, 9000, 700, 260)))
    summed = money_of(shares, 0.0, usage, rates)
    assert summed.at_cache_mix == pytest.approx(one.saved)
    assert summed.billed == pytest.approx(one.billed)
    assert summed.provider_discount == pytest.approx(one.provider_discount)


def test_percentiles_are_at_most_five_percent_above_the_exact_value(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    events = generated(3000, seed=4)
    write(path, events)
    warm = sorted(e.ms for e in events if e.event == "request" and "cold" not in e.reason)
    exact_p50, exact_p95 = warm[(len(warm) + 1) // 2 - 1], warm[int(0.95 * len(warm) + 0.999999) - 1]
    with closing(open_ledger_db(path)) as db:
        found = stats(db, load_prices(strict=True)).requests
    assert exact_p50 <= found.p50_ms + 0.001 <= exact_p50 * 1.05 + 0.002
    assert exact_p95 <= found.p95_ms + 0.001 <= exact_p95 * 1.05 + 0.002


def test_the_bucket_edges() -> None:
    assert ms_bucket(0.0) == ms_bucket(None) == 0
    for ms in (0.011, 0.5, 3.7, 120.0, 98_765.4):
        assert bucket_ms(ms_bucket(ms) - 1) < ms <= bucket_ms(ms_bucket(ms)) * (1 + 1e-12)


@pytest.mark.parametrize("schema", [2, 4, 6])
def test_a_ledger_of_an_earlier_schema_is_rolled_up_when_opened(tmp_path: Path, schema: int) -> None:
    """A file of an earlier schema (before the roll-ups, or before the tool column), with events, gets
    its roll-ups made by the migration, so its history does not start the day headroom was upgraded."""
    path = tmp_path / "ledger.db"
    events = generated(800, seed=5)
    with closing(open_file(path, MIGRATIONS[:schema], busy_ms=1000)) as db:
        columns = (
            "time, event, source, outcome, reason, model, kind, tokens_before, tokens_after, ms, ref, memo"
        )
        db.executemany(f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * 12)})",
                       [(e.time, e.event, e.source, e.outcome, e.reason, e.model, e.kind, e.tokens_before,
                         e.tokens_after, e.ms, e.ref, int(e.memo)) for e in events])  # fmt: skip
    with closing(open_ledger_db(path)) as db:
        rolled = history(db, "day")
        raw = by_day(history(db, "hour"))
        assert rolled == [raw[start] for start in sorted(raw)]
        assert perf(db, load_prices(strict=True)).stats.events == sum(e.event == "compress" for e in events)
        assert {row["group"] for row in history(db, "day", by="tool")} == {"unknown"}  # none recorded


def test_retrievals_by_tool_from_the_roll_up_equal_the_events_counted(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    events = generated(3000, seed=8)
    write(path, events)
    since = NOW - 2.5 * DAY
    kept = [e for e in events if e.time >= since]
    with closing(open_ledger_db(path)) as db:
        found = panels(db, load_prices(strict=True), since)
    by_tool = {r["group"]: r for r in found["retrievals"]["by_tool"]}  # type: ignore[index]
    for tool in ("Bash", "unknown"):
        name = None if tool == "unknown" else tool
        assert by_tool[tool]["retrievals"] == sum(
            e.event == "retrieve" and e.outcome == "found" and e.tool == name for e in kept
        )
        assert by_tool[tool]["compressed_blocks"] == sum(
            e.event == "compress" and e.outcome == "compressed" and not e.memo and e.tool == name
            for e in kept
        )
    tools = {r["group"]: r["tokens_before"] for r in found["by"]["tool"]}  # type: ignore[index]
    assert sum(tools.values()) == sum(e.tokens_before for e in kept if e.event == "compress")
    assert tools["Read"] == sum(e.tokens_before for e in kept if e.event == "compress" and e.tool == "Read")


def test_the_roll_up_is_written_in_the_events_transaction(tmp_path: Path) -> None:
    """A batch that fails leaves neither its events nor its roll-up behind."""
    path = tmp_path / "ledger.db"
    write(path, generated(50, seed=6))
    with closing(open_ledger_db(path)) as db:
        before = db.execute("SELECT SUM(n) FROM rollup").fetchone()
        db.execute("BEGIN IMMEDIATE")
        insert_events(db, generated(50, seed=7))
        db.execute("ROLLBACK")
        assert db.execute("SELECT SUM(n) FROM rollup").fetchone() == before == (50,)
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("SELECT COUNT(*) FROM events").fetchone() == (50,)
