"""The store contract, run against every backend (memory, SQLite, Redis), then SQLite's own promises.

Memory and SQLite read the time from their module's ``time``, which the ``backend`` fixture replaces
with a clock the test moves; Redis keeps time on its server (key expiry, order of use), so there the
test really waits, and only where it must (one TTL of one second).
"""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from headroom import ConfigError, StoreError
from headroom._markers import make_ref
from headroom._store import Original, Store, _memory, _sqlite, encode_original, open_store, sqlite_path
from headroom._store._sqlite import MIGRATIONS, SQLiteStore


class Clock:
    """The time as a store sees it: moved by the test, or the real time where it cannot be."""

    def __init__(self, *, real: bool) -> None:
        self._real = real
        self._now = 1_700_000_000.0

    def time(self) -> float:
        return time.time() if self._real else self._now

    def advance(self, seconds: float) -> None:
        if self._real:
            time.sleep(seconds)
        else:
            self._now += seconds


@dataclass
class Backend:
    """One kind of store, as the shared tests open and drive it."""

    name: str
    url: str
    clock: Clock
    grain: float  # how far apart two uses must be for the store to tell which came later
    opened: list[Store] = field(default_factory=list)

    def open(self, *, ttl: int = 0, cap: int = 1 << 24) -> Store:
        store = open_store(self.url, ttl_seconds=ttl, max_store_bytes=cap)
        self.opened.append(store)
        return store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    name = str(request.param)
    if name == "redis":
        chosen = Backend(name, str(request.getfixturevalue("redis_url")), Clock(real=True), grain=0.0)
    else:
        clock = Clock(real=False)
        monkeypatch.setattr(_memory, "time", clock)
        monkeypatch.setattr(_sqlite, "time", clock)
        url = "memory" if name == "memory" else f"sqlite:///{tmp_path / 'store.db'}"
        grain = _sqlite._TOUCH_SECONDS + 1 if name == "sqlite" else 0.0
        chosen = Backend(name, url, clock, grain)
    yield chosen
    for store in chosen.opened:
        store.close()


def _put(store: Store, text: str, kind: str = "text") -> str:
    ref = make_ref(text)
    store.put(ref, Original(text, kind))
    return ref


ODD_TEXTS = {
    "lone surrogates": "start \udcff middle \ud800 end \udfff",
    "surrogate pair as two code points": "\ud83d\ude00 is not 😀",
    "every byte value": "".join(map(chr, range(256))),
    "control characters and line endings": "a\x00b\r\nc\rd\n\x1b[31mred\x1b[0m\x7f",
    "noncharacters and BOM": "\ufeff\ufffe\uffff\U0010ffff",
    "empty": "",
}


@pytest.mark.parametrize("text", ODD_TEXTS.values(), ids=ODD_TEXTS.keys())
def test_an_original_comes_back_exactly(backend: Backend, text: str) -> None:
    store = backend.open()
    ref = _put(store, text, "log")
    assert store.contains(ref)
    assert store.get(ref) == Original(text, "log")
    info = store.info()
    assert (info.entries, info.bytes) == (1, len(encode_original(text)))


def test_a_large_original_comes_back_exactly(backend: Backend) -> None:
    text = "".join(f"{index:07d} ünïcödé \udcff {index * 7919 % 1000:03d}\n" for index in range(200_000))
    assert len(encode_original(text)) > 5_000_000
    store = backend.open()
    ref = _put(store, text)
    assert store.get(ref) == Original(text, "text")
    assert store.info().bytes == len(encode_original(text))


def test_unknown_refs_are_not_found(backend: Backend) -> None:
    store = backend.open()
    info = store.info()
    assert (info.entries, info.bytes, info.oldest) == (0, 0, None)
    assert not store.contains(make_ref("never stored"))
    assert store.get(make_ref("never stored")) is None
    _put(store, "stored")
    assert not store.contains(make_ref("never stored"))
    assert store.get(make_ref("never stored")) is None


def test_originals_expire_after_the_ttl(backend: Backend) -> None:
    store = backend.open(ttl=1)
    ref = _put(store, "short-lived")
    assert store.contains(ref)
    backend.clock.advance(1.1)
    assert not store.contains(ref)
    assert store.get(ref) is None
    assert (store.info().entries, store.info().bytes) == (0, 0)
    assert _put(store, "short-lived") == ref  # stored again, it is found again
    assert store.get(ref) == Original("short-lived", "text")


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_a_ttl_of_zero_keeps_originals(backend: Backend) -> None:
    # Redis time cannot be moved on; test_store_redis checks there that the key carries no expiry
    store = backend.open(ttl=0)
    ref = _put(store, "kept")
    backend.clock.advance(10 * 365 * 86400)
    assert store.get(ref) == Original("kept", "text")


def test_least_recently_used_goes_first(backend: Backend) -> None:
    store = backend.open(cap=250)
    for name in "abc":
        backend.clock.advance(backend.grain)
        _put(store, name * 100)
    assert not store.contains(make_ref("a" * 100))  # 300 bytes > 250: the oldest went
    backend.clock.advance(backend.grain)
    assert store.get(make_ref("b" * 100)) is not None  # b is now the most recently used
    backend.clock.advance(backend.grain)
    _put(store, "d" * 100)
    assert store.contains(make_ref("b" * 100))
    assert not store.contains(make_ref("c" * 100))
    assert store.contains(make_ref("d" * 100))
    assert (store.info().entries, store.info().bytes) == (2, 200)


def test_putting_a_known_ref_again_keeps_one_copy_and_counts_as_a_use(backend: Backend) -> None:
    store = backend.open(cap=250)
    first = _put(store, "a" * 100)
    backend.clock.advance(backend.grain)
    _put(store, "b" * 100)
    backend.clock.advance(backend.grain)
    assert _put(store, "a" * 100) == first
    assert (store.info().entries, store.info().bytes) == (2, 200)
    assert store.get(first) == Original("a" * 100, "text")
    backend.clock.advance(backend.grain)
    _put(store, "c" * 100)  # over the cap: b, not the re-put a, is the least recently used
    assert store.contains(first)
    assert not store.contains(make_ref("b" * 100))


def test_an_original_larger_than_the_cap_is_refused(backend: Backend) -> None:
    store = backend.open(cap=10)
    with pytest.raises(StoreError, match="max_store_bytes"):
        store.put("a" * 24, Original("x" * 11, "text"))
    assert store.info().entries == 0


def test_info_counts_entries_bytes_and_the_oldest(backend: Backend) -> None:
    store = backend.open()
    before = backend.clock.time()
    _put(store, "first")
    after = backend.clock.time()
    for text in ("second", "third ünï"):
        backend.clock.advance(0.01)
        _put(store, text)
    info = store.info()
    assert info.entries == 3
    assert info.bytes == len(encode_original("firstsecondthird ünï"))
    assert info.oldest is not None
    assert before - 0.5 <= info.oldest <= after + 0.5  # Redis's clock may be a little off ours


def test_clear_returns_the_count_and_empties_the_store(backend: Backend) -> None:
    store = backend.open()
    refs = [_put(store, name * 10) for name in "abc"]
    assert store.clear() == 3
    info = store.info()
    assert (info.entries, info.bytes, info.oldest) == (0, 0, None)
    for ref in refs:
        assert not store.contains(ref)
        assert store.get(ref) is None
    assert store.clear() == 0
    ref = _put(store, "after clear")  # the store is still usable
    assert store.get(ref) == Original("after clear", "text")


def test_sqlite_files_are_private_and_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "deep" / "store.db", ttl_seconds=0, max_bytes=1 << 20)
    store.put("a" * 24, Original("secret", "text"))
    for name in ("store.db", "store.db-wal"):
        assert stat.S_IMODE((tmp_path / "deep" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    with sqlite3.connect(tmp_path / "deep" / "store.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_blank_database_migrates_to_the_latest_schema(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.db", ttl_seconds=0, max_bytes=100).close()
    SQLiteStore(tmp_path / "s.db", ttl_seconds=0, max_bytes=100).close()  # reopening applies nothing twice
    with sqlite3.connect(tmp_path / "s.db") as db:
        applied = db.execute("SELECT id, name FROM migrations ORDER BY id").fetchall()
        columns = [row[1] for row in db.execute("PRAGMA table_info(originals)")]
    assert applied == [(n, m.__name__) for n, m in enumerate(MIGRATIONS, start=1)]
    assert columns == ["ref", "kind", "size", "created", "accessed", "data"]


def test_a_sqlite_store_that_cannot_be_opened_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(blocker / "store.db", ttl_seconds=0, max_bytes=100)


def test_store_urls(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///relative/x.db") == Path("relative/x.db")
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite").name == "store.db"
    with pytest.raises(ConfigError, match=r"redis://host:port/db"):
        open_store("postgres://db", ttl_seconds=0, max_store_bytes=1)
    with pytest.raises(ConfigError):
        sqlite_path("sqlite:relative.db")


def test_loose_modes_of_an_existing_store_file_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "loose.db"
    SQLiteStore(path, ttl_seconds=0, max_bytes=1 << 20).close()
    path.chmod(0o644)
    store = SQLiteStore(path, ttl_seconds=0, max_bytes=1 << 20)
    store.put(make_ref("x"), Original("x", "text"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.close()


def test_a_full_disk_is_reported_as_such(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "full.db", ttl_seconds=0, max_bytes=1 << 30)
    store._db.execute("PRAGMA max_page_count = 8")  # SQLite's own "database or disk is full"
    with pytest.raises(StoreError) as failed:
        store.put(make_ref("big"), Original("y" * 200_000, "text"))
    assert "full" in str(failed.value)
    assert "rollback" not in str(failed.value)
    store.close()


def test_a_loose_headroom_data_directory_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    home = Path(platformdirs.user_data_dir("headroom"))
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    store = SQLiteStore(home / "store.db", ttl_seconds=0, max_bytes=1 << 20)
    store.put(make_ref("x"), Original("x", "text"))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        if (home / name).exists():
            assert stat.S_IMODE((home / name).stat().st_mode) & 0o077 == 0, name
    store.close()


def test_a_store_of_the_first_layout_is_migrated_with_its_originals(tmp_path: Path) -> None:
    from headroom._sqlite_util import connect, migrate
    from headroom._store._base import encode_original
    from headroom._store._sqlite import MIGRATIONS

    path = tmp_path / "v1.db"
    db = connect(path, busy_ms=1000)
    migrate(db, MIGRATIONS[:1])  # a file written before the second migration
    ref, text = make_ref("kept"), "kept original " * 1000
    data = encode_original(text)
    db.execute("INSERT INTO originals VALUES (?, ?, ?, ?, ?, ?)", (ref, "log", data, len(data), 1e9, 1e9))
    db.close()
    store = SQLiteStore(path, ttl_seconds=0, max_bytes=1 << 30)
    assert store.get(ref) == Original(text, "log")
    assert store.info().entries == 1
    store.put(make_ref("new"), Original("new", "text"))
    assert store.info().entries == 2
    store.close()


def test_the_blobs_live_apart_from_the_refs_index(tmp_path: Path) -> None:
    """A rowid table with the blob last: a lookup walks the refs' index, which holds no blob (in the
    first layout, WITHOUT ROWID, a lookup read whole megabyte originals on its way: 8 ms each)."""
    store = SQLiteStore(tmp_path / "big.db", ttl_seconds=0, max_bytes=1 << 30)
    (sql,) = store._db.execute("SELECT sql FROM sqlite_master WHERE name = 'originals'").fetchone()
    assert "WITHOUT ROWID" not in sql.upper()
    columns = [row[1] for row in store._db.execute("PRAGMA table_info(originals)")]
    assert columns[-1] == "data"
    store.close()
