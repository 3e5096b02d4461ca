"""What only the Redis store promises: its own keyspace, a shared cap, an index that outlives expired
originals, a URL without its password, and clear failures. The shared contract is in test_store.py."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from headroom import ConfigError, StoreError
from headroom._markers import make_ref
from headroom._store import Original, Store, open_store

from .conftest import RedisServer, free_port, running_redis


@pytest.fixture
def opened() -> Iterator[list[Store]]:
    """Stores a test opened, closed afterwards."""
    stores: list[Store] = []
    yield stores
    for store in stores:
        store.close()


def _open(url: str, opened: list[Store], *, ttl: int = 0, cap: int = 1 << 20) -> Store:
    store = open_store(url, ttl_seconds=ttl, max_store_bytes=cap)
    opened.append(store)
    return store


def _put(store: Store, text: str) -> str:
    ref = make_ref(text)
    store.put(ref, Original(text, "text"))
    return ref


def _data_key(ref: str) -> str:
    return f"headroom:original:{ref}"


def test_every_key_is_namespaced(redis_url: str, redis_client: redis.Redis, opened: list[Store]) -> None:
    store = _open(redis_url, opened, ttl=60)
    ref = _put(store, "namespaced")
    store.get(ref)
    keys = sorted(key.decode() for key in redis_client.scan_iter())
    index = ["headroom:bytes", "headroom:sizes", "headroom:stored", "headroom:used"]
    assert keys == sorted([_data_key(ref), *index])


def test_clear_leaves_other_applications_keys_alone(
    redis_url: str, redis_client: redis.Redis, opened: list[Store]
) -> None:
    redis_client.set("session:42", "someone else's")
    redis_client.set("headroomish", "not ours either")
    store = _open(redis_url, opened)
    for text in ("one", "two"):
        _put(store, text)
    assert store.clear() == 2
    assert sorted(redis_client.scan_iter()) == [b"headroomish", b"session:42"]


def test_originals_carry_the_ttl_and_a_put_renews_it(
    redis_url: str, redis_client: redis.Redis, opened: list[Store]
) -> None:
    expiring = _open(redis_url, opened, ttl=30)
    ref = _put(expiring, "expiring")
    assert 29_000 < redis_client.pttl(_data_key(ref)) <= 30_000
    redis_client.pexpire(_data_key(ref), 5_000)
    _put(expiring, "expiring")
    assert redis_client.pttl(_data_key(ref)) > 29_000
    kept = _open(redis_url, opened, ttl=0)
    assert redis_client.pttl(_data_key(_put(kept, "kept"))) == -1  # -1: no expiry


def _expire_now(client: redis.Redis, *refs: str) -> None:
    """Let originals expire as Redis does it on its own, without waiting out a real TTL."""
    for ref in refs:
        client.pexpire(_data_key(ref), 1)
    time.sleep(0.02)
    assert not any(client.exists(_data_key(ref)) for ref in refs)


def test_originals_that_expired_on_their_own_free_their_bytes(
    redis_url: str, redis_client: redis.Redis, opened: list[Store]
) -> None:
    store = _open(redis_url, opened, cap=250)
    a, b = (_put(store, name * 100) for name in "ab")
    assert store.get(a) is not None  # a is the most recently used, yet the first stored
    _expire_now(redis_client, a)
    # were a still counted, c would push b (the least recently used) out
    c = _put(store, "c" * 100)
    assert store.contains(b)
    assert store.contains(c)
    info = store.info()
    assert (info.entries, info.bytes) == (2, 200)
    assert sorted(redis_client.hkeys("headroom:sizes")) == sorted([b.encode(), c.encode()])


def test_an_original_stored_again_after_it_expired_is_counted_once(
    redis_url: str, redis_client: redis.Redis, opened: list[Store]
) -> None:
    store = _open(redis_url, opened)
    ref = _put(store, "a" * 100)
    _expire_now(redis_client, ref)
    assert _put(store, "a" * 100) == ref
    info = store.info()
    assert (info.entries, info.bytes) == (1, 100)


def test_info_forgets_originals_redis_evicted_by_itself(
    redis_url: str, redis_client: redis.Redis, opened: list[Store]
) -> None:
    store = _open(redis_url, opened)
    refs = [_put(store, name * 100) for name in "abc"]
    redis_client.delete(_data_key(refs[1]))  # as a maxmemory policy would: the middle one, not the oldest
    info = store.info()
    assert (info.entries, info.bytes) == (2, 200)
    assert store.clear() == 2
    assert redis_client.dbsize() == 0


def test_instances_on_one_redis_share_originals_and_the_cap(redis_url: str, opened: list[Store]) -> None:
    first = _open(redis_url, opened, cap=250)
    second = _open(redis_url, opened, cap=250)
    a = _put(first, "a" * 100)
    assert second.get(a) == Original("a" * 100, "text")
    b = _put(second, "b" * 100)
    assert first.get(a) is not None  # a is now used more recently than b
    _put(second, "c" * 100)
    assert first.contains(a)
    assert not first.contains(b)
    assert first.info().bytes == second.info().bytes == 200


def test_the_location_shows_no_password(
    redis_server: RedisServer, redis_client: redis.Redis, opened: list[Store]
) -> None:
    redis_client.acl_setuser("alice", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"])
    try:
        store = _open(f"redis://alice:s3cret@127.0.0.1:{redis_server.port}/0?health_check_interval=5", opened)
        assert store.info().location == f"redis://alice@127.0.0.1:{redis_server.port}/0"
        ref = _put(store, "behind a password")
        assert store.get(ref) == Original("behind a password", "text")
        assert store.clear() == 1
        with pytest.raises(StoreError) as refused:
            open_store(
                f"redis://alice:wr0ng@127.0.0.1:{redis_server.port}/0", ttl_seconds=0, max_store_bytes=1
            )
        assert "wr0ng" not in str(refused.value)
        assert f"redis://alice@127.0.0.1:{redis_server.port}/0" in str(refused.value)
    finally:
        redis_client.acl_deluser("alice")


def test_an_unreachable_server_fails_fast_and_says_what_to_do() -> None:
    port = free_port()  # nothing listens there
    for scheme in ("redis", "rediss"):
        started = time.monotonic()
        with pytest.raises(StoreError, match="Check that the Redis server is running") as failed:
            open_store(f"{scheme}://:hunter2@127.0.0.1:{port}/0", ttl_seconds=0, max_store_bytes=1)
        assert time.monotonic() - started < 1  # refused at once, and not retried
        assert f"{scheme}://127.0.0.1:{port}/0" in str(failed.value)
        assert "hunter2" not in str(failed.value)


def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(StoreError, match="connecting failed"):
            open_store(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", ttl_seconds=0, max_store_bytes=1)
        assert time.monotonic() - started < 4


def test_a_server_that_goes_away_raises_store_errors(tmp_path: Path, opened: list[Store]) -> None:
    with running_redis(tmp_path) as server:
        store = _open(server.url(), opened)
        ref = _put(store, "stored before the outage")
    started = time.monotonic()
    with pytest.raises(StoreError, match="put failed"):
        _put(store, "after")
    with pytest.raises(StoreError, match="get failed"):
        store.get(ref)
    with pytest.raises(StoreError, match="lookup failed"):
        store.contains(ref)
    with pytest.raises(StoreError, match="info failed"):
        store.info()
    with pytest.raises(StoreError, match="clear failed"):
        store.clear()
    assert time.monotonic() - started < 5


def test_a_malformed_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="database must be a number"):
        open_store("redis://127.0.0.1:6379/zero", ttl_seconds=0, max_store_bytes=1)


def test_without_the_redis_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` meets when it is not installed
    with pytest.raises(ConfigError, match=r'pip install "headroom-core\[redis\]"'):
        open_store("redis://127.0.0.1:6379/0", ttl_seconds=0, max_store_bytes=1)


def test_a_stalled_server_costs_one_timeout_not_one_per_block(tmp_path: Path) -> None:
    """SIGSTOP'd Redis: the first block waits out the timeout, the breaker lets the rest through."""
    import signal

    from headroom import Config, Headroom

    with running_redis(tmp_path) as server:
        hr = Headroom(Config(store=server.url(3)))
        logs = ["\n".join(f"2026-01-01 10:00:{i % 60:02d} INFO request {i} served by {seed}" for i in range(400))
                for seed in range(8)]  # fmt: skip
        assert hr.compress_text(logs[0]).outcome == "compressed"
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            results = [hr.compress_text(text) for text in logs[1:]]
            elapsed = time.monotonic() - started
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert [r.text for r in results] == logs[1:]  # nothing dropped without its original
        # the first waits out the timeout (past its time budget too), the rest pass through at once
        assert {r.outcome for r in results[1:]} == {"store_failed"}
        assert elapsed < 3 * 2.0 + 2.0, elapsed  # one timeout (2 s), not seven
        assert hr.ledger is not None
        hr.ledger.flush()
        said = [e for e in hr.ledger.events() if "originals pass through" in e.reason]
        assert len(said) == 1
        hr.close()
