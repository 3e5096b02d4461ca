"""What the proxy remembers between the requests of one conversation, and who it belongs to.

Two things outlive a response: the answers to our calls taken out of a turn that also called the
client's tools (owed to the history the client sends next), and, for Responses, which upstream
response the id the client was shown stands for. Both are kept in the engine's store (so every worker
and every proxy process on one store sees them) under a key that is a digest of the conversation
itself and of the request's credential, never an id the client chooses alone: a replayed or reused
id from another conversation or another API key finds nothing.

- ``credential(headers)``: a digest of the request's credential headers ("" with none).
- ``Thread``: one request's view: its credential, the keys it derives, what it recalls and keeps.
- ``prefix_digests``: one running digest over a history, read before each message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from headroom import Headroom, HeadroomError
from headroom.integration import Original

log = logging.getLogger("headroom")

PREFIX = "headroom-proxy:"  # store keys of the proxy's state: never a ref, so never retrievable
_CREDENTIALS = ("authorization", "x-api-key", "api-key", "openai-organization", "openai-project")
_VOLATILE = ("cache_control",)  # moved between requests by clients (Claude Code marks the last turn)


def credential(headers: Any) -> str:
    """A digest of every credential header of a request (repeated ones included), "" when it has none."""
    digest = hashlib.blake2b(digest_size=16)
    seen = False
    for name in _CREDENTIALS:
        for value in headers.getlist(name):
            digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogatepass"))
            seen = True
    return digest.hexdigest() if seen else ""


def canonical(value: Any) -> bytes:
    """``value`` as bytes that do not depend on key order or on the cache markers clients move."""
    data = _sorted(value)
    if b'"cache_control"' in data:  # rare: only then is the value copied without them
        data = _sorted(_stable(value))
    return data


def _sorted(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, huge ints
        import json

        return json.dumps(value, sort_keys=True).encode("utf-8", "surrogatepass")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def prefix_digests(messages: list[Any]) -> Iterator[tuple[int, bytes]]:
    """(index, digest of ``messages[:index]``) for every index, the whole list's last."""
    running = hashlib.blake2b(digest_size=16)
    for index, message in enumerate(messages):
        yield index, running.copy().digest()
        data = canonical(message)
        running.update(len(data).to_bytes(8, "little") + data)
    yield len(messages), running.digest()


@dataclass
class Thread:
    """One request's conversation state: who sent it, what it recalled, what it keeps afterwards."""

    state: State
    who: str  # the credential's digest
    history: list[Any] | None = None  # the client's messages as sent, before anything was put back
    kept: dict[str, Any] = field(default_factory=dict)

    def key(self, *parts: str | bytes) -> str:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(self.who.encode())
        for part in parts:
            data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little") + data)
        return PREFIX + digest.hexdigest()

    def recall(self, keys: list[str]) -> dict[str, Any]:
        """The records kept under ``keys`` (blocking: call it on a worker thread)."""
        return self.state.recall(keys)

    def keep(self, key: str, value: Any) -> None:
        """Keep ``value`` under ``key`` once the response is ready (``State.keep``)."""
        self.kept[key] = value


class State:
    """The proxy's conversation state in the engine's store, with a short memory of misses.

    A miss is remembered for ``MISS_SECONDS`` so a long history does not cost a store read per turn
    on every request; a key only exists once its response went out, so a remembered miss is stale
    only when a client reuses ids for a regenerated turn, and then for a minute at most.
    """

    MISS_SECONDS = 60.0
    MISSES = 200_000

    def __init__(self, engine: Headroom) -> None:
        self.engine = engine
        self.compressed = False  # whether this process has compressed a request yet (a cold start)
        self._misses: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def thread(self, who: str) -> Thread:
        return Thread(self, who)

    def recall(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        now = time.monotonic()
        for key in keys:
            with self._lock:
                missed = self._misses.get(key)
            if missed is not None and now - missed < self.MISS_SECONDS:
                continue
            try:
                original = self.engine.store.get(key)
            except HeadroomError as exc:
                log.warning("headroom proxy: conversation state unavailable (%s)", exc)
                return found
            if original is None:
                with self._lock:
                    self._misses[key] = now
                    self._misses.move_to_end(key)
                    while len(self._misses) > self.MISSES:
                        self._misses.popitem(last=False)
                continue
            try:
                found[key] = orjson.loads(original.text)
            except orjson.JSONDecodeError:
                continue
        return found

    def keep(self, records: dict[str, Any]) -> None:
        """Write ``records`` (blocking); a store that fails loses them, logged: the history the client
        sends next is still valid, only without our calls in it."""
        try:
            for key, value in records.items():
                text = _sorted(value).decode("utf-8", "surrogatepass")
                self.engine.store.put(key, Original(text, "proxy"))
                with self._lock:
                    self._misses.pop(key, None)
        except HeadroomError as exc:
            log.warning("headroom proxy: could not keep conversation state (%s)", exc)
