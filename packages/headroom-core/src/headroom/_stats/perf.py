"""The ledger queries behind ``headroom stats`` and ``headroom perf``, each returning a ``report``.

Aggregates run in SQL (the ledger may hold millions of rows); the 95th percentile is the nearest-rank
value, read with one ``ORDER BY ... OFFSET`` query. Money is always list input price (see ``prices``),
and models without a known price are never guessed.
"""

from __future__ import annotations

import math
import sqlite3

from .._errors import ConfigError
from .advice import recommendations
from .db import where
from .events import (
    BUDGET,
    COMPRESS,
    COMPRESS_OUTCOMES,
    COMPRESSED,
    FOUND,
    NOT_FOUND,
    OVER_BUDGET,
    REQUEST,
    RETRIEVE,
    STUBBED,
)
from .money import Rates, Usage, request_money
from .prices import Prices
from .report import (
    SLOW_MS,
    Budget,
    CompressorRow,
    KindRetrievals,
    ModelRow,
    Overhead,
    Perf,
    RequestMoney,
    Requests,
    Retrievals,
    RouteRow,
    Stats,
    pct,
)


class _Query:
    """The ledger connection plus the ``--since``/``--source`` condition every query shares."""

    def __init__(self, db: sqlite3.Connection, since: float | None, source: str | None) -> None:
        self.db = db
        self.condition, self.params = where(since, source)

    def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        """``sql`` with ``{w}`` replaced by the window condition; ``params`` are its other named ones."""
        found: list[tuple[object, ...]] = self.db.execute(
            sql.replace("{w}", self.condition), {**self.params, **params}
        ).fetchall()
        return found


def _int(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def _models(q: _Query, prices: Prices) -> list[ModelRow]:
    rows = q.rows(
        "SELECT model, COUNT(*), SUM(tokens_before), SUM(tokens_after) FROM events"
        " WHERE {w} AND event = :compress GROUP BY model ORDER BY SUM(tokens_before - tokens_after) DESC",
        compress=COMPRESS,
    )
    out = []
    for model, count, before, after in rows:
        name = model if isinstance(model, str) else None
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
    ((count,),) = q.rows("SELECT COUNT(*) FROM events WHERE {w} AND event = :compress AND outcome = :ok",
                         compress=COMPRESS, ok=COMPRESSED)  # fmt: skip
    return _int(count)


def _nearest_rank(q: _Query, base: str, share: float, count: int, **params: object) -> float:
    """The nearest-rank percentile of ``ms`` over ``base`` (``count`` rows)."""
    if not count:
        return 0.0
    rank = math.ceil(share * count)  # the smallest value with ``share`` of the values at or below it
    ((value,),) = q.rows(f"SELECT ms {base} ORDER BY ms LIMIT 1 OFFSET :offset", offset=rank - 1, **params)
    return round(_float(value), 3)


def _requests(q: _Query) -> Requests:
    """The proxy's requests: counts, whole-conversation tokens, its own time (cold starts apart)."""
    cold = "reason LIKE '%cold start%'"
    ((count, compressed, before, after, shaped, rounds),) = q.rows(
        "SELECT COUNT(*), SUM(outcome = :ok), SUM(tokens_before), SUM(tokens_after),"
        " SUM(reason LIKE '%output shaper%'),"
        " SUM(CASE WHEN reason LIKE 'retrieval rounds: %' THEN CAST(substr(reason, 19) AS INTEGER) END)"
        " FROM events WHERE {w} AND event = :request",
        request=REQUEST, ok=COMPRESSED,
    )  # fmt: skip
    warm = f"FROM events WHERE {{w}} AND event = :request AND NOT {cold}"
    ((warm_count, warm_max),) = q.rows(f"SELECT COUNT(*), MAX(ms) {warm}", request=REQUEST)
    ((colds, cold_max),) = q.rows(f"SELECT COUNT(*), MAX(ms) FROM events WHERE {{w}} AND event = :request"
                                  f" AND {cold}", request=REQUEST)  # fmt: skip
    n = _int(warm_count)
    return Requests(
        count=_int(count), compressed=_int(compressed), tokens_before=_int(before), tokens_after=_int(after),
        retrieval_rounds=_int(rounds), p50_ms=_nearest_rank(q, warm, 0.5, n, request=REQUEST),
        p95_ms=_nearest_rank(q, warm, 0.95, n, request=REQUEST), max_ms=round(_float(warm_max), 3),
        cold_starts=_int(colds), cold_max_ms=round(_float(cold_max), 3), shaped=_int(shaped),
    )  # fmt: skip


def stats(db: sqlite3.Connection, prices: Prices, since: float | None = None,
          source: str | None = None) -> Stats:  # fmt: skip
    """The ``headroom stats`` headline for events after ``since`` (unix time) from ``source``."""
    q = _Query(db, since, source)
    return stats_from(_models(q, prices), prices, _compressed(q), _requests(q), _money(q, prices))


def _money(q: _Query, prices: Prices) -> RequestMoney:
    """The proxied requests priced one by one (``money.request_money``): at the cache mix their
    response reported, else at list price."""
    rows = q.rows(
        "SELECT model, tokens_before - tokens_after, usage_uncached, usage_cache_read, usage_write_5m,"
        " usage_write_1h FROM events WHERE {w} AND event = :request",
        request=REQUEST,
    )
    mix = listed = billed = discount = 0.0
    with_usage = without = unpriced = 0
    rates_of: dict[str | None, Rates | None] = {}
    for model, removed, uncached, read, five, hour in rows:
        name = None if model is None else str(model)
        if name not in rates_of:
            rates_of[name] = prices.rates(name)
        rates = rates_of[name]
        if rates is None:
            unpriced += 1
            continue
        usage = None if uncached is None else Usage(_int(uncached), _int(read), _int(five), _int(hour))
        figures = request_money(_int(removed), usage, rates)
        if figures.billed is None:
            listed, without = listed + figures.saved, without + 1
        else:
            mix, with_usage = mix + figures.saved, with_usage + 1
            billed += figures.billed
            discount += figures.provider_discount or 0.0
    return RequestMoney(mix, with_usage, listed, without, unpriced, billed, discount)


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


def _by_kind(rows: list[tuple[object, ...]]) -> dict[str, int]:
    return {str(kind): _int(n) for kind, n in rows if kind is not None}


def _retrievals(q: _Query) -> Retrievals:
    ((total, found, missing, with_query),) = q.rows(
        "SELECT COUNT(*), SUM(outcome = :found), SUM(outcome = :missing), SUM(has_query) FROM events"
        " WHERE {w} AND event = :retrieve",
        found=FOUND,
        missing=NOT_FOUND,
        retrieve=RETRIEVE,
    )
    blocks = _by_kind(
        q.rows(
            "SELECT kind, COUNT(DISTINCT ref) FROM events WHERE {w} AND event = :compress"
            " AND outcome = :ok AND ref IS NOT NULL GROUP BY kind",
            compress=COMPRESS,
            ok=COMPRESSED,
        )
    )
    retrieved = _by_kind(
        q.rows(
            "SELECT kind, COUNT(*) FROM events WHERE {w} AND event = :retrieve AND outcome = :found"
            " GROUP BY kind",
            retrieve=RETRIEVE,
            found=FOUND,
        )
    )
    kinds = sorted({*blocks, *retrieved})
    by_kind = [KindRetrievals(k, retrieved.get(k, 0), blocks.get(k, 0)) for k in kinds]
    by_kind.sort(key=lambda k: (-k.retrievals, k.kind))
    return Retrievals(_int(total), _int(found), _int(missing), _int(with_query),
                      sum(blocks.values()), by_kind)  # fmt: skip


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
            source: str | None = None) -> list[dict[str, object]]:  # fmt: skip
    """Per ``bucket`` (``hour``, ``day``, ``week``: UTC, weeks from the unix epoch's Thursday), the
    blocks' tokens before and after (``compress`` events: what ``stats`` counts) and the proxy's
    requests, oldest first; buckets without events are left out. One indexed range scan (``time``).

    Raises:
        ConfigError: ``bucket`` is not one of ``BUCKETS``.
    """
    width = BUCKETS.get(bucket)
    if width is None:
        raise ConfigError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    q = _Query(db, since, source)
    rows = q.rows(
        "SELECT CAST(time / :width AS INTEGER) * :width AS start,"
        " SUM(CASE WHEN event = :compress THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN event = :compress THEN tokens_before ELSE 0 END),"
        " SUM(CASE WHEN event = :compress THEN tokens_after ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN tokens_before ELSE 0 END),"
        " SUM(CASE WHEN event = :request THEN tokens_after ELSE 0 END)"
        " FROM events WHERE {w} GROUP BY start ORDER BY start",
        width=width, compress=COMPRESS, request=REQUEST,
    )  # fmt: skip
    names = ("start", "blocks", "tokens_before", "tokens_after", "requests", "request_tokens_before",
             "request_tokens_after")  # fmt: skip
    return [{name: _int(value) for name, value in zip(names, row, strict=True)} for row in rows]
