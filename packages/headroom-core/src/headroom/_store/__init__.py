"""The store of originals (CCR's "cache"): what compressors drop is kept here under its ref.

``open_store(url, ...)`` turns ``Config.store`` into a store. Every store has the same small
interface, so the engine, the CLI and the proxy never care which one is behind it: ``memory``
(one process), SQLite (the default; one file shared by every process of the user) and Redis
(several proxy instances on several machines; needs the ``redis`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .._errors import ConfigError


@dataclass(frozen=True)
class Original:
    """A stored original and the kind of content it is (``json``, ``log``, ...)."""

    text: str
    kind: str


@dataclass(frozen=True)
class StoreInfo:
    """What ``headroom store info`` shows."""

    location: str
    entries: int
    bytes: int
    oldest: float | None  # unix time of the oldest entry, None when empty


class Store(Protocol):
    """Keeps originals by ref. Methods raise ``StoreError`` when the backend fails."""

    def put(self, ref: str, original: Original) -> None:
        """Keep ``original`` under ``ref``; refreshes its age when already present."""

    def get(self, ref: str) -> Original | None:
        """The original under ``ref``, or None when unknown or expired."""

    def contains(self, ref: str) -> bool:
        """Whether ``ref`` is held (without refreshing it)."""

    def info(self) -> StoreInfo:
        """Size, entry count and oldest entry."""

    def clear(self) -> int:
        """Delete every original; returns how many there were."""

    def close(self) -> None:
        """Release connections."""


def encode_original(text: str) -> bytes:
    """Bytes that decode back to exactly ``text``, lone surrogates included."""
    return text.encode("utf-8", "surrogatepass")


def decode_original(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def sqlite_path(url: str) -> Path:
    """The database file for a ``sqlite`` store URL (see ``Config.store``)."""
    if url == "sqlite":
        import platformdirs

        return Path(platformdirs.user_data_dir("headroom")) / "store.db"
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"store {url!r}: write sqlite, sqlite:///relative.db or sqlite:////absolute.db")
    return Path(url[len(prefix) :])


def open_store(url: str, *, ttl_seconds: int, max_store_bytes: int) -> Store:
    """The store named by ``url``.

    Raises:
        ConfigError: the URL names no known store, or the Redis store lacks the ``redis`` package.
        StoreError: the store cannot be opened (for Redis: the server does not answer).
    """
    if url == "memory":
        from ._memory import MemoryStore

        return MemoryStore(ttl_seconds=ttl_seconds, max_bytes=max_store_bytes)
    if url == "sqlite" or url.startswith("sqlite:"):
        from ._sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url), ttl_seconds=ttl_seconds, max_bytes=max_store_bytes)
    if url.startswith(("redis://", "rediss://")):
        from ._redis import RedisStore

        return RedisStore(url, ttl_seconds=ttl_seconds, max_bytes=max_store_bytes)
    raise ConfigError(
        f"store {url.partition('://')[0]!r} is not supported; use memory, sqlite, sqlite:///relative.db,"
        " sqlite:////absolute.db, redis://host:port/db or rediss://host:port/db"
    )
