"""The ledger's SQLite file: its schema and migrations, batched inserts, and reading events back.

``ledger`` records events and owns the writer thread; this module is everything that touches SQL,
imported only when the first batch is written or a report is read, so ``import headroom`` never
loads sqlite3.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .._sqlite_util import Migration, open_file
from . import rollup
from .events import Event

# --- the schema --------------------------------------------------------------------------------------

# in the order of Event's fields: a row and an Event convert field by field
_COLUMNS = (
    "event, source, outcome, reason, model, kind, compressor, tokens_before, tokens_after, ms, ref,"
    " has_query, memo, time, usage_uncached, usage_cache_read, usage_write_5m, usage_write_1h, bust,"
    " bust_tokens, bust_part, tool, ttfb_ms"
)
_FIELDS = tuple(column.strip() for column in _COLUMNS.split(","))


def _m001_events(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, time REAL NOT NULL, event TEXT NOT NULL,"
        " source TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', model TEXT,"
        " kind TEXT, compressor TEXT, tokens_before INTEGER NOT NULL DEFAULT 0,"
        " tokens_after INTEGER NOT NULL DEFAULT 0, ms REAL NOT NULL DEFAULT 0, ref TEXT,"
        " has_query INTEGER NOT NULL DEFAULT 0, memo INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX events_time ON events (time)")


def _m002_usage(db: sqlite3.Connection) -> None:
    for column in ("usage_uncached", "usage_cache_read", "usage_write_5m", "usage_write_1h"):
        db.execute(f"ALTER TABLE events ADD COLUMN {column} INTEGER")  # NULL: no usage reported


# The roll-ups are made by this code's RAW_FACTS, which reads every column: only the newest migration
# (re)builds them, once the events have every column; a roll-up change adds a migration that does.
def _m003_rollup(db: sqlite3.Connection) -> None:
    rollup.create_tables(db)  # filled by _m007


def _m004_busts(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE events ADD COLUMN bust TEXT")  # NULL: no bust, or no one to blame
    db.execute("ALTER TABLE events ADD COLUMN bust_tokens INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE events ADD COLUMN bust_part TEXT")
    db.execute("CREATE INDEX events_busts ON events (time) WHERE bust IS NOT NULL")  # busts are rare


def _m005_tool(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE events ADD COLUMN tool TEXT")  # NULL: not a tool's result, or not known


def _m006_ttfb(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE events ADD COLUMN ttfb_ms REAL")  # NULL: not measured


def _m007_hourly(db: sqlite3.Connection) -> None:
    rollup.rebuild(db)  # the roll-ups gain the bust, tool and ttfb columns and hourly twins


MIGRATIONS: list[Migration] = [
    _m001_events,
    _m002_usage,
    _m003_rollup,
    _m004_busts,
    _m005_tool,
    _m006_ttfb,
    _m007_hourly,
]

BUSY_MS = 10_000  # a writer waits this long for another process's transaction before giving up


def open_ledger_db(path: Path) -> sqlite3.Connection:
    """A connection to the ledger file at ``path``, created and migrated as needed.

    Raises:
        OSError: the file or its directory cannot be created.
        sqlite3.Error: the file is not a usable database.
    """
    return open_file(path, MIGRATIONS, busy_ms=BUSY_MS, prepare=rollup.prepare)


# A batch goes in as a few multi-row INSERTs of power-of-two sizes (a handful of prepared statements,
# reused), not through ``executemany``: that steps once per row, releasing and retaking the GIL at
# each step, so a writer behind a busy caller thread waits a switch interval per row, falls behind
# and drops events. A few steps per batch keep up at any rate.
_INSERTS: dict[int, str] = {}


def _insert_sizes(rows: int, largest: int) -> list[int]:
    """``rows`` split into powers of two no larger than ``largest``, largest first."""
    sizes = []
    while rows:
        size = min(largest, 1 << (rows.bit_length() - 1))
        sizes.append(size)
        rows -= size
    return sizes


def _insert_sql(rows: int) -> str:
    sql = _INSERTS.get(rows)
    if sql is None:
        one = f"({', '.join('?' * len(_FIELDS))})"
        sql = _INSERTS[rows] = f"INSERT INTO events ({_COLUMNS}) VALUES {', '.join([one] * rows)}"
    return sql


def insert_events(db: sqlite3.Connection, batch: list[Event]) -> None:
    """Insert ``batch`` inside the caller's transaction, in order, and add it to the roll-ups."""
    after = rollup.last_id(db)
    # SQLite allows 32,766 parameters per statement since 3.32, 999 before: 1,024 or 32 rows of 23
    largest = 1024 if sqlite3.sqlite_version_info >= (3, 32) else 32
    start = 0
    for size in _insert_sizes(len(batch), largest):
        values = [value for e in batch[start : start + size] for value in _row(e)]
        try:
            db.execute(_insert_sql(size), values)
        except UnicodeEncodeError:  # a lone surrogate (a model name from a JSON request) loses one char
            db.execute(_insert_sql(size), [_utf8(value) for value in values])
        start += size
    rollup.add_batch(db, after)


def _utf8(value: object) -> object:
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value


def _row(e: Event) -> tuple[object, ...]:
    return (e.event, e.source, e.outcome, e.reason, e.model, e.kind, e.compressor, e.tokens_before,
            e.tokens_after, e.ms, e.ref, int(e.has_query), int(e.memo), e.time, e.usage_uncached,
            e.usage_cache_read, e.usage_write_5m, e.usage_write_1h, e.bust, e.bust_tokens,
            e.bust_part, e.tool, e.ttfb_ms)  # fmt: skip


def where(since: float | None, source: str | None) -> tuple[str, dict[str, object]]:
    """A SQL condition (never empty) selecting events after ``since`` from ``source``, with its named
    parameters (``:since``, ``:source``)."""
    clauses: list[str] = ["1"]
    params: dict[str, object] = {}
    if since is not None:
        clauses.append("time >= :since")
        params["since"] = since
    if source is not None:
        clauses.append("source = :source")
        params["source"] = source
    return " AND ".join(clauses), params


def read_events(db: sqlite3.Connection, since: float | None = None, source: str | None = None) -> list[Event]:
    """Every event after ``since`` (unix time) from ``source``, oldest first."""
    condition, params = where(since, source)
    rows = db.execute(f"SELECT {_COLUMNS} FROM events WHERE {condition} ORDER BY time, id", params)
    return [_event(row) for row in rows]


def _event(row: tuple[Any, ...]) -> Event:
    """The row as an ``Event``: this module wrote it, from an Event, in this column order."""
    fields: dict[str, Any] = dict(zip(_FIELDS, row, strict=True))
    return Event(**{**fields, "has_query": bool(fields["has_query"]), "memo": bool(fields["memo"])})
