"""What every SQLite file of headroom shares: a private file in WAL mode, and numbered migrations.

The store of originals, the stats ledger and the shared compression cache are separate files with
separate schemas, but all are opened by several processes of one user at once, so all are created
the same way (mode 0600, WAL, a busy timeout instead of "database is locked") and all evolve through
numbered migration functions recorded in a ``migrations`` table, applied whenever the file is opened
(as simonw/llm does). The store and the cache are bounded in bytes the same way (``create_totals``,
``evict_oldest``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

Migration = Callable[[sqlite3.Connection], None]

_WAL_ATTEMPTS = 50  # switching a brand-new file to WAL can race with another process doing the same


def connect(path: Path, *, busy_ms: int) -> sqlite3.Connection:
    """Open (creating if needed) the SQLite file at ``path``: mode 0600, WAL, autocommit.

    Args:
        path: the database file; its directory is created with mode 0700 when missing.
        busy_ms: how long a statement waits for another connection's lock before failing.

    Returns:
        A connection usable from any thread (callers serialise access with their own lock).

    Raises:
        OSError: the directory or file cannot be created.
        sqlite3.Error: the file cannot be opened as a database.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    _private(path)
    db = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        for attempt in range(_WAL_ATTEMPTS):
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:  # the busy handler is not always consulted here
                if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS - 1:
                    raise
                time.sleep(0.02)
        db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def _private(path: Path) -> None:
    """Tighten an existing file (and its WAL and shared-memory files) to 0600, and headroom's own data
    directory to 0700: originals may hold secrets. A file owned by someone else is left as it is."""
    import platformdirs

    targets = [(path, 0o600), (Path(f"{path}-wal"), 0o600), (Path(f"{path}-shm"), 0o600)]
    if path.parent == Path(platformdirs.user_data_dir("headroom")):
        targets.append((path.parent, 0o700))
    for target, mode in targets:
        try:
            if target.exists() and target.stat().st_mode & 0o777 & ~mode:
                target.chmod(mode)
        except OSError:
            pass


def rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite ends one itself on some errors (a full disk),
    and a failing ROLLBACK would hide the error that matters."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Apply every migration the file has not seen yet, in order, each in its own transaction.

    Migration ``n`` (1-based position in ``migrations``) is recorded in the ``migrations`` table with
    its function name, so a migration is never renumbered or removed once released.
    """
    db.execute("CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT, applied REAL)")
    for number, migration in enumerate(migrations, start=1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM migrations WHERE id = ?", (number,)).fetchone() is None:
                migration(db)
                db.execute(
                    "INSERT INTO migrations VALUES (?, ?, ?)", (number, migration.__name__, time.time())
                )
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise


def open_file(
    path: Path, migrations: Sequence[Migration], *, busy_ms: int,
    prepare: Callable[[sqlite3.Connection], None] | None = None,
) -> sqlite3.Connection:  # fmt: skip
    """``connect``, ``prepare`` (registers the file's SQL functions, say), then ``migrate``; the
    connection is closed when either fails.

    Raises:
        OSError, sqlite3.Error: the file cannot be made, opened or migrated.
    """
    db = connect(path, busy_ms=busy_ms)
    try:
        if prepare is not None:
            prepare(db)
        migrate(db, migrations)
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock, *, write: bool = True) -> Iterator[None]:
    """One transaction under ``lock``: ``BEGIN IMMEDIATE`` (a write takes the file's lock up front, so
    it never fails half-way on a busy file) or a plain ``BEGIN``; committed, or rolled back on any
    exception.

    Raises:
        sqlite3.Error: from the statements, or the file stayed locked past the busy timeout.
    """
    with lock:
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise


# --- a table bounded in bytes (the store of originals, the shared cache) ------------------------------
# Table and column names below come from headroom's own migrations, never from input.


def create_totals(db: sqlite3.Connection, table: str) -> None:
    """A one-row ``totals`` table (``entries``, ``bytes``) kept by triggers on ``table``'s inserts and
    deletes (its ``size`` column), so a size bound costs no table scan."""
    db.execute(
        "CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0),"
        " entries INTEGER NOT NULL, bytes INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO totals VALUES (0, 0, 0)")
    count_sizes(db, table)


def count_sizes(db: sqlite3.Connection, table: str) -> None:
    """The triggers that keep ``totals`` in step with ``table`` (again after the table is rebuilt)."""
    db.execute(
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {table} BEGIN"
        " UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 0; END"
    )
    db.execute(
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {table} BEGIN"
        " UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 0; END"
    )


def evict_oldest(db: sqlite3.Connection, table: str, key: str, excess: int, keep: object) -> None:
    """Delete the least recently ``accessed`` rows of ``table`` (not the one keyed ``keep``) until
    their sizes add up to ``excess`` bytes; inside the caller's write transaction."""
    victims: list[tuple[object]] = []
    rows = db.execute(f"SELECT {key}, size FROM {table} WHERE {key} != ? ORDER BY accessed", (keep,))
    for value, size in rows:
        victims.append((value,))
        excess -= size
        if excess <= 0:
            break
    db.executemany(f"DELETE FROM {table} WHERE {key} = ?", victims)
