from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from pathlib import Path

import pytest
from headroom import ConfigError, StoreError
from headroom._markers import make_ref
from headroom._store import Original, Store, _memory, _sqlite, open_store, sqlite_path
from headroom._store._sqlite import MIGRATIONS, SQLiteStore


def _open(kind: str, tmp_path: Path, **limits: int) -> Store:
    url = "memory" if kind == "memory" else f"sqlite:///{tmp_path / 'store.db'}"
    return open_store(url, ttl_seconds=limits.get("ttl", 0), max_store_bytes=limits.get("cap", 1 << 20))


@pytest.fixture(params=["memory", "sqlite"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_put_get_roundtrip_is_exact(kind: str, tmp_path: Path) -> None:
    store = _open(kind, tmp_path)
    text = "line\r\nNUL\x00 ünï \udcff end"
    store.put(make_ref(text), Original(text, "log"))
    assert store.get(make_ref(text)) == Original(text, "log")
    assert store.contains(make_ref(text))
    assert store.get(make_ref("other")) is None
    info = store.info()
    assert info.entries == 1
    assert info.bytes == len(text.encode("utf-8", "surrogatepass"))
    assert info.oldest is not None


def test_expired_originals_are_gone(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    module = _memory if kind == "memory" else _sqlite
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    store = _open(kind, tmp_path, ttl=60)
    store.put("a" * 24, Original("old", "text"))
    clock[0] += 61
    assert not store.contains("a" * 24)
    assert store.get("a" * 24) is None


def test_least_recently_used_goes_first(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    module = _memory if kind == "memory" else _sqlite
    monkeypatch.setattr(module.time, "time", lambda: clock[0])
    store = _open(kind, tmp_path, cap=250)
    for name in "abc":
        clock[0] += 100  # use is recorded at a one-minute grain
        store.put(name * 24, Original(name * 100, "text"))
    assert not store.contains("a" * 24)  # 300 bytes > 250: the oldest went
    clock[0] += 100  # use is recorded at a one-minute grain
    assert store.get("b" * 24) is not None  # b is now the most recently used
    clock[0] += 100  # use is recorded at a one-minute grain
    store.put("d" * 24, Original("d" * 100, "text"))
    assert store.contains("b" * 24)
    assert not store.contains("c" * 24)
    assert store.info().bytes <= 250


def test_an_original_larger_than_the_cap_is_refused(kind: str, tmp_path: Path) -> None:
    store = _open(kind, tmp_path, cap=10)
    with pytest.raises(StoreError, match="max_store_bytes"):
        store.put("a" * 24, Original("x" * 11, "text"))


def test_clear_deletes_everything(kind: str, tmp_path: Path) -> None:
    store = _open(kind, tmp_path)
    for name in "ab":
        store.put(name * 24, Original(name, "text"))
    assert store.clear() == 2
    assert store.info().entries == 0
    assert store.get("a" * 24) is None


def test_sqlite_files_are_private_and_in_wal_mode(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "deep" / "store.db", ttl_seconds=0, max_bytes=1 << 20)
    store.put("a" * 24, Original("secret", "text"))
    for name in ("store.db", "store.db-wal"):
        assert stat.S_IMODE((tmp_path / "deep" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    with sqlite3.connect(tmp_path / "deep" / "store.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_blank_database_migrates_to_the_latest_schema(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "s.db", ttl_seconds=0, max_bytes=100).close()
    SQLiteStore(tmp_path / "s.db", ttl_seconds=0, max_bytes=100).close()  # reopening applies nothing twice
    with sqlite3.connect(tmp_path / "s.db") as db:
        applied = db.execute("SELECT id, name FROM migrations ORDER BY id").fetchall()
        columns = [row[1] for row in db.execute("PRAGMA table_info(originals)")]
    assert applied == [(n, m.__name__) for n, m in enumerate(MIGRATIONS, start=1)]
    assert columns == ["ref", "kind", "data", "size", "created", "accessed"]


def _writer(path: str, worker: int) -> None:
    store = SQLiteStore(Path(path), ttl_seconds=0, max_bytes=1 << 24)
    for index in range(40):
        text = f"worker {worker} original {index} " * 20
        store.put(make_ref(text), Original(text, "text"))
    store.close()


def test_several_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(path), worker)) for worker in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    store = SQLiteStore(path, ttl_seconds=0, max_bytes=1 << 24)
    assert store.info().entries == 160
    text = "worker 3 original 39 " * 20
    assert store.get(make_ref(text)) == Original(text, "text")


def test_a_store_that_cannot_be_opened_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteStore(blocker / "store.db", ttl_seconds=0, max_bytes=100)


def test_store_urls(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///relative/x.db") == Path("relative/x.db")
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_path("sqlite").name == "store.db"
    with pytest.raises(ConfigError):
        open_store("postgres://db", ttl_seconds=0, max_store_bytes=1)
    with pytest.raises(ConfigError):
        sqlite_path("sqlite:relative.db")
