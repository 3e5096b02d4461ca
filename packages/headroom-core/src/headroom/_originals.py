"""The store of originals as the pipeline and the policies use it.

The store is opened on first use; one that fails to open is not dialled again for every block (the
failure is replayed for ``RETRY_SECONDS``). Keeping an original either succeeds or is reported, logged,
as False: the caller then passes its text through, so nothing is ever dropped without its original.

``scope(name)`` confines originals to the code that runs inside it (a shared proxy scopes them to the
credential that produced them): an original kept in a scope is found only in the same scope, under
the store key ``"<name>/<ref>"``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ._config import Config
from ._errors import ConfigError, StoreError
from ._markers import marker_refs
from ._store import Original, Store, open_store

log = logging.getLogger("headroom")

RETRY_SECONDS = 10.0  # after a failed open, the store is tried again after this long
SLOW_SECONDS = 0.5  # a store call that fails after this long has timed out (a stalled server) ...
PAUSE_SECONDS = 30.0  # ... and the store is left alone this long: blocks pass through without waiting

_SCOPE: ContextVar[str] = ContextVar("headroom_scope", default="")


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Originals kept and retrieved inside this block are visible only inside blocks of the same
    ``name`` ("" is the shared scope). Threads started with ``asyncio.to_thread`` inherit it."""
    token = _SCOPE.set(name)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def scoped(ref: str) -> str:
    """The store key of ``ref`` in the current scope."""
    name = _SCOPE.get()
    return f"{name}/{ref}" if name else ref


class Originals:
    """The store named by ``config.store``, opened lazily, with the engine's failure rules.

    A circuit breaker covers a store that stalls: a call that fails after ``SLOW_SECONDS`` pauses
    keeping and checking for ``PAUSE_SECONDS`` (blocks pass through at once instead of each waiting
    out the timeout), said once in the log and once to ``on_pause`` (the engine's ledger).
    """

    def __init__(self, config: Config, on_pause: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._failed: tuple[float, StoreError] | None = None  # (when, why) the last open failed
        self._paused_until = 0.0
        self._on_pause = on_pause

    @property
    def paused(self) -> bool:
        """Whether the breaker is open: the store timed out a moment ago and is left alone."""
        return time.monotonic() < self._paused_until

    def _failed_after(self, started: float, exc: BaseException) -> None:
        if time.monotonic() - started < SLOW_SECONDS or self.paused:
            return
        self._paused_until = time.monotonic() + PAUSE_SECONDS
        reason = f"store timed out ({exc}); originals pass through for {PAUSE_SECONDS:.0f} s"
        log.warning("headroom: %s", reason)
        if self._on_pause is not None:
            self._on_pause(reason)

    @property
    def store(self) -> Store:
        """The store, opened on first use.

        Raises:
            StoreError: it cannot be opened.
        """
        with self._lock:
            if self._store is None:
                failed = self._failed
                if failed is not None and time.monotonic() - failed[0] < RETRY_SECONDS:
                    raise failed[1]  # a store that is down is not dialled again for every block
                try:
                    self._store = open_store(
                        self.config.store,
                        ttl_seconds=self.config.ttl_seconds,
                        max_store_bytes=self.config.max_store_bytes,
                    )
                except StoreError as exc:
                    self._failed = (time.monotonic(), exc)
                    raise
                self._failed = None
            return self._store

    def _checked(self, call: Callable[[], bool], failed: bool) -> bool:
        """``call()``, or ``failed`` when the store is paused or raises (a slow failure pauses it)."""
        if self.paused:
            return failed
        started = time.monotonic()
        try:
            return call()
        except (StoreError, ConfigError) as exc:
            log.warning("headroom: store unavailable (%s); passing the text through", exc)
            self._failed_after(started, exc)
            return failed

    def keep(self, ref: str, text: str, kind: str) -> bool:
        """Store ``text`` under ``ref``; False (logged) when the store fails or is paused."""

        def put() -> bool:
            self.store.put(scoped(ref), Original(text, kind))
            return True

        return self._checked(put, False)

    def get(self, ref: str) -> Original | None:
        """The original under ``ref`` in the current scope.

        Raises:
            StoreError: the store cannot be opened or read.
        """
        return self.store.get(scoped(ref))

    def hold(self, refs: Iterable[str]) -> bool:
        """Whether the store still holds every one of ``refs`` (False when it cannot be read)."""
        return self._checked(lambda: all(self.store.contains(scoped(ref)) for ref in refs), False)

    def marked(self, text: str) -> bool:
        """Whether ``text`` carries a marker of ours whose ref the store holds (never compress twice).
        When the store cannot tell, True: the text is left alone rather than compressed twice."""
        refs = marker_refs(text)
        if not refs:
            return False
        return self._checked(lambda: any(self.store.contains(scoped(ref)) for ref in refs), True)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
