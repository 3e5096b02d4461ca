"""The shared cache's SQLite file: entries keyed by digest, bounded in bytes, one code version at a time.

Built like the store of originals (``_store/_sqlite.py``): WAL, mode 0600, a busy timeout, writes that
take the lock up front (``BEGIN IMMEDIATE``), totals kept by triggers so the size bound costs no table
scan, least recently used entries evicted first, and numbered migrations applied whenever the file is
opened. Every entry carries the code version that wrote it; opening the file deletes the entries of
any other version (their keys could never match anyway: the version is part of every key).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from .._sqlite_util import Migration, create_totals, evict_oldest, open_file, transaction

BUSY_MS = 2_000  # a write waits this long for another process's transaction, then the cache pauses
TOUCH_SECONDS = 60.0  # an entry's access time is refreshed at most this often (a read stays a read)
ENTRY_OVERHEAD = 64  # bytes counted per entry beyond its key and value (row and index space)


def _m001_entries(db: sqlite3.Connection) -> None:
    # a rowid table with the value last: a lookup reads the key's index, then one row
    db.execute(
        "CREATE TABLE entries (key BLOB PRIMARY KEY, version TEXT NOT NULL, size INTEGER NOT NULL,"
        " accessed REAL NOT NULL, value BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX entries_accessed ON entries (accessed)")
    db.execute("CREATE INDEX entries_version ON entries (version)")
    create_totals(db, "entries")


MIGRATIONS: list[Migration] = [_m001_entries]


class CacheDB:
    """The cache file at ``path``, holding at most ``max_bytes`` of entries of ``version``.

    Raises (from every method, and from the constructor):
        OSError: the file or its directory cannot be created.
        sqlite3.Error: the file is not a usable database, or stays locked past ``BUSY_MS``.
    """

    def __init__(self, path: Path, *, max_bytes: int, version: str) -> None:
        self.path = path
        self._max = max_bytes
        self._version = version
        self._lock = threading.Lock()
        self._db = open_file(path, MIGRATIONS, busy_ms=BUSY_MS)
        try:
            if self._db.execute("SELECT 1 FROM entries WHERE version != ? LIMIT 1", (version,)).fetchone():
                with transaction(self._db, self._lock):
                    self._db.execute("DELETE FROM entries WHERE version != ?", (version,))
        except BaseException:
            self._db.close()
            raise

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``, or None; a hit refreshes the entry's access time now and then."""
        now = time.time()
        with self._lock:
            row = self._db.execute("SELECT value, accessed FROM entries WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            value, accessed = row
        if accessed < now - TOUCH_SECONDS:
            with transaction(self._db, self._lock):
                self._db.execute("UPDATE entries SET accessed = ? WHERE key = ?", (now, key))
        return bytes(value)

    def put(self, key: bytes, value: bytes) -> bool:
        """Keep ``value`` under ``key`` (a key names its value: a known key is only touched), then
        evict the least recently used entries beyond the bound. False when the entry alone exceeds it."""
        size = len(key) + len(value) + ENTRY_OVERHEAD
        if size > self._max:
            return False
        now = time.time()
        with transaction(self._db, self._lock):
            self._db.execute(
                "INSERT INTO entries (key, version, size, accessed, value) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET accessed = excluded.accessed",
                (key, self._version, size, now, value),
            )
            (total,) = self._db.execute("SELECT bytes FROM totals").fetchone()
            if total > self._max:
                evict_oldest(self._db, "entries", "key", total - self._max, keep=key)
        return True

    def totals(self) -> tuple[int, int]:
        """``(entries, bytes)`` held now."""
        with self._lock:
            entries, size = self._db.execute("SELECT entries, bytes FROM totals").fetchone()
        return int(entries), int(size)

    def close(self) -> None:
        with self._lock:
            self._db.close()
