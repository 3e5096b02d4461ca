"""A process-local store: a dict in least-recently-used order, with the same TTL and size cap rules."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from .._errors import StoreError
from ._base import Original, StoreInfo, encode_original


class MemoryStore:
    """Originals in memory; gone when the process ends."""

    def __init__(self, *, ttl_seconds: int, max_bytes: int) -> None:
        self._ttl = ttl_seconds
        self._max = max_bytes
        self._lock = threading.Lock()
        # ref -> (original, size in bytes, time stored); order = least recently used first
        self._items: OrderedDict[str, tuple[Original, int, float]] = OrderedDict()
        self._bytes = 0

    def _expired(self, stored: float, now: float) -> bool:
        return self._ttl > 0 and now - stored > self._ttl

    def _drop(self, ref: str) -> None:
        _, size, _ = self._items.pop(ref)
        self._bytes -= size

    def put(self, ref: str, original: Original) -> None:
        size = len(encode_original(original.text))
        if size > self._max:
            raise StoreError(f"original of {size} bytes exceeds max_store_bytes={self._max}")
        now = time.time()
        with self._lock:
            if ref in self._items:
                self._drop(ref)
            self._items[ref] = (original, size, now)
            self._bytes += size
            while self._bytes > self._max:
                self._drop(next(iter(self._items)))

    def get(self, ref: str) -> Original | None:
        now = time.time()
        with self._lock:
            item = self._items.get(ref)
            if item is None:
                return None
            if self._expired(item[2], now):
                self._drop(ref)
                return None
            self._items.move_to_end(ref)
            return item[0]

    def contains(self, ref: str) -> bool:
        with self._lock:
            item = self._items.get(ref)
            return item is not None and not self._expired(item[2], time.time())

    def info(self) -> StoreInfo:
        with self._lock:
            oldest = min((stored for _, _, stored in self._items.values()), default=None)
            return StoreInfo("memory", len(self._items), self._bytes, oldest)

    def clear(self) -> int:
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self._bytes = 0
            return count

    def close(self) -> None:
        """Nothing to release."""
