"""Daily and hourly roll-ups of the ledger, so a report over months reads a few thousand rows, not
millions.

The writer adds every batch of events to these tables in the same transaction as the events
(``add_batch``), so they can never disagree:

- ``rollup``: per UTC day and (event, source, outcome, model, kind, memo, cold start, bust), the
  counts and sums every report needs: tokens, milliseconds (sum and max), retrieval rounds, shaped
  requests, freshly compressed blocks, the billed usage, and the removed tokens of each request
  attributed to the parts of its prompt (``removed * part / prompt``), which keeps money linear: a
  saving at the cache mix is the sum of those times each part's rate, so a price override applies to
  the past; the tokens cache busts made the provider write again, by how they were billed; and the
  time to first byte added (count and max);
- ``rollup_tool``: per UTC day and (event, source, outcome, tool), the blocks and tokens and the
  freshly compressed blocks: the split by tool, kept apart because a coding agent's dozens of tools
  would multiply the rows every other report reads;
- ``rollup_ms``: the same days' latency histogram (requests and fresh compressions, and the time to
  first byte the proxy added, ``TTFB``), in buckets 5% wide, for the percentiles;
- each with an hourly twin (``<name>_hour``, keyed by ``hour``), for a window's partial first day.

One SQL definition of a row's facts (``RAW_FACTS``) feeds both the writer and the reports: a report
over ``since`` reads the whole days after it from the daily tables, the whole hours before them from
the hourly ones and only the partial first hour from the events (``facts``, ``split``), by the
``events_time`` index.
"""

from __future__ import annotations

import math
import sqlite3

from .events import COMPRESS, COMPRESSED, REQUEST

DAY = 86_400
HOUR = 3600
MS_FLOOR = 0.01  # bucket 0 holds every time at or under 10 microseconds
MS_RATIO = 1.05  # a bucket's upper edge is 5% above its lower one

_SUMS = (
    "n", "tokens_before", "tokens_after", "ms", "has_query", "shaped", "rounds", "fresh_refs",
    "usage_n", "usage_uncached", "usage_cache_read", "usage_write_5m", "usage_write_1h",
    "removed_uncached", "removed_cache_read", "removed_write_5m", "removed_write_1h", "removed_listed",
    "bust_write_5m", "bust_write_1h", "bust_uncached", "ttfb_n",
)  # fmt: skip
_MAXES = ("ms_max", "ttfb_max")
_KEY = ("day", "event", "source", "outcome", "model", "kind", "memo", "cold", "bust", "tool")


class _Table:
    """A roll-up table: its key columns (the first ``day``, or ``hour`` for the hourly twin), the sums
    it keeps of them, and the maxima."""

    def __init__(
        self, name: str, key: tuple[str, ...], sums: tuple[str, ...], maxes: tuple[str, ...]
    ) -> None:
        self.name, self.key, self.sums, self.maxes = name, key, sums, maxes
        self.columns = ", ".join([*key, *sums, *maxes])
        rest = ", ".join([*key[1:], *sums, *maxes])
        # as the facts' columns: ``start``, ``day``, then the rest
        unit = "day * 86400 AS start, day" if key[0] == "day" else "hour * 3600 AS start, hour / 24 AS day"
        self.facts = f"{unit}, {rest}"

    def hourly(self) -> _Table:
        """The same roll-up per UTC hour (``<name>_hour``): a window's first partial day."""
        return _Table(f"{self.name}_hour", ("hour", *self.key[1:]), self.sums, self.maxes)


# the roll-up of every figure, without the tool (tools multiply its rows), and the tool split's own
ROLLUP = _Table("rollup", tuple(k for k in _KEY if k != "tool"), _SUMS, _MAXES)
TOOLS = _Table("rollup_tool", ("day", "event", "source", "outcome", "tool"),
               ("n", "tokens_before", "tokens_after", "fresh_refs"), ())  # fmt: skip
HOURLY = {ROLLUP.name: ROLLUP.hourly(), TOOLS.name: TOOLS.hourly()}
TABLES = (ROLLUP, TOOLS, *HOURLY.values())
_HISTOGRAMS = (("rollup_ms", "day"), ("rollup_ms_hour", "hour"))  # the latency histogram, daily and hourly
FACT_COLUMNS = ("start", "hour", *_KEY, *_SUMS, *_MAXES)
TTFB = "ttfb"  # the latency histogram's series of the time to first byte the proxy added

_PROMPT = (
    "(COALESCE(usage_uncached, 0) + COALESCE(usage_cache_read, 0) + COALESCE(usage_write_5m, 0)"
    " + COALESCE(usage_write_1h, 0))"
)
_REMOVED = "MAX(tokens_before - tokens_after, 0)"


def _share(part: str) -> str:
    return f"CASE WHEN {_PROMPT} > 0 THEN {_REMOVED} * 1.0 * {part} / {_PROMPT} ELSE 0 END"


# one event row as the roll-up's columns (FACT_COLUMNS, in order); the event constants are literals
RAW_FACTS = (
        "time", f"CAST(time / {HOUR} AS INTEGER)", f"CAST(time / {DAY} AS INTEGER)", "event", "source",
        "outcome", "COALESCE(model, '')",
        "COALESCE(kind, '')", "memo", f"(event = '{REQUEST}' AND reason LIKE '%cold start%')",
        "COALESCE(bust, '')", "COALESCE(tool, '')",
        "1", "tokens_before", "tokens_after", "ms", "has_query", "(reason LIKE '%output shaper%')",
        "CASE WHEN reason LIKE 'retrieval rounds: %' THEN CAST(substr(reason, 19) AS INTEGER) ELSE 0 END",
        f"(event = '{COMPRESS}' AND outcome = '{COMPRESSED}' AND memo = 0 AND ref IS NOT NULL)",
        "(usage_uncached IS NOT NULL)", "COALESCE(usage_uncached, 0)", "COALESCE(usage_cache_read, 0)",
        "COALESCE(usage_write_5m, 0)", "COALESCE(usage_write_1h, 0)",
        _share("COALESCE(usage_uncached, 0)"), _share("COALESCE(usage_cache_read, 0)"),
        _share("COALESCE(usage_write_5m, 0)"), _share("COALESCE(usage_write_1h, 0)"),
        f"CASE WHEN event = '{REQUEST}' AND NOT {_PROMPT} > 0 THEN {_REMOVED} ELSE 0 END",
        *(f"CASE WHEN bust_part = '{part}' THEN bust_tokens ELSE 0 END"
          for part in ("write_5m", "write_1h", "uncached")),
        "(ttfb_ms IS NOT NULL)",
        "ms", "COALESCE(ttfb_ms, 0)",
)  # fmt: skip
_RAW = ", ".join(f"{expr} AS {name}" for expr, name in zip(RAW_FACTS, FACT_COLUMNS, strict=True))


def ms_bucket(ms: float | None) -> int:
    """The latency histogram's bucket of ``ms`` milliseconds."""
    if ms is None or ms <= MS_FLOOR:
        return 0
    return max(math.ceil(math.log(ms / MS_FLOOR) / math.log(MS_RATIO)), 1)


def bucket_ms(bucket: int) -> float:
    """The upper edge of ``bucket``, in milliseconds (a percentile is reported as it)."""
    return MS_FLOOR * MS_RATIO**bucket


def prepare(db: sqlite3.Connection) -> None:
    """Give ``db`` the SQL function the roll-ups use (``ms_bucket``): every ledger connection."""
    db.create_function("ms_bucket", 1, ms_bucket, deterministic=True)


def create_tables(db: sqlite3.Connection) -> None:
    """The roll-up tables, empty (a migration)."""
    for table in TABLES:
        keys = ", ".join(f"{k} {'INTEGER' if k in ('day', 'hour', 'memo', 'cold') else 'TEXT'} NOT NULL"
                         for k in table.key)  # fmt: skip
        sums = ", ".join(f"{s} {'REAL' if s == 'ms' or s.startswith('removed') else 'INTEGER'} NOT NULL"
                         for s in table.sums)  # fmt: skip
        peak = "".join(f", {m} REAL NOT NULL" for m in table.maxes)
        db.execute(f"CREATE TABLE {table.name} ({keys}, {sums}{peak},"
                   f" PRIMARY KEY ({', '.join(table.key)})) WITHOUT ROWID")  # fmt: skip
    for name, unit in _HISTOGRAMS:
        db.execute(
            f"CREATE TABLE {name} ({unit} INTEGER NOT NULL, event TEXT NOT NULL, source TEXT NOT NULL,"
            " cold INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,"
            f" PRIMARY KEY ({unit}, event, source, cold, bucket)) WITHOUT ROWID"
        )


def rebuild(db: sqlite3.Connection) -> None:
    """The roll-up tables made again, at this schema, from every event in the file (a migration)."""
    for name in [*(t.name for t in TABLES), *(name for name, _ in _HISTOGRAMS)]:
        db.execute(f"DROP TABLE IF EXISTS {name}")
    create_tables(db)
    add_batch(db, after_id=0)


def last_id(db: sqlite3.Connection) -> int:
    """The largest event id so far: ``add_batch(db, last_id(db))`` after an insert adds what it wrote."""
    ((found,),) = db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchall()
    return int(found)


def add_batch(db: sqlite3.Connection, after_id: int) -> None:
    """Add the events with ids above ``after_id`` to the roll-ups (inside the caller's transaction)."""
    prepare(db)
    for table in TABLES:
        keys = ", ".join(table.key)
        sums = ", ".join([*(f"SUM({s})" for s in table.sums), *(f"MAX({m})" for m in table.maxes)])
        peak = [f"{m} = MAX({m}, excluded.{m})" for m in table.maxes]
        updates = ", ".join([*(f"{s} = {s} + excluded.{s}" for s in table.sums), *peak])
        db.execute(
            f"INSERT INTO {table.name} ({table.columns}) SELECT {keys}, {sums}"
            f" FROM (SELECT {_RAW} FROM events WHERE id > ?) WHERE 1 GROUP BY {keys}"
            f" ON CONFLICT DO UPDATE SET {updates}",
            (after_id,),
        )
    raw = f"SELECT {_RAW} FROM events WHERE id > ?"
    for name, unit in _HISTOGRAMS:
        db.execute(
            f"INSERT INTO {name} ({unit}, event, source, cold, bucket, n)"
            f" SELECT {unit}, event, source, cold, bucket, COUNT(*) FROM ({_latency_rows(raw, unit)})"
            " GROUP BY 1, 2, 3, 4, 5 ON CONFLICT DO UPDATE SET n = n + excluded.n",
            (after_id, after_id),
        )


def _latency_rows(raw: str, unit: str = "day") -> str:
    """The histogram's rows (``unit``, event, source, cold, bucket) of the events ``raw`` selects: the
    requests' and fresh compressions' own time, and the requests' time to first byte added (``TTFB``)."""
    return (f"SELECT {unit}, event, source, cold, ms_bucket(ms) AS bucket FROM ({raw})"
            f" WHERE event = '{REQUEST}' OR (event = '{COMPRESS}' AND memo = 0)"
            f" UNION ALL SELECT {unit}, '{TTFB}', source, cold, ms_bucket(ttfb_max) FROM ({raw})"
            f" WHERE event = '{REQUEST}' AND ttfb_n = 1")  # fmt: skip


def split(since: float | None) -> dict[str, float]:
    """The window after ``since`` in three parts, as the facts' parameters: the whole days from
    ``f_day`` on (the daily roll-ups), the whole hours from ``f_hour`` up to that day (the hourly
    ones), and the events from ``f_since`` up to ``f_edge``, the first whole hour (the events)."""
    if since is None:
        return {"f_day": 0, "f_hour": 0, "f_since": 0.0, "f_edge": 0.0}
    hour = math.ceil(since / HOUR)
    return {"f_day": math.ceil(since / DAY), "f_hour": hour, "f_since": since, "f_edge": float(hour * HOUR)}


def facts(table: str, source_clause: str) -> str:
    """A subquery of the facts' columns and ``start`` over the window (``split``'s parameters): the
    whole days of ``table`` (``rollup``, or ``rollup_tool`` for the split by tool), the whole hours
    before them from its hourly twin, and the events of the partial first hour; or the events alone
    (``table`` ``events``: every event after ``:f_since``, for hourly buckets). ``source_clause``:
    ``AND source = :source`` or empty."""
    if table == "events":
        return f"SELECT {_RAW} FROM events WHERE time >= :f_since {source_clause}"
    daily = ROLLUP if table == ROLLUP.name else TOOLS
    hourly = HOURLY[daily.name]
    raw = f"SELECT {_RAW} FROM events WHERE time >= :f_since AND time < :f_edge {source_clause}"
    return (f"SELECT {daily.facts} FROM {daily.name} WHERE day >= :f_day {source_clause}"
            f" UNION ALL SELECT {hourly.facts} FROM {hourly.name} WHERE hour >= :f_hour"
            f" AND hour < :f_day * 24 {source_clause}"
            f" UNION ALL SELECT start, {daily.columns} FROM ({raw})")  # fmt: skip


def latency(source_clause: str) -> str:
    """A subquery (event, cold, bucket, n) of the window's latency histogram, as ``facts``."""
    raw = f"SELECT {_RAW} FROM events WHERE time >= :f_since AND time < :f_edge {source_clause}"
    return (
        f"SELECT event, cold, bucket, n FROM rollup_ms WHERE day >= :f_day {source_clause}"
        f" UNION ALL SELECT event, cold, bucket, n FROM rollup_ms_hour WHERE hour >= :f_hour"
        f" AND hour < :f_day * 24 {source_clause}"
        f" UNION ALL SELECT event, cold, bucket, 1 FROM ({_latency_rows(raw)})"
    )
