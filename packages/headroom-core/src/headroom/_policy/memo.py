"""A bounded in-memory memo keyed by content hash, so re-sent history costs almost nothing.

Agents re-send their whole conversation on every step; every earlier tool result has been compressed
before, with the same query, to the same bytes. The memo maps a BLAKE2b digest of everything the
result depends on to the result, evicting the least recently used entries beyond a count and a total
size, so memory stays bounded however long a process runs.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


def digest(*parts: str | None) -> bytes:
    """A 16-byte digest of ``parts`` (None and "" are distinct; separators cannot be forged)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if part is None:
            h.update(b"\x00N")
            continue
        data = part.encode("utf-8", "surrogatepass")
        h.update(b"\x00S%d:" % len(data))
        h.update(data)
    return h.digest()


class Memo(Generic[V]):
    """A thread-safe LRU map from digest to value, bounded by entry count and total ``size``."""

    def __init__(self, max_entries: int, max_size: int) -> None:
        self._max_entries = max_entries
        self._max_size = max_size
        self._items: OrderedDict[bytes, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: bytes, value: V, size: int = 1) -> None:
        """Keep ``value``; ``size`` is what it costs against the size bound (e.g. characters held)."""
        if size > self._max_size:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while len(self._items) > self._max_entries or self._size > self._max_size:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)
