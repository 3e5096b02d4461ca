"""The stats ledger's writer: one row per compression, retrieval, budget or request event, in SQLite.

``headroom stats`` and ``headroom perf`` read it to say what headroom saved and what it cost. It must
never get in the way of the work it records, so ``Ledger.record`` only appends to an in-memory buffer
(no I/O on the caller's thread); a daemon writer thread writes the buffer in batches, one transaction
each. The buffer is bounded: when the writer cannot keep up, new events are dropped and counted rather
than blocking or growing. Any failure of the file (disk full, locked, read-only, corrupt) is logged
once and never reaches the caller. The file lives next to the store (``ledger_path``), has its own
numbered migrations (``db``) and is shared safely by every process of the user (WAL,
``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from .events import Event

if TYPE_CHECKING:  # sqlite3 is imported on first write (see ``db``): ``import headroom`` stays fast
    import sqlite3

log = logging.getLogger("headroom")

# --- the writer --------------------------------------------------------------------------------------

_MAX_BATCH = 4096  # events per transaction when a backlog is written
_JOIN_SECONDS = 15.0  # close() waits this long for a writer stuck behind another process's lock

_live: weakref.WeakSet[Ledger] = weakref.WeakSet()


class Ledger:
    """Records events into the SQLite file at ``path``, in batches, from a daemon writer thread.

    Nothing touches the disk until the first batch is written, on the writer thread. A writer that is
    idle for ``idle_seconds`` exits and is started again by the next ``record``.

    Args:
        path: the ledger file (see ``ledger_path``).
        flush_seconds: the longest an event waits in the buffer before it is written.
        batch: a write starts as soon as this many events are waiting.
        max_pending: the buffer's bound; events recorded while it is full are dropped and counted.
            The default holds a few seconds of a caller compressing tiny texts in a tight loop, which
            starves the writer of the GIL, and caps the buffer at about 15 MB.
        idle_seconds: how long the writer thread waits for events before it exits.

    Attributes:
        dropped: events dropped because the buffer was full.
        failed: events lost because the file could not be written.
    """

    def __init__(
        self, path: Path, *, flush_seconds: float = 0.5, batch: int = 256, max_pending: int = 50_000,
        idle_seconds: float = 30.0,
    ) -> None:  # fmt: skip
        self.path = path
        self.dropped = 0
        self.failed = 0
        self._flush_seconds = flush_seconds
        self._batch = batch
        self._max_pending = max_pending
        self._idle_seconds = idle_seconds
        self._pending: deque[Event] = deque()
        self._reset_threading()
        _live.add(self)

    def _reset_threading(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._state = threading.Lock()  # guards _thread
        self._write = threading.Lock()  # guards _db and every write
        self._wake = threading.Event()
        self._stop = False
        self._warned = False

    def record(self, event: Event) -> None:
        """Queue ``event`` for writing. Never blocks, never does I/O, never raises."""
        pending = self._pending
        if len(pending) >= self._max_pending:
            self.dropped += 1
            return
        pending.append(event)
        if self._thread is None:
            self._start()
        elif len(pending) == self._batch:  # once per batch: the writer drains everything it finds
            self._wake.set()

    def _start(self) -> None:
        with self._state:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="headroom-ledger", daemon=True)
            self._thread = thread
            self._stop = False
            try:
                thread.start()
            except RuntimeError:  # at interpreter shutdown: the atexit flush writes what is waiting
                self._thread = None

    def _run(self) -> None:
        me = threading.current_thread()
        idle = 0.0
        while True:
            woken = self._wake.wait(0 if self._stop else self._flush_seconds)  # closing: no waiting
            self._wake.clear()
            if self._pending:
                idle = 0.0
                self._write_pending()
            elif not woken:
                idle += self._flush_seconds
            if self._stop or idle >= self._idle_seconds:
                with self._state:
                    if self._thread is me:
                        self._thread = None
                # an event recorded while we were deciding to exit would wait for the next record:
                # whoever appended it saw this thread still set, so look once more and take over
                if not self._pending:
                    return
                with self._state:
                    if self._thread is not None:
                        return
                    self._thread = me
                idle = 0.0

    def _write_pending(self) -> None:
        with self._write:
            self._write_pending_locked()

    def _write_pending_locked(self) -> None:
        pending = self._pending
        while pending:
            # popleft is atomic, and record only ever appends, so this never loses or repeats an event
            batch = [pending.popleft() for _ in range(min(len(pending), _MAX_BATCH))]
            self._insert(batch)

    def _insert(self, batch: list[Event]) -> None:
        try:
            from .._sqlite_util import rollback
            from .db import insert_events, open_ledger_db  # sqlite3 on first write, not at import

            if self._db is None:
                self._db = open_ledger_db(self.path)
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                insert_events(db, batch)
                db.execute("COMMIT")
            except BaseException:
                rollback(db)
                raise
        except Exception as exc:  # the ledger never breaks what it records: say so once, count the loss
            self.failed += len(batch)
            if not self._warned:
                self._warned = True
                log.warning("headroom: the stats ledger %s cannot be written (%s); events are dropped",
                            self.path, exc)  # fmt: skip
            self._close_db()

    def _close_db(self) -> None:
        import sqlite3  # only ever after a first write has imported it

        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                log.debug("headroom: closing the ledger failed", exc_info=True)
            self._db = None

    def flush(self) -> None:
        """Write every event recorded so far, on the caller's thread. Never raises."""
        self._write_pending()

    def close(self) -> None:
        """Write what is waiting, stop the writer thread and close the file. Never raises.

        A ``record`` after ``close`` starts over: the file is opened again on the next write.
        """
        with self._state:
            thread, self._stop = self._thread, True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_JOIN_SECONDS)
        with self._write:
            self._write_pending_locked()
            self._close_db()

    def events(self, since: float | None = None, source: str | None = None) -> list[Event]:
        """Every written event after ``since`` from ``source``, oldest first (call ``flush`` first).

        Raises:
            sqlite3.Error: the file cannot be read.
        """
        from .db import open_ledger_db, read_events  # sqlite3 only when events are read

        with self._write:
            if self._db is None:
                self._db = open_ledger_db(self.path)
            return read_events(self._db, since, source)


def _flush_all() -> None:
    for ledger in list(_live):
        ledger.flush()


def _after_fork() -> None:
    # the child has no writer thread, must not share the parent's connection, and must not write
    # the parent's buffered events a second time
    for ledger in list(_live):
        ledger._pending.clear()
        ledger._reset_threading()


atexit.register(_flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
