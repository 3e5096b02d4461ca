"""The shared compression cache: a text one process compressed costs every other process a lookup.

``Pipeline.compress`` asks it before compressing a text and tells it the result afterwards. An entry
is keyed by a digest of the text and of everything the result depends on (``SharedCache.key``): the
code version, the tokenizer's encoding, the query, the forced kind, the budget, ``retrievable``, the
path hint and the ``Config`` fields in ``KEYED_FIELDS``; every other field of ``Config`` is listed in
``UNKEYED_FIELDS`` with the reason it cannot change a result, and a test fails when a new field is in
neither. Only the outcomes in ``CACHED_OUTCOMES`` are kept: they are what the same input always gives.
The pipeline uses a compressed entry only while the store still holds its originals.

The file is ``cache.db`` beside the store (``beside_store``; for a Redis store, in the user data
dir), opened on first use so ``import headroom`` stays light; there is none for the ``memory`` store,
whose originals die with their process. Whatever goes wrong with the file is logged and never fails
a compression: a file that cannot be opened turns the cache off for the engine, a read or write that
fails leaves it alone for ``PAUSE_SECONDS``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import Config
from .._store import beside_store
from .._types import Compressed, Kind, Outcome

if TYPE_CHECKING:
    from ._db import CacheDB

log = logging.getLogger("headroom")

PAUSE_SECONDS = 30.0  # after a failed read or write, the cache is left alone this long

# the Config fields a compression reads: part of every key
KEYED_FIELDS: tuple[str, ...] = ("min_tokens", "min_saving")
_POLICY_FIELDS = (
    "include_tools", "exclude_tools", "compress_user_messages", "max_context_tokens", "keep_last_turns",
    "align_cache", "fresh_turns", "fresh_batch", "fresh_batch_tokens", "view_turns", "fresh_max_tokens",
)  # fmt: skip
_POLICY = "the conversation policy's, decided around a text's compression, never inside it"
# every other field, and why it cannot change what one text compresses to
UNKEYED_FIELDS: dict[str, str] = {
    "store": "where originals live: a hit is used only when the store in use holds its refs",
    "ttl_seconds": "how long the store keeps originals: checked at every hit",
    "max_store_bytes": "how much the store keeps: checked at every hit",
    "tokenizer": "the encoding actually used (a model's own, else this one) is in the key",
    "ledger": "whether events are recorded, not what a text becomes",
    "time_budget": "decides only timed_out, which is never cached",
    "offload_chars": "worker processes compress to the same bytes as the calling thread",
    "cache_bytes": "the cache's own bound",
    **dict.fromkeys(_POLICY_FIELDS, _POLICY),
}
CACHED_OUTCOMES: frozenset[Outcome] = frozenset(
    {"compressed", "below_min_tokens", "below_min_saving", "not_compressible", "unsupported_kind"}
)


@functools.cache
def code_version() -> str:
    """The version entries are written under: ``__version__`` and a fingerprint of this package's
    source files (size and modification time), so an upgrade, or an edit of a development checkout,
    starts from an empty cache."""
    from .. import _version  # read when first asked, not at import: a test may set another version

    root = Path(__file__).resolve().parent.parent
    fingerprint = hashlib.blake2b(digest_size=8)
    for source in sorted(root.rglob("*.py")):
        stat = source.stat()
        fingerprint.update(f"{source.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return f"{_version.__version__}+{fingerprint.hexdigest()}"


@dataclass(frozen=True, kw_only=True)
class Hit:
    """A cached compression: the result, and what its ledger event needs beyond it."""

    result: Compressed
    compressor: str | None
    attempt_tokens: int | None


class SharedCache:
    """The cache of one engine's pipeline (``config.cache_bytes``, beside ``config.store``).

    Attributes:
        hits: lookups answered by an entry.
        misses: lookups that found none, or one whose originals the store no longer holds (or found
            the cache unusable).
        writes: entries written.
        errors: reads, writes and opens that failed (each logged).
    """

    def __init__(self, config: Config) -> None:
        self.enabled = config.cache_bytes > 0 and config.store != "memory"
        self._config = config
        self._keyed = json.dumps([getattr(config, name) for name in KEYED_FIELDS])
        self._db: CacheDB | None = None
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self.hits = self.misses = self.writes = self.errors = 0

    @property
    def path(self) -> Path:
        """The cache file (``cache.db`` beside the store)."""
        return beside_store(self._config.store, "cache.db")

    def key(
        self, text: str, *, query: str | None, kind: Kind | None, budget: float | None, retrievable: bool,
        encoding: str, exact: bool, path: str | None,
    ) -> bytes:  # fmt: skip
        """The entry's key: a 16-byte digest of ``text`` and of everything its result depends on."""
        inputs = json.dumps([code_version(), encoding, exact, query, kind, budget, retrievable, path])
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{inputs}{self._keyed}\x00".encode())  # JSON escapes every NUL: no forged split
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def _open(self) -> CacheDB | None:
        """The file, opened on first use; None while the cache is off, broken or paused."""
        if not self.enabled or time.monotonic() < self._paused_until:
            return None
        with self._lock:
            if self._db is None and self.enabled:
                from ._db import CacheDB  # sqlite3 loads on first use: ``import headroom`` stays light

                try:
                    self._db = CacheDB(self.path, max_bytes=self._config.cache_bytes, version=code_version())
                except Exception as exc:  # an unusable file must never fail a compression
                    self.enabled = False
                    self.errors += 1
                    log.warning(
                        "headroom: the shared compression cache %s cannot be opened (%s); compressing "
                        "without it (delete the file to start an empty cache)", self.path, exc,
                    )  # fmt: skip
            return self._db

    def warm(self) -> None:
        """Open the file now rather than on the first lookup (``Headroom.warm``)."""
        self._open()

    def _failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        self._paused_until = time.monotonic() + PAUSE_SECONDS
        log.warning(
            "headroom: the shared compression cache %s: %s failed (%s); left alone for %.0f s",
            self.path, what, exc, PAUSE_SECONDS,
        )  # fmt: skip

    def read(self, key: bytes) -> dict[str, Any] | None:
        """The entry under ``key`` as written by ``write``, or None (counted as neither hit nor miss:
        the caller decides whether the entry is usable)."""
        db = self._open()
        if db is None:
            return None
        try:
            value = db.get(key)
            return None if value is None else dict(json.loads(value))
        except Exception as exc:  # a broken or locked file: no cache for a while, never an error
            self._failed("a lookup", exc)
            return None

    def write(self, key: bytes, value: dict[str, Any]) -> None:
        """Keep ``value`` (JSON) under ``key``; a failure is logged and pauses the cache."""
        db = self._open()
        if db is None:
            return
        try:
            written = db.put(key, json.dumps(value).encode())  # ASCII: lone surrogates as escapes
        except Exception as exc:  # a broken or locked file: no cache for a while, never an error
            self._failed("a write", exc)
            return
        self.writes += written

    def counted(self, found: bool) -> None:
        """Count a lookup: answered by an entry, or not (none, unusable, or its originals gone)."""
        if found:
            self.hits += 1
        else:
            self.misses += 1

    def get(self, key: bytes, text: str, held: Callable[[Iterable[str]], bool]) -> Hit | None:
        """The cached compression of ``text`` under ``key``, or None; also None when ``held`` (the
        store) says an original its markers point at is gone (then it is compressed again, which
        stores the original again)."""
        fields = self.read(key)
        try:
            found = None if fields is None else _decode(fields, text)
        except (KeyError, TypeError, ValueError):  # an entry of another shape: compressed again
            found = None
        if found is not None and found.result.refs and not held(found.result.refs):
            found = None
        self.counted(found is not None)
        return found

    def put(self, key: bytes, result: Compressed, compressor: str | None, attempt_tokens: int | None) -> None:
        """Keep ``result`` under ``key`` when its outcome is one the same input always gives."""
        if result.outcome in CACHED_OUTCOMES:
            self.write(key, _encode(result, compressor, attempt_tokens))

    def block_key(self, memo_key: bytes) -> bytes:
        """The entry of a conversation block: the policy's memo key (a digest of the block, its query
        and flags, and the encoding) under this code version and the keyed settings."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(json.dumps(["block", code_version(), self._keyed]).encode())
        digest.update(memo_key)
        return digest.digest()

    def totals(self) -> tuple[int, int] | None:
        """``(entries, bytes)`` in the file, None when the cache is off or cannot be read."""
        db = self._open()
        if db is None:
            return None
        try:
            return db.totals()
        except Exception as exc:
            self._failed("reading its totals", exc)
            return None

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()


def _encode(result: Compressed, compressor: str | None, attempt_tokens: int | None) -> dict[str, Any]:
    """An entry's value; an unchanged text is not repeated (it is the input, the key's own text)."""
    value: dict[str, Any] = {
        "text": result.text if result.outcome == "compressed" else None,
        "kind": result.kind,
        "language": result.language,
        "tokens_before": result.tokens_before,
        "tokens_after": result.tokens_after,
        "ref": result.ref,
        "refs": list(result.refs),
        "outcome": result.outcome,
        "tokens_estimated": result.tokens_estimated,
        "compressor": compressor,
        "attempt_tokens": attempt_tokens,
    }
    return value


def _decode(fields: dict[str, Any], text: str) -> Hit:
    result = Compressed(
        text=text if fields["text"] is None else fields["text"],
        kind=fields["kind"],
        language=fields["language"],
        tokens_before=fields["tokens_before"],
        tokens_after=fields["tokens_after"],
        ref=fields["ref"],
        refs=tuple(fields["refs"]),
        outcome=fields["outcome"],
        tokens_estimated=fields["tokens_estimated"],
    )
    return Hit(result=result, compressor=fields["compressor"], attempt_tokens=fields["attempt_tokens"])
