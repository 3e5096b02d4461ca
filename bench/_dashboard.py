"""The dashboard's data at scale: ``/stats`` and ``/stats/history`` on a ledger of a million events.

A ledger of ``EVENTS`` generated events over 30 days (86% block compressions from four sources and
four models, 12% proxied requests with provider usage, 2% retrievals) is written with the ledger's own
insert path (which adds each batch to the daily roll-ups); then ``Headroom.stats`` with the
dashboard's panels (what ``GET /stats`` answers) and ``Headroom.stats_history``
(``GET /stats/history``) are timed over the whole ledger and over the last day, medians of ``RUNS``.
The query plans of the headline queries are printed so an unindexed scan is visible. Target (issue 20):
``/stats`` under 100 ms at this size.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from headroom import Config, Headroom
from headroom.integration import Event

from ._core import Check, Context, Section, median_ms
from ._format import fmt_ms, mark

EVENTS = int(os.environ.get("BENCH_DASHBOARD_EVENTS", "1000000"))
RUNS = 3
TARGET_MS = 100.0
_DAYS = 30


def _write_ledger(store: str, count: int) -> None:
    """``count`` events through an engine's own ledger writer, flushed in batches."""
    engine = Headroom(Config(store=store, cache_bytes=0))
    ledger = engine.ledger
    assert ledger is not None
    rnd = random.Random(20)
    now = time.time()
    start = now - _DAYS * 86_400
    kinds = ["json", "log", "code", "search", "diff", "text"]
    models = ["claude-sonnet-4-5", "gpt-5", "claude-haiku-4-5", None]
    sources = ["proxy", "library", "langchain", "agno"]
    for i in range(count):
        at = start + (now - start) * i / count
        draw = rnd.random()
        if draw < 0.12:
            event = Event(event="request", source="proxy", outcome="compressed", reason="retrieval rounds: 0",
                          model=rnd.choice(models[:3]), kind="messages", tokens_before=50_000,
                          tokens_after=30_000, ms=rnd.expovariate(0.5), time=at, usage_uncached=100,
                          usage_cache_read=40_000, usage_write_5m=1_000, usage_write_1h=0)  # fmt: skip
        elif draw < 0.14:
            event = Event(event="retrieve", source=rnd.choice(sources), outcome="found",
                          kind=rnd.choice(kinds), tokens_after=300, ms=0.5, ref=f"r{i}", time=at)  # fmt: skip
        else:
            before = rnd.randint(100, 5_000)
            event = Event(event="compress", source=rnd.choice(sources), outcome="compressed",
                          model=rnd.choice(models), kind=rnd.choice(kinds), compressor="json",
                          tokens_before=before, tokens_after=before // 3, ms=rnd.expovariate(1 / 3),
                          ref=f"r{i}", time=at)  # fmt: skip
        ledger.record(event)
        if i % 20_000 == 19_999:
            ledger.flush()
    engine.close()
    assert ledger.dropped == ledger.failed == 0


def _plans(path: Path) -> list[str]:
    """The query plans of the shapes the reports run (``_stats.rollup.facts``): the whole days from
    the roll-up, the partial first day from the events by their time index."""
    db = sqlite3.connect(path)
    edge = "SELECT model, tokens_before FROM events WHERE time >= 1e9 AND time < 1.1e9"
    queries = {
        "per model": "SELECT model, SUM(tokens_before) FROM (SELECT model, tokens_before FROM rollup"
        f" WHERE day >= 0 AND event = 'compress' UNION ALL {edge}) GROUP BY model",
        "latency": "SELECT bucket, SUM(n) FROM rollup_ms WHERE day >= 20000 AND source = 'proxy'"
        " GROUP BY bucket",
        "hourly": "SELECT CAST(time / 3600 AS INTEGER) AS start, COUNT(*) FROM events WHERE time >= 1e9"
        " GROUP BY start",
    }
    out = []
    for name, sql in queries.items():
        steps = [str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        out.append(f"{name}: {'; '.join(steps)}")
    db.close()
    return out


def run_dashboard(ctx: Context) -> Section:
    """``/stats`` and ``/stats/history`` over a generated ledger of ``EVENTS`` events."""
    section = Section("dashboard", f"dashboard data: /stats on a ledger of {EVENTS:,} events",
                      ["measure", "result", "target"], text_columns=1)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="headroom-dash-") as tmp:
        ctx.say(f"dashboard: writing a ledger of {EVENTS:,} events")
        started = time.perf_counter()
        _write_ledger(f"sqlite:///{tmp}/store.db", EVENTS)
        write_s = time.perf_counter() - started
        engine = Headroom(Config(store=f"sqlite:///{tmp}/store.db", ledger=False, cache_bytes=0))
        day = time.time() - 86_400
        calls = {
            "/stats, whole ledger": lambda: engine.stats(panels=True),
            "/stats, last day": lambda: engine.stats(day, panels=True),
            "/stats/history?bucket=day, whole ledger": lambda: engine.stats_history("day"),
            "/stats/history?bucket=hour, last day": lambda: engine.stats_history("hour", day),
        }
        figures = {name: median_ms(call, RUNS) for name, call in calls.items()}
        plans = _plans(Path(tmp) / "ledger.db")
        engine.close()
    section.rows.append([f"writing {EVENTS:,} events (the ledger's insert path)", f"{write_s:.1f} s", ""])
    for name, ms in figures.items():
        target = name.startswith("/stats,")
        section.rows.append([name, mark(fmt_ms(ms), ms < TARGET_MS) if target else fmt_ms(ms),
                             f"< {TARGET_MS:g} ms" if target else ""])  # fmt: skip
    section.rows += [[f"plan {plan}", "", ""] for plan in plans]
    whole = figures["/stats, whole ledger"]
    section.checks.append(Check(f"dashboard: /stats over {EVENTS:,} events < {TARGET_MS:g} ms",
                                whole < TARGET_MS, fmt_ms(whole)))  # fmt: skip
    section.data.update(events=EVENTS, write_s=write_s, ms=figures, plans=plans)
    return section
