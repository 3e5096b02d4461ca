"""The shared store: originals in one Redis, so several proxy instances behind a load balancer agree.

A ref stored by one instance must be retrievable through any other, and the size cap must hold for
all of them together; that is what this store is for. Its rules are those of the other stores: a
TTL (Redis key expiry; 0 keeps an original until evicted), and ``max_store_bytes`` with the least
recently used originals evicted first.

Every key starts with ``headroom:``, so a Redis shared with other applications is safe to use
(``clear`` deletes only these keys):

- ``headroom:original:<ref>``: a hash with the ``kind`` and the ``data`` (``encode_original`` bytes),
  expiring after the TTL;
- ``headroom:used`` / ``headroom:stored``: sorted sets of refs by last use and by time stored;
- ``headroom:sizes``: a hash of ref to size in bytes, and ``headroom:bytes``: their sum.

The index keys never expire, while originals do (and Redis may evict them under its own
``maxmemory`` policy), so the index can name originals that are gone. Such entries are found and
forgotten lazily: by a read of the ref, by a put (the oldest stored entries, then eviction walking
from the least recently used), and by ``info`` and ``clear``. Every change runs as one Lua script
with Redis's clock, so concurrent instances never see half an update and never disagree on time.
The scripts touch keys they do not declare, so Redis Cluster is not supported; one server (or a
replicated primary) is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._errors import ConfigError, StoreError
from ._base import Original, StoreInfo, decode_original, encode_original

if TYPE_CHECKING:
    import redis

_PREFIX = "headroom:"
_ORIGINAL = _PREFIX + "original:"
# the index, in the order every script receives it as KEYS
_INDEX = [_PREFIX + name for name in ("used", "stored", "sizes", "bytes")]

# seconds to connect, and to wait for each reply: Redis answers in well under a millisecond, so two
# seconds of silence mean it is down or stalled, and a request should not wait longer than that
_TIMEOUT = 2.0
_BATCH = 500  # refs per script call in info() and clear(), so a big store never blocks Redis for long
_PRUNE_PER_PUT = 20  # stale entries a put may forget, oldest stored first

_ADVICE = "Check that the Redis server is running and reachable, or set HEADROOM_STORE to sqlite."

# Shared by every script. KEYS: used, stored, sizes, bytes; ARGV[1]: the key prefix of originals.
_LUA_COMMON = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- drop a ref from the index; returns the bytes it was counted for
local function forget(ref)
  local size = tonumber(redis.call('HGET', KEYS[3], ref) or '0')
  redis.call('HDEL', KEYS[3], ref)
  redis.call('ZREM', KEYS[1], ref)
  redis.call('ZREM', KEYS[2], ref)
  if size > 0 then redis.call('DECRBY', KEYS[4], size) end
  if redis.call('HLEN', KEYS[3]) == 0 then redis.call('DEL', KEYS[4]) end  -- an empty store leaves no keys
  return size
end
"""

# ARGV: prefix, ref, kind, data, size, ttl seconds (0: none), max bytes, how many stale entries to
# look for. Returns how many originals were evicted.
_LUA_PUT = (
    _LUA_COMMON
    + """
local ref, ttl, cap, prune = ARGV[2], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local key = ARGV[1] .. ref
local t = now()
if redis.call('EXISTS', key) == 0 then
  forget(ref)  -- an earlier copy may have expired while still indexed
  redis.call('HSET', key, 'kind', ARGV[3], 'data', ARGV[4])
  redis.call('HSET', KEYS[3], ref, ARGV[5])
  redis.call('INCRBY', KEYS[4], ARGV[5])
end
if ttl > 0 then redis.call('EXPIRE', key, ttl) else redis.call('PERSIST', key) end
redis.call('ZADD', KEYS[1], t, ref)
redis.call('ZADD', KEYS[2], t, ref)
for _ = 1, prune do
  local first = redis.call('ZRANGE', KEYS[2], 0, 0)
  if #first == 0 or redis.call('EXISTS', ARGV[1] .. first[1]) == 1 then break end
  forget(first[1])
end
local total, evicted = tonumber(redis.call('GET', KEYS[4]) or '0'), 0
while total > cap do
  local lru = redis.call('ZRANGE', KEYS[1], 0, 1)
  local victim = lru[1]
  if victim == ref then victim = lru[2] end  -- never the one just stored, even if the clock stepped back
  if not victim then break end
  redis.call('DEL', ARGV[1] .. victim)
  total = total - forget(victim)
  evicted = evicted + 1
end
return evicted
"""
)

# ARGV: prefix, ref. Returns {kind, data} and marks the ref used, or nil.
_LUA_GET = (
    _LUA_COMMON
    + """
local found = redis.call('HMGET', ARGV[1] .. ARGV[2], 'kind', 'data')
if not found[1] then
  forget(ARGV[2])
  return false
end
redis.call('ZADD', KEYS[1], 'XX', now(), ARGV[2])
return found
"""
)

# ARGV: prefix, refs... Forgets the refs whose original is gone; returns how many.
_LUA_PRUNE = (
    _LUA_COMMON
    + """
local gone = 0
for i = 2, #ARGV do
  if redis.call('EXISTS', ARGV[1] .. ARGV[i]) == 0 then
    forget(ARGV[i])
    gone = gone + 1
  end
end
return gone
"""
)

# ARGV: prefix, refs... Deletes the originals and their index entries; returns how many existed.
_LUA_DELETE = (
    _LUA_COMMON
    + """
local deleted = 0
for i = 2, #ARGV do
  deleted = deleted + redis.call('DEL', ARGV[1] .. ARGV[i])
  forget(ARGV[i])
end
return deleted
"""
)


def redacted(url: str) -> str:
    """``url`` without its password or query string, fit for messages and ``store info``."""
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return f"{parts.scheme}://{user + '@' if user else ''}{hostport}{parts.path}"


def _batches(items: Iterator[bytes]) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class RedisStore:
    """Originals in Redis (``redis://host:port/db`` or ``rediss://...``), shared by every instance."""

    def __init__(self, url: str, *, ttl_seconds: int, max_bytes: int) -> None:
        """Connect and check that the server answers.

        Args:
            url: a ``redis://`` or ``rediss://`` URL, as ``redis-py`` reads it.
            ttl_seconds: how long an original is kept; 0 keeps it until evicted by size.
            max_bytes: the cap on the originals' bytes, shared by every instance on this server.

        Raises:
            ConfigError: the ``redis`` package is missing or the URL is malformed.
            StoreError: the server does not answer within two seconds, or refuses the connection.
        """
        try:  # the optional ``redis`` extra, only for a Redis store
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise ConfigError(
                f'the Redis store {redacted(url)} needs the redis package: pip install "headroom-core[redis]"'
            ) from exc
        self.location = redacted(url)
        if not re.fullmatch(r"/?\d*", urlsplit(url).path):  # redis-py would quietly use db 0
            raise ConfigError(
                f"store {self.location!r}: the database must be a number, as in redis://host:6379/0"
            )
        self._ttl = ttl_seconds
        self._max = max_bytes
        self._error: type[Exception] = redis.RedisError
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                url,
                socket_connect_timeout=_TIMEOUT,
                socket_timeout=_TIMEOUT,
                # no retries (redis-py makes 10 by default): a failed put only means the block passes
                # through uncompressed, which is better than stalling the request; stale pooled
                # connections are reconnected when taken from the pool anyway
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as exc:
            raise ConfigError(f"store {self.location!r}: {exc}; write redis://host:port/db") from exc
        self._put = self._client.register_script(_LUA_PUT)
        self._get = self._client.register_script(_LUA_GET)
        self._prune = self._client.register_script(_LUA_PRUNE)
        self._delete = self._client.register_script(_LUA_DELETE)
        try:
            with self._failing("connecting"):
                self._client.ping()
        except StoreError:
            self._client.close()
            raise

    @contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            yield
        except self._error as exc:
            reason = str(exc).rstrip(".")
            raise StoreError(f"Redis store {self.location}: {what} failed: {reason}. {_ADVICE}") from exc

    def put(self, ref: str, original: Original) -> None:
        data = encode_original(original.text)
        if len(data) > self._max:
            raise StoreError(f"original of {len(data)} bytes exceeds max_store_bytes={self._max}")
        args: list[str | bytes | int] = [_ORIGINAL, ref, original.kind, data, len(data)]
        args += [self._ttl, self._max, _PRUNE_PER_PUT]
        with self._failing("put"):
            self._put(keys=_INDEX, args=args)

    def get(self, ref: str) -> Original | None:
        with self._failing("get"):
            found = self._get(keys=_INDEX, args=[_ORIGINAL, ref])
        if found is None:
            return None
        kind, data = found
        return Original(decode_original(data), kind.decode())

    def contains(self, ref: str) -> bool:
        with self._failing("lookup"):
            return bool(self._client.exists(_ORIGINAL + ref))

    def _forget_gone(self) -> None:
        """Drop every index entry whose original has expired or was evicted by Redis itself."""
        for refs in _batches(ref for ref, _ in self._client.zscan_iter(_INDEX[1], count=_BATCH)):
            self._prune(keys=_INDEX, args=[_ORIGINAL, *refs])

    def info(self) -> StoreInfo:
        with self._failing("info"):
            self._forget_gone()
            pipe = self._client.pipeline(transaction=True)
            pipe.hlen(_INDEX[2])
            pipe.get(_INDEX[3])
            pipe.zrange(_INDEX[1], 0, 0, withscores=True)
            entries, size, oldest = pipe.execute()
        return StoreInfo(self.location, int(entries), int(size or 0), float(oldest[0][1]) if oldest else None)

    def clear(self) -> int:
        deleted = 0
        with self._failing("clear"):
            keys = self._client.scan_iter(match=_ORIGINAL + "*", count=_BATCH)
            for batch in _batches(keys):
                refs = [key[len(_ORIGINAL) :] for key in batch]
                deleted += int(self._delete(keys=_INDEX, args=[_ORIGINAL, *refs]))
            self._forget_gone()
        return deleted

    def close(self) -> None:
        self._client.close()
