"""``headroom stats`` and ``headroom perf``: what the ledger says headroom saved, and what it cost.

Both read the stats ledger of the configured store (``--store`` or ``HEADROOM_STORE``), filtered by
``--since`` and ``--source``; ``_stats.perf`` computes the numbers once and this module only presents them,
as rich tables or as JSON. Money is always labelled as list input price, with the price table's date.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._engine import Headroom
from .._errors import HeadroomError
from .._stats.perf import perf, stats
from .._stats.prices import Prices
from .._stats.read import ledger_for, parse_since
from .._stats.report import Perf, Stats, pct
from .._types import SOURCES

F = TypeVar("F", bound=Callable[..., Any])

_LABELS = {
    "compressed": "compressed",
    "too_small": "skipped: too small",
    "low_saving": "unchanged: saving too low",
    "excluded": "excluded",
    "bad_input": "passed through: bad input",
    "timed_out": "passed through: over time budget",
    "store_failed": "passed through: store failed",
    "failed": "passed through: failed",
}


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _filters(command: F) -> F:
    """The options ``stats`` and ``perf`` share."""
    command = click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")(command)
    command = click.option(
        "--source", type=click.Choice(SOURCES), default=None, help="Only events from this caller."
    )(command)
    return click.option(
        "--since", callback=_since, default=None, metavar="WHEN",
        help="Only events since WHEN: 30m, 24h, 7d, 2w, or an ISO date or datetime.",
    )(command)  # fmt: skip


@contextmanager
def _ledger(hr: Headroom) -> Iterator[tuple[sqlite3.Connection, Path, Prices]]:
    """The ledger of ``hr``'s store and the price table; a missing ledger file reads as empty."""
    try:
        with ledger_for(hr.config.store) as opened:
            yield opened
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from exc


def _console() -> Console:
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=120)


def _window(since: float | None, source: str | None) -> str:
    when = "all time" if since is None else f"since {datetime.fromtimestamp(since):%Y-%m-%d %H:%M}"
    return f"{when}, {'every source' if source is None else 'source ' + source}"


def _empty(console: Console, path: Path, since: float | None, source: str | None) -> None:
    console.print(f"No compressions recorded ({_window(since, source)}) in the ledger {path}.")
    console.print("Compress something with headroom (the ledger is on unless HEADROOM_LEDGER=false), "
                  "then run this again.")  # fmt: skip


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown price"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def _print_stats(console: Console, s: Stats, path: Path, window: str) -> None:
    table = Table(box=None, show_header=False, title=f"headroom stats ({window})", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("blocks", f"{s.events:,} seen, {s.compressed:,} compressed (the rest too small, fresh or"
                  " excluded: see headroom perf)")  # fmt: skip
    table.add_row(
        "tokens", f"{s.tokens_before:,} → {s.tokens_after:,} in those blocks (saved {s.saved_pct:.1f}%)"
    )
    r = s.requests
    if r.count:
        saved = pct(r.tokens_before - r.tokens_after, r.tokens_before)
        table.add_row("requests", f"{r.count:,} through the proxy, {r.compressed:,} compressed; whole"
                      f" conversations {r.tokens_before:,} → {r.tokens_after:,} tokens"
                      f" (saved {saved:.1f}%)")  # fmt: skip
    if s.list_price_saved_usd is not None:
        money = f"{_usd(s.list_price_saved_usd)} at list input price (prices as of {s.prices_as_of})"
        table.add_row("saved", money)
        if s.unpriced_tokens_saved:
            table.add_row("", f"+ {s.unpriced_tokens_saved:,} tokens for models without a list price")
    else:
        table.add_row("saved", f"{s.unpriced_tokens_saved:,} tokens; no list price (no known model given)")
    m = s.money
    if m.with_usage or m.without_usage:
        parts = []
        if m.with_usage:
            parts.append(f"{_usd(m.at_cache_mix)} at the actual cache mix ({m.with_usage:,} requests)")
        if m.without_usage:
            parts.append(f"{_usd(m.at_list_price)} at list price (no usage reported, {m.without_usage:,}"
                         " requests)")  # fmt: skip
        if m.our_busts:
            busts = f"{_usd(m.our_bust_usd)} re-writing {m.our_busts:,} cached prefixes we changed"
            table.add_row("requests saved", f"{' + '.join(parts)} - {busts} = {_usd(m.net_saved)}")
        else:
            table.add_row("requests saved", " + ".join(parts))
    if m.client_busts:
        table.add_row("client busts", f"{m.client_busts:,} requests re-wrote a cached prefix the client"
                      f" changed ({_usd(m.client_bust_usd)}; not ours)")  # fmt: skip
    if m.with_usage:
        listed = _usd(m.billed + m.provider_discount)
        table.add_row("cache discount", f"{_usd(m.provider_discount)}: the provider's prompt-cache discount"
                      f" on {listed} of prompts (not ours; billed {_usd(m.billed)})")  # fmt: skip
    table.add_row("ledger", str(path))
    console.print(table)


@click.command("stats")
@_filters
@click.pass_obj
def stats_command(hr: Headroom, since: float | None, source: str | None, as_json: bool) -> None:
    """The headline: events, tokens before and after, share saved, savings at list input price."""
    console = _console()
    with _ledger(hr) as (db, path, prices):
        result = stats(db, prices, since, source)
    if as_json:
        click.echo(json.dumps(result.as_json()))
    elif result.events == 0 and result.requests.count == 0:
        _empty(console, path, since, source)
    else:
        _print_stats(console, result, path, _window(since, source))


def _table(title: str, *columns: str, names: int = 1) -> Table:
    """A table whose first ``names`` columns hold names (left) and the rest numbers (right)."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < names else "right")
    return table


def _print_perf(console: Console, p: Perf, path: Path, window: str) -> None:
    _print_stats(console, p.stats, path, window)
    models = _table("per model", "model", "blocks", "tokens before", "tokens after", "saved", "saved %",
                    "at list input price")  # fmt: skip
    for m in p.models:
        models.add_row(m.model or "(no model given)", f"{m.blocks:,}", f"{m.tokens_before:,}",
                       f"{m.tokens_after:,}", f"{m.saved:,}", f"{m.saved_pct:.1f}%",
                       _usd(m.list_price_saved_usd))  # fmt: skip
    console.print(models)
    o = p.overhead
    overhead = _table(
        "overhead (time on the caller's thread)",
        "timed calls",
        "average",
        "p95",
        "max",
        "over 500 ms",
        names=0,
    )
    overhead.add_row(f"{o.count:,}", f"{o.avg_ms:,.1f} ms", f"{o.p95_ms:,.1f} ms", f"{o.max_ms:,.1f} ms",
                     f"{o.over_500ms:,}")  # fmt: skip
    console.print(overhead)
    q = p.stats.requests
    if q.count:
        requests = _table("proxy requests (its own time before forwarding, per request)", "requests",
                          "p50", "p95", "max", "cold starts", "cold start max", "retrieval rounds",
                          "output shaper", names=0)  # fmt: skip
        requests.add_row(f"{q.count:,}", f"{q.p50_ms:,.1f} ms", f"{q.p95_ms:,.1f} ms", f"{q.max_ms:,.1f} ms",
                         f"{q.cold_starts:,}", f"{q.cold_max_ms:,.1f} ms", f"{q.retrieval_rounds:,}",
                         f"{q.shaped:,} requests" if q.shaped else "off")  # fmt: skip
        console.print(requests)
        if q.ttfb_count:
            # the proxy's own time, and the retrieval rounds it ran before the client's first byte
            console.print(f"time to first byte added: p50 {q.ttfb_p50_ms:,.1f} ms, p95 "
                          f"{q.ttfb_p95_ms:,.1f} ms, max {q.ttfb_max_ms:,.1f} ms "
                          f"({q.ttfb_count:,} requests)")  # fmt: skip
    compressors = _table(
        "per compressor", "compressor", "uses", "kept", "avg reduction", "tokens saved", "avg ms"
    )
    for c in p.compressors:
        compressors.add_row(c.compressor, f"{c.uses:,}", f"{c.kept:,}", f"{c.avg_reduction_pct:.1f}%",
                            f"{c.tokens_saved:,}", f"{c.avg_ms:,.1f}")  # fmt: skip
    console.print(compressors)
    routing = _table("routing", "outcome", "blocks", "share", "reasons")
    routing.columns[3].justify = "left"
    routing.columns[3].overflow = "fold"
    for r in p.routing:
        reasons = "; ".join(f"{text} ({n:,})" for text, n in r.reasons)
        routing.add_row(_LABELS.get(r.outcome, r.outcome), f"{r.count:,}", f"{r.share_pct:.1f}%", reasons)
    console.print(routing)
    if p.memo_hits:
        console.print(f"memo hits: {p.memo_hits:,} blocks reused from earlier requests without recompressing")
    _print_retrievals(console, p)
    b = p.budget
    if b.stubbed or b.over_budget:
        console.print(f"budget: older tool results stubbed {b.stubbed:,} times "
                      f"({b.stubbed_tokens_saved:,} tokens), {b.over_budget:,} requests over "
                      "max_context_tokens")  # fmt: skip
    advice = Table.grid(padding=(0, 1))
    advice.add_column()
    advice.add_column()
    for line in p.recommendations or ["nothing stands out"]:
        advice.add_row(" •", Text(line))
    console.print()
    console.print("[bold]recommendations[/]")
    console.print(advice)


def _print_retrievals(console: Console, p: Perf) -> None:
    r = p.retrievals
    console.print(f"retrievals: {r.total:,} ({r.found:,} found, {r.not_found:,} not found, "
                  f"{r.with_query:,} with a query); {r.rate_pct:.1f}% of {r.compressed_blocks:,} "
                  "compressed blocks")  # fmt: skip
    for name, rows in (("kind", r.by_kind), ("tool", r.by_tool)):
        if rows:
            table = _table(f"retrievals by {name}", name, "retrievals", "compressed blocks", "rate")
            for row in rows:
                table.add_row(row.group, f"{row.retrievals:,}", f"{row.compressed_blocks:,}",
                              f"{row.rate_pct:.1f}%")  # fmt: skip
            console.print(table)


@click.command("perf")
@_filters
@click.pass_obj
def perf_command(hr: Headroom, since: float | None, source: str | None, as_json: bool) -> None:
    """The breakdown: per model, overhead, per compressor, routing, retrievals, recommendations."""
    console = _console()
    with _ledger(hr) as (db, path, prices):
        result = perf(db, prices, since, source)
    if as_json:
        click.echo(json.dumps(result.as_json()))
    elif result.stats.events == 0 and result.retrievals.total == 0 and result.stats.requests.count == 0:
        _empty(console, path, since, source)
    else:
        _print_perf(console, result, path, _window(since, source))
