"""What every SQLite file of headroom shares: a private file in WAL mode, and numbered migrations.

The store of originals and the stats ledger are separate files with separate schemas, but both are
opened by several processes of one user at once, so both are created the same way (mode 0600, WAL,
a busy timeout instead of "database is locked") and both evolve through numbered migration
functions recorded in a ``migrations`` table, applied whenever the file is opened (as simonw/llm
does).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
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
