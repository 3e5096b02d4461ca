"""The dashboard's data at scale: ``/stats`` and ``/stats/history`` on a ledger of a million events.

A ledger of ``EVENTS`` generated events over 30 days (86% block compressions from four sources, four
models, six kinds and thirteen tools, 12% proxied requests with provider usage, 2% retrievals) is
written with the ledger's own insert path (which adds each batch to the daily roll-ups); then
``Headroom.stats`` with the dashboard's panels (what ``GET /stats`` answers) and ``Headroom.stats_history``
(``GET /stats/history``) are timed over the whole ledger and over the last day, medians of ``RUNS``.
The query plans of the headline queries are printed so an unindexed scan is visible. Then the page
itself is loaded in Debian's chromium (Playwright) from a proxy on that ledger, until every figure and
chart is drawn. Targets (issue 20): ``/stats`` under 100 ms and the page under 1 s at this size.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
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
PAGE_MS = 1000.0  # the page, loaded and drawn (issue 20)
CHROMIUM = "/usr/bin/chromium"
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
    # a coding agent's tools and an MCP server's (None: a text that was no tool's result)
    tools = ["Bash", "Read", "Grep", "Glob", "WebFetch", "Task", "mcp__github__list_issues",
             "mcp__github__get_file", "mcp__jira__search", "mcp__db__query", "shell", "read_file",
             None]  # fmt: skip
    for i in range(count):
        at = start + (now - start) * i / count
        draw = rnd.random()
        if draw < 0.12:
            event = Event(event="request", source="proxy", outcome="compressed", reason="retrieval rounds: 0",
                          model=rnd.choice(models[:3]), kind="messages", tokens_before=50_000,
                          tokens_after=30_000, ms=rnd.expovariate(0.5), time=at, usage_uncached=100,
                          usage_cache_read=40_000, usage_write_5m=1_000, usage_write_1h=0,
                          ttfb_ms=rnd.expovariate(0.4))  # fmt: skip
        elif draw < 0.14:
            event = Event(event="retrieve", source=rnd.choice(sources), outcome="found",
                          kind=rnd.choice(kinds), tokens_after=300, ms=0.5, ref=f"r{i}", time=at,
                          tool=rnd.choice(tools))  # fmt: skip
        else:
            before = rnd.randint(100, 5_000)
            event = Event(event="compress", source=rnd.choice(sources), outcome="compressed",
                          model=rnd.choice(models), kind=rnd.choice(kinds), compressor="json",
                          tokens_before=before, tokens_after=before // 3, ms=rnd.expovariate(1 / 3),
                          ref=f"r{i}", time=at, tool=rnd.choice(tools))  # fmt: skip
        ledger.record(event)
        if i % 20_000 == 19_999:
            ledger.flush()
    engine.close()
    assert ledger.dropped == ledger.failed == 0


def _plans(path: Path) -> list[str]:
    """The query plans of the shapes the reports run (``_stats.rollup.facts``): the whole days from
    the roll-up, the whole hours before them from the hourly one, the partial first hour from the
    events by their time index."""
    db = sqlite3.connect(path)
    edge = "SELECT model, tokens_before FROM events WHERE time >= 1e9 AND time < 1.1e9"
    queries = {
        "per model": "SELECT model, SUM(tokens_before) FROM (SELECT model, tokens_before FROM rollup"
        f" WHERE day >= 0 AND event = 'compress' UNION ALL SELECT model, tokens_before FROM rollup_hour"
        f" WHERE hour >= 0 AND hour < 24 AND event = 'compress' UNION ALL {edge}) GROUP BY model",
        "per tool": "SELECT tool, SUM(tokens_before) FROM rollup_tool WHERE day >= 0 AND event = 'compress'"
        " GROUP BY tool",
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


def _page_loads(store: str) -> dict[str, float] | None:
    """Medians of ``RUNS``: the dashboard loaded in chromium until every figure and chart is drawn
    (``body[data-ready]``), with its default window (24 hours) and switched to the whole ledger; None
    without Debian's chromium."""
    if not Path(CHROMIUM).exists():
        return None
    from headroom_proxy import ProxySettings, create_app
    from playwright.sync_api import sync_playwright

    from ._proxy import _Thread

    engine = Headroom(Config(store=store, ledger=False, cache_bytes=0), source="proxy")
    server = _Thread(create_app(settings=ProxySettings(), headroom=engine))
    url = f"http://127.0.0.1:{server.port}/dashboard"
    loads: list[float] = []
    switches: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for _ in range(RUNS):
                page = browser.new_context().new_page()
                started = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-ready=true]", timeout=30_000)
                loads.append((time.perf_counter() - started) * 1000)
                page.evaluate("document.body.dataset.ready = 'false'")
                started = time.perf_counter()
                page.select_option("#since", "")
                page.wait_for_selector("body[data-ready=true]", timeout=30_000)
                switches.append((time.perf_counter() - started) * 1000)
                page.context.close()
            browser.close()
    finally:
        server.stop()
        engine.close()
    return {"page load (last 24 hours)": statistics.median(loads),
            "page switched to the whole ledger": statistics.median(switches)}  # fmt: skip


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
        ctx.say("dashboard: loading the page in chromium")
        pages = _page_loads(f"sqlite:///{tmp}/store.db")
    section.rows.append([f"writing {EVENTS:,} events (the ledger's insert path)", f"{write_s:.1f} s", ""])
    for name, ms in figures.items():
        target = name.startswith("/stats,")
        section.rows.append([name, mark(fmt_ms(ms), ms < TARGET_MS) if target else fmt_ms(ms),
                             f"< {TARGET_MS:g} ms" if target else ""])  # fmt: skip
    if pages is None:
        section.rows.append(["page load in chromium", "skipped: no /usr/bin/chromium (make browser)", ""])
    for name, ms in (pages or {}).items():
        section.rows.append([name, mark(fmt_ms(ms), ms < PAGE_MS), f"< {PAGE_MS:g} ms"])
        section.checks.append(Check(f"dashboard: {name} over {EVENTS:,} events < {PAGE_MS:g} ms",
                                    ms < PAGE_MS, fmt_ms(ms)))  # fmt: skip
    section.rows += [[f"plan {plan}", "", ""] for plan in plans]
    whole = figures["/stats, whole ledger"]
    section.checks.append(Check(f"dashboard: /stats over {EVENTS:,} events < {TARGET_MS:g} ms",
                                whole < TARGET_MS, fmt_ms(whole)))  # fmt: skip
    section.data.update(events=EVENTS, write_s=write_s, ms=figures, pages_ms=pages, plans=plans)
    return section
