"""The ledger queries behind ``headroom stats`` and ``headroom perf``, each returning a ``report``.

Aggregates run in SQL (the ledger may hold millions of rows); the 95th percentile is the nearest-rank
value, read with one ``ORDER BY ... OFFSET`` query. Money is always list input price (see ``prices``),
and models without a known price are never guessed.
"""

from __future__ import annotations

import math
import sqlite3

from .._errors import ConfigError
from . import rollup
from .advice import recommendations
from .db import where
from .events import (
    BUDGET,
    CLIENT,
    COMPRESS,
    COMPRESS_OUTCOMES,
    COMPRESSED,
    FOUND,
    NOT_FOUND,
    OURS,
    OVER_BUDGET,
    REQUEST,
    RETRIEVE,
    STUBBED,
)
from .money import Shares, Usage, bust_usd, money_of
from .prices import Prices
from .report import (
    SLOW_MS,
    Budget,
    CompressorRow,
    ModelRow,
    Overhead,
    Perf,
    RequestMoney,
    Requests,
    RetrievalRow,
    Retrievals,
    RouteRow,
    Stats,
    pct,
)

GROUPS = ("source", "model", "kind", "tool")  # what ``history`` and ``panels`` split the blocks' tokens by


class _Query:
    """The ledger connection plus the ``--since``/``--source`` window every query shares: ``{w}`` is
    its condition on the events, ``{f}`` its facts (``rollup.facts``: the roll-up's whole days and the
    partial first day's events; only the events with ``hourly``), ``{t}`` the same of the split by
    tool, ``{l}`` its latency histogram."""

    def __init__(self, db: sqlite3.Connection, since: float | None, source: str | None,
                 *, hourly: bool = False) -> None:  # fmt: skip
        self.db = db
        self.condition, self.params = where(since, source)
        clause = "" if source is None else "AND source = :source"
        self.facts = rollup.facts("events" if hourly else rollup.ROLLUP.name, clause)
        self.tools = rollup.facts("events" if hourly else rollup.TOOLS.name, clause)
        self.latency = rollup.latency(clause)
        self.params.update(rollup.split(since), source=source)

    def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        """``sql`` with ``{w}``, ``{f}``, ``{t}`` and ``{l}`` filled in; ``params`` are its other named
        ones."""
        text = sql.replace("{w}", self.condition).replace("{f}", self.facts).replace("{t}", self.tools)
        text = text.replace("{l}", self.latency)
        found: list[tuple[object, ...]] = self.db.execute(text, {**self.params, **params}).fetchall()
        return found


def _of(group: str | None) -> str:
    """The facts that can be split by ``group``: the tool split's own roll-up for ``tool``."""
    return "{t}" if group == "tool" else "{f}"


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _models(q: _Query, prices: Prices) -> list[ModelRow]:
    rows = q.rows(
        "SELECT model, SUM(n), SUM(tokens_before), SUM(tokens_after) FROM ({f})"
        " WHERE event = :compress GROUP BY model ORDER BY SUM(tokens_before - tokens_after) DESC",
        compress=COMPRESS,
    )
    out = []
    for model, count, before, after in rows:
        name = model if isinstance(model, str) and model else None
        out.append(ModelRow(name, _int(count), _int(before), _int(after),
                            prices.usd(name, _int(before) - _int(after))))  # fmt: skip
    return out


def stats_from(models: list[ModelRow], prices: Prices, compressed: int = 0,
               requests: Requests | None = None, money: RequestMoney | None = None) -> Stats:  # fmt: skip
    """The headline from the per-model rows."""
    priced = [m.list_price_saved_usd for m in models if m.list_price_saved_usd is not None]
    return Stats(
        events=sum(m.blocks for m in models),
        tokens_before=sum(m.tokens_before for m in models),
        tokens_after=sum(m.tokens_after for m in models),
        list_price_saved_usd=sum(priced) if priced else None,
        unpriced_tokens_saved=sum(m.saved for m in models if m.list_price_saved_usd is None),
        prices_as_of=prices.as_of,
        compressed=compressed,
        requests=requests or Requests(),
        money=money or RequestMoney(),
    )


def _compressed(q: _Query) -> int:
    ((count,),) = q.rows("SELECT SUM(n) FROM ({f}) WHERE event = :compress AND outcome = :ok",
                         compress=COMPRESS, ok=COMPRESSED)  # fmt: skip
    return _int(count)


def _nearest_rank(q: _Query, base: str, share: float, count: int, **params: object) -> float:
    """The nearest-rank percentile of ``ms`` over ``base`` (``count`` rows)."""
    if not count:
        return 0.0
    rank = math.ceil(share * count)  # the smallest value with ``share`` of the values at or below it
    ((value,),) = q.rows(f"SELECT ms {base} ORDER BY ms LIMIT 1 OFFSET :offset", offset=rank - 1, **params)
    return round(_float(value), 3)


def _percentiles(q: _Query, event: str, shares: tuple[float, ...], peak: float) -> list[float]:
    """The nearest-rank percentiles of ``event``'s warm times, from the latency histogram: each the
    upper edge of its bucket (at most 5% above the true value), never above the window's ``peak``."""
    rows = q.rows("SELECT bucket, SUM(n) FROM ({l}) WHERE event = :event AND cold = 0 GROUP BY bucket"
                  " ORDER BY bucket", event=event)  # fmt: skip
    total = sum(_int(n) for _, n in rows)
    found = []
    for share in shares:
        rank, seen, value = math.ceil(share * total), 0, 0.0
        for bucket, n in rows:
            seen += _int(n)
            if seen >= rank:
                value = min(rollup.bucket_ms(_int(bucket)), peak)
                break
        found.append(round(value, 3) if total else 0.0)
    return found


def _requests(q: _Query) -> Requests:
    """The proxy's requests: counts, whole-conversation tokens, its own time and the time to first
    byte it added (cold starts apart)."""
    rows = q.rows(
        "SELECT cold, SUM(n), SUM(CASE WHEN outcome = :ok THEN n ELSE 0 END), SUM(tokens_before),"
        " SUM(tokens_after), SUM(shaped), SUM(rounds), SUM(ttfb_n), MAX(ms_max), MAX(ttfb_max)"
        " FROM ({f}) WHERE event = :request GROUP BY cold",
        request=REQUEST, ok=COMPRESSED,
    )  # fmt: skip
    by_cold = {_int(row[0]): row[1:] for row in rows}
    warm, cold = by_cold.get(0, (0,) * 9), by_cold.get(1, (0,) * 9)
    summed = (_int(w) + _int(c) for w, c in zip(warm[:6], cold[:6], strict=True))
    count, compressed, before, after, shaped, rounds = summed
    peak, first_peak = round(_float(warm[7]), 3), round(_float(warm[8]), 3)
    p50, p95 = _percentiles(q, REQUEST, (0.5, 0.95), peak)
    first50, first95 = _percentiles(q, rollup.TTFB, (0.5, 0.95), first_peak)
    return Requests(
        count=count, compressed=compressed, tokens_before=before, tokens_after=after,
        retrieval_rounds=rounds, p50_ms=p50, p95_ms=p95, max_ms=peak, cold_starts=_int(cold[0]),
        cold_max_ms=round(_float(cold[7]), 3), shaped=shaped, ttfb_count=_int(warm[6]),
        ttfb_p50_ms=first50, ttfb_p95_ms=first95, ttfb_max_ms=first_peak,
    )  # fmt: skip


def stats(db: sqlite3.Connection, prices: Prices, since: float | None = None,
          source: str | None = None) -> Stats:  # fmt: skip
    """The ``headroom stats`` headline for events after ``since`` (unix time) from ``source``."""
    q = _Query(db, since, source)
    return stats_from(_models(q, prices), prices, _compressed(q), _requests(q), _money(q, prices))


def panels(
    db: sqlite3.Connection, prices: Prices, since: float | None = None, source: str | None = None
) -> dict[str, object]:
    """What the dashboard shows beside the ``stats`` headline, over the same window: the blocks'
    tokens split by each of ``GROUPS`` (each split sums to the headline), the retrievals, what the
    client changed when it busted the cache, every source in the ledger (for the source filter,
    whatever the window) and the price table's date."""
    q = _Query(db, since, source)
    by: dict[str, list[dict[str, object]]] = {}
    for group in GROUPS:
        rows = q.rows(f"SELECT {group}, SUM(n), SUM(tokens_before), SUM(tokens_after) FROM ({_of(group)})"
                      f" WHERE event = :compress GROUP BY {group} ORDER BY SUM(tokens_before - tokens_after)"
                      " DESC", compress=COMPRESS)  # fmt: skip
        by[group] = [{"group": str(name) or "unknown", "blocks": _int(n), "tokens_before": _int(before),
                      "tokens_after": _int(after), "saved": _int(before) - _int(after)}
                     for name, n, before, after in rows]  # fmt: skip
    sources = [str(name) for (name,) in db.execute("SELECT DISTINCT source FROM rollup ORDER BY source")]
    return {"by": by, "retrievals": _retrievals(q).as_json(), "sources": sources,
            "client_busts": _client_busts(q), "prices_as_of": prices.as_of}  # fmt: skip


def _client_busts(q: _Query) -> list[dict[str, object]]:
    """What the client changed on the requests whose cache it busted, most frequent first (five at
    most), from the events (by the partial index of busts: they are rare)."""
    named: dict[str, int] = {}
    for reason, count in q.rows("SELECT reason, COUNT(*) FROM events WHERE {w} AND bust = :client"
                                " GROUP BY reason", client=CLIENT):  # fmt: skip
        name = str(reason).partition("bust: ")[2] or "unknown"
        named[name] = named.get(name, 0) + _int(count)
    top = sorted(named.items(), key=lambda item: (-item[1], item[0]))[:5]
    return [{"named": name, "requests": count} for name, count in top]


def _money(q: _Query, prices: Prices) -> RequestMoney:
    """The proxied requests priced by the definitions of ``money`` (summed per model: ``money_of``):
    at the cache mix their responses reported, else at list price."""
    rows = q.rows(
        "SELECT model, SUM(n), SUM(usage_n), SUM(usage_uncached), SUM(usage_cache_read),"
        " SUM(usage_write_5m), SUM(usage_write_1h), SUM(removed_uncached), SUM(removed_cache_read),"
        " SUM(removed_write_5m), SUM(removed_write_1h), SUM(removed_listed), bust, SUM(bust_write_5m),"
        " SUM(bust_write_1h), SUM(bust_uncached) FROM ({f}) WHERE event = :request GROUP BY model, bust",
        request=REQUEST,
    )
    mix = listed = billed = discount = 0.0
    with_usage = without = unpriced = 0
    busts: dict[str, list[float]] = {OURS: [0, 0.0], CLIENT: [0, 0.0]}  # who -> [requests, USD]
    for model, count, usage_n, *sums in rows:
        rates = prices.rates(model if isinstance(model, str) and model else None)
        if rates is None:
            unpriced += _int(count)
            continue
        usage = Usage(*(_int(v) for v in sums[:4]))
        figures = money_of(Shares(*(_float(v) for v in sums[4:8])), _float(sums[8]), usage, rates)
        mix, listed = mix + figures.at_cache_mix, listed + figures.at_list_price
        billed, discount = billed + figures.billed, discount + figures.provider_discount
        with_usage, without = with_usage + _int(usage_n), without + _int(count) - _int(usage_n)
        who = busts.get(str(sums[9]))
        if who is not None:
            who[0] += _int(count)
            who[1] += bust_usd(_int(sums[10]), _int(sums[11]), _int(sums[12]), rates)
    ours, client = busts[OURS], busts[CLIENT]
    return RequestMoney(mix, with_usage, listed, without, unpriced, billed, discount,
                        int(ours[0]), ours[1], int(client[0]), client[1])  # fmt: skip


def _overhead(q: _Query) -> Overhead:
    base = "FROM events WHERE {w} AND event = :compress AND memo = 0"
    ((count, avg, peak, slow),) = q.rows(
        f"SELECT COUNT(*), AVG(ms), MAX(ms), SUM(ms > :slow) {base}", compress=COMPRESS, slow=SLOW_MS
    )
    n = _int(count)
    p95 = _nearest_rank(q, base, 0.95, n, compress=COMPRESS)
    return Overhead(n, round(_float(avg), 3), p95, round(_float(peak), 3), _int(slow))


def _compressors(q: _Query) -> list[CompressorRow]:
    rows = q.rows(
        "SELECT compressor, COUNT(*), SUM(outcome = :ok),"
        " AVG(CASE WHEN outcome = :ok AND tokens_before > 0"
        "     THEN 1.0 - CAST(tokens_after AS REAL) / tokens_before END),"
        " SUM(CASE WHEN outcome = :ok THEN tokens_before - tokens_after ELSE 0 END), AVG(ms)"
        " FROM events WHERE {w} AND event = :compress AND memo = 0 AND compressor IS NOT NULL"
        " GROUP BY compressor ORDER BY 5 DESC, 2 DESC",
        ok=COMPRESSED,
        compress=COMPRESS,
    )
    return [
        CompressorRow(
            str(c), _int(uses), _int(kept), round(100 * _float(avg), 1), _int(saved), round(_float(ms), 3)
        )
        for c, uses, kept, avg, saved, ms in rows
    ]


def reason_group(reason: str) -> str:
    """A reason without its per-event number: ``212 tokens < min_tokens 300`` -> ``< min_tokens 300``."""
    head, sep, rule = reason.partition(" < ")
    return f"< {rule}" if sep and head else reason


def _routing(q: _Query) -> tuple[list[RouteRow], int]:
    rows = q.rows(
        "SELECT outcome, reason, COUNT(*), SUM(memo) FROM events WHERE {w} AND event = :compress"
        " GROUP BY outcome, reason",
        compress=COMPRESS,
    )
    counts: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    memo = 0
    for outcome, reason, count, memo_count in rows:
        name, n = str(outcome), _int(count)
        counts[name] = counts.get(name, 0) + n
        memo += _int(memo_count)
        if reason:
            group = reasons.setdefault(name, {})
            key = reason_group(str(reason))
            group[key] = group.get(key, 0) + n
    total = sum(counts.values())
    order: dict[str, int] = {name: i for i, name in enumerate(COMPRESS_OUTCOMES)}
    routing = [
        RouteRow(name, n, pct(n, total),
                 sorted(reasons.get(name, {}).items(), key=lambda item: (-item[1], item[0]))[:3])
        for name, n in sorted(counts.items(), key=lambda item: (order.get(item[0], 99), item[0]))
    ]  # fmt: skip
    return routing, memo


def _by_group(rows: list[tuple[object, ...]]) -> dict[str, int]:
    return {str(group) or "unknown": _int(n) for group, n in rows if group is not None}


def _retrieval_rows(q: _Query, group: str) -> list[RetrievalRow]:
    """Per ``group`` (``kind`` or ``tool``), found retrievals against the blocks compressed fresh."""
    blocks = _by_group(q.rows(f"SELECT {group}, SUM(fresh_refs) FROM ({_of(group)}) WHERE event = :compress"
                              f" AND fresh_refs > 0 GROUP BY {group}", compress=COMPRESS))  # fmt: skip
    retrieved = _by_group(q.rows(f"SELECT {group}, SUM(n) FROM ({_of(group)}) WHERE event = :retrieve"
                                 f" AND outcome = :found GROUP BY {group}",
                                 retrieve=RETRIEVE, found=FOUND))  # fmt: skip
    out = [RetrievalRow(name, retrieved.get(name, 0), blocks.get(name, 0)) for name in {*blocks, *retrieved}]
    out.sort(key=lambda row: (-row.retrievals, row.group))
    return out


def _retrievals(q: _Query) -> Retrievals:
    """Retrievals, and per kind and per tool the blocks compressed fresh (not a reuse) whose original
    was stored."""
    ((total, found, missing, with_query),) = q.rows(
        "SELECT SUM(n), SUM(CASE WHEN outcome = :found THEN n ELSE 0 END),"
        " SUM(CASE WHEN outcome = :missing THEN n ELSE 0 END), SUM(has_query) FROM ({f})"
        " WHERE event = :retrieve",
        found=FOUND, missing=NOT_FOUND, retrieve=RETRIEVE,
    )  # fmt: skip
    by_kind = _retrieval_rows(q, "kind")
    compressed = sum(row.compressed_blocks for row in by_kind)
    return Retrievals(_int(total), _int(found), _int(missing), _int(with_query), compressed, by_kind,
                      _retrieval_rows(q, "tool"))  # fmt: skip


def _budget(q: _Query) -> Budget:
    ((stubbed, saved, over),) = q.rows(
        "SELECT SUM(outcome = :stubbed),"
        " SUM(CASE WHEN outcome = :stubbed THEN tokens_before - tokens_after END),"
        " SUM(outcome = :over) FROM events WHERE {w} AND event = :budget",
        stubbed=STUBBED,
        over=OVER_BUDGET,
        budget=BUDGET,
    )
    return Budget(_int(stubbed), _int(saved), _int(over))


def perf(db: sqlite3.Connection, prices: Prices, since: float | None = None,
         source: str | None = None) -> Perf:  # fmt: skip
    """The ``headroom perf`` breakdown for events after ``since`` (unix time) from ``source``."""
    q = _Query(db, since, source)
    models = _models(q, prices)
    routing, memo = _routing(q)
    headline = stats_from(models, prices, _compressed(q), _requests(q), _money(q, prices))
    result = Perf(headline, models, _overhead(q), _compressors(q), routing, memo, _retrievals(q), _budget(q))
    result.recommendations.extend(recommendations(result))
    return result


BUCKETS: dict[str, int] = {"hour": 3600, "day": 86_400, "week": 604_800}  # seconds, buckets in UTC


def history(db: sqlite3.Connection, bucket: str, since: float | None = None,
            source: str | None = None, by: str | None = None) -> list[dict[str, object]]:  # fmt: skip
    """Per ``bucket`` (``hour``, ``day``, ``week``: UTC, weeks from the unix epoch's Thursday), the
    blocks' tokens before and after (``compress`` events: what ``stats`` counts) and the proxy's
    requests, oldest first; buckets without events are left out. ``by`` (one of ``GROUPS``) splits
    each bucket into one row per source, model, kind or tool (``group``; ``unknown`` when not recorded).
    Days and weeks read the roll-ups; hours read the events (one indexed range scan of ``time``).

    Raises:
        ConfigError: ``bucket`` is not one of ``BUCKETS``, or ``by`` not one of ``GROUPS``.
    """
    width = BUCKETS.get(bucket)
    if width is None:
        raise ConfigError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    if by is not None and by not in GROUPS:
        raise ConfigError(f"by must be one of {', '.join(GROUPS)}, not {by!r}")
    q = _Query(db, since, source, hourly=bucket == "hour")
    group = f", {by}" if by else ""
    rows = q.rows(
        f"SELECT CAST(start / :width AS INTEGER) * :width AS bucket_start{group},"
        " SUM(CASE WHEN event = :compress THEN n ELSE 0 END),"
        " SUM(CASE WHEN event = :compress THEN tokens_before ELSE 0 END),"
        " SUM(CASE WHEN event = :compress THEN tokens_after ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN n ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN tokens_before ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN tokens_after ELSE 0 END)"
        f" FROM ({_of(by)}) GROUP BY bucket_start{group} ORDER BY bucket_start{group}",
        width=width, compress=COMPRESS, request=REQUEST,
    )  # fmt: skip
    names = ("start", "blocks", "tokens_before", "tokens_after", "requests", "request_tokens_before",
             "request_tokens_after")  # fmt: skip
    out: list[dict[str, object]] = []
    for row in rows:
        values = list(row)
        label = str(values.pop(1) or "unknown") if by else None
        item: dict[str, object] = {name: _int(value) for name, value in zip(names, values, strict=True)}
        if label is not None:
            item["group"] = label
        out.append(item)
    return out
