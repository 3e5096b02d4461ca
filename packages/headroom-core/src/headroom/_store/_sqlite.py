"""The default store: one SQLite file, shared safely by every process of the user.

WAL journaling lets readers and one writer work at once; writes take the lock up front
(``BEGIN IMMEDIATE``) and wait for it (``busy_timeout``) rather than fail. The file is created with
mode 0600 (SQLite gives its WAL and shared-memory files the same mode) because originals may hold
secrets. Totals are kept by triggers so the size cap costs no table scan. Schema changes are numbered
migrations recorded in the ``migrations`` table and applied whenever the file is opened.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._errors import StoreError
from .._sqlite_util import Migration, count_sizes, create_totals, evict_oldest, open_file, transaction
from ._base import Original, StoreInfo, decode_original, encode_original

_TOUCH_SECONDS = 60.0  # timestamps of a known ref are refreshed at most this often


def _m001_originals(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE originals (ref TEXT PRIMARY KEY, kind TEXT NOT NULL, data BLOB NOT NULL,"
        " size INTEGER NOT NULL, created REAL NOT NULL, accessed REAL NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX originals_accessed ON originals (accessed)")
    db.execute("CREATE INDEX originals_created ON originals (created)")
    create_totals(db, "originals")


def _m002_blobs_apart(db: sqlite3.Connection) -> None:
    """A rowid table with the blob in the last column. In the first layout (WITHOUT ROWID) every
    row sat in the key's b-tree, so a lookup read whole megabyte originals to compare keys (8 ms per
    lookup with 60 MB stored); now the ref's index holds only refs, and the small columns come
    before the blob."""
    db.execute(
        "CREATE TABLE originals_new (ref TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,"
        " created REAL NOT NULL, accessed REAL NOT NULL, data BLOB NOT NULL)"
    )
    db.execute(
        "INSERT INTO originals_new (ref, kind, size, created, accessed, data)"
        " SELECT ref, kind, size, created, accessed, data FROM originals"
    )
    db.execute("DROP TABLE originals")  # its indexes and triggers go with it
    db.execute("ALTER TABLE originals_new RENAME TO originals")
    db.execute("CREATE INDEX originals_accessed ON originals (accessed)")
    db.execute("CREATE INDEX originals_created ON originals (created)")
    count_sizes(db, "originals")


MIGRATIONS: list[Migration] = [_m001_originals, _m002_blobs_apart]


class SQLiteStore:
    """Originals in one SQLite file, with a TTL and a size cap (least recently used evicted first)."""

    def __init__(self, path: Path, *, ttl_seconds: int, max_bytes: int) -> None:
        self.path = path
        self._ttl = ttl_seconds
        self._max = max_bytes
        self._lock = threading.Lock()
        try:
            self._db = open_file(path, MIGRATIONS, busy_ms=30_000)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite store at {path}: {exc}") from exc

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        try:
            with transaction(self._db, self._lock):
                yield self._db
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {what} failed: {exc}") from exc

    def _expired(self, created: float, now: float) -> bool:
        return self._ttl > 0 and now - created > self._ttl

    def put(self, ref: str, original: Original) -> None:
        data = encode_original(original.text)
        if len(data) > self._max:
            raise StoreError(f"original of {len(data)} bytes exceeds max_store_bytes={self._max}")
        now = time.time()
        with self._transaction("put") as db:
            # a ref names its content, so a known ref is only touched, and at most once per
            # _TOUCH_SECONDS: rewriting the row would rewrite its blob, and re-sent history is common
            db.execute(
                "INSERT INTO originals (ref, kind, size, created, accessed, data) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (ref) DO UPDATE SET created = excluded.created, accessed = excluded.accessed"
                " WHERE originals.created < excluded.created - ?",
                (ref, original.kind, len(data), now, now, data, _TOUCH_SECONDS),
            )
            if self._ttl > 0:
                db.execute("DELETE FROM originals WHERE created < ?", (now - self._ttl,))
            (total,) = db.execute("SELECT bytes FROM totals").fetchone()
            if total > self._max:
                evict_oldest(db, "originals", "ref", total - self._max, keep=ref)

    def get(self, ref: str) -> Original | None:
        now = time.time()
        with self._transaction("get") as db:
            row = db.execute("SELECT kind, data, created FROM originals WHERE ref = ?", (ref,)).fetchone()
            if row is None:
                return None
            kind, data, created = row
            if self._expired(created, now):
                db.execute("DELETE FROM originals WHERE ref = ?", (ref,))
                return None
            db.execute(
                "UPDATE originals SET accessed = ? WHERE ref = ? AND accessed < ?",
                (now, ref, now - _TOUCH_SECONDS),
            )
        return Original(decode_original(data), kind)

    def contains(self, ref: str) -> bool:
        with self._lock:
            try:
                row = self._db.execute("SELECT created FROM originals WHERE ref = ?", (ref,)).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: lookup failed: {exc}") from exc
        return row is not None and not self._expired(row[0], time.time())

    def info(self) -> StoreInfo:
        with self._lock:
            try:
                entries, size = self._db.execute("SELECT entries, bytes FROM totals").fetchone()
                (oldest,) = self._db.execute("SELECT MIN(created) FROM originals").fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: info failed: {exc}") from exc
        return StoreInfo(str(self.path), entries, size, oldest)

    def clear(self) -> int:
        with self._transaction("clear") as db:
            (count,) = db.execute("SELECT entries FROM totals").fetchone()
            db.execute("DELETE FROM originals")
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
