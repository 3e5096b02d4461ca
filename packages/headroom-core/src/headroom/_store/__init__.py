"""The store of originals (CCR's "cache"): what compressors drop is kept here under its ref.

``open_store(url, ...)`` turns ``Config.store`` into a store. Every store has the same small
interface, so the pipeline, the CLI and the proxy never care which one is behind it: ``memory``
(one process), SQLite (the default; one file shared by every process of the user) and Redis
(several proxy instances on several machines; needs the ``redis`` extra).
"""

from __future__ import annotations

from pathlib import Path

from .._errors import ConfigError
from ._base import Original, Store, StoreInfo, decode_original, encode_original

__all__ = [
    "Original",
    "Store",
    "StoreInfo",
    "beside_store",
    "decode_original",
    "encode_original",
    "open_store",
    "sqlite_path",
]


def sqlite_path(url: str) -> Path:
    """The database file for a ``sqlite`` store URL (see ``Config.store``)."""
    if url == "sqlite":
        import platformdirs  # on first use of the default store: ``import headroom`` stays light

        return Path(platformdirs.user_data_dir("headroom")) / "store.db"
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(f"store {url!r}: write sqlite, sqlite:///relative.db or sqlite:////absolute.db")
    return Path(url[len(prefix) :])


def beside_store(url: str, name: str) -> Path:
    """Where a file that belongs with the store named ``url`` lives (the ledger, the shared cache).

    A SQLite store keeps it beside its own file; memory and Redis stores (and a store URL that cannot
    be parsed) keep it in the platformdirs user data dir of ``headroom``.
    """
    if url == "sqlite" or url.startswith("sqlite:"):
        try:
            return sqlite_path(url).parent / name
        except ConfigError:
            pass
    import platformdirs  # on first use of such a file: ``import headroom`` stays light

    return Path(platformdirs.user_data_dir("headroom")) / name


def open_store(url: str, *, ttl_seconds: int, max_store_bytes: int) -> Store:
    """The store named by ``url``.

    Raises:
        ConfigError: the URL names no known store, or the Redis store lacks the ``redis`` package.
        StoreError: the store cannot be opened (for Redis: the server does not answer).
    """
    # each backend is imported only when named: sqlite3 and redis load only for the store in use
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
