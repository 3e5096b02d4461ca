"""The stats ledger: schema, batching, failure isolation, engine events, and several processes at once."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from headroom import Config, Headroom
from headroom import _pipeline as pipeline_module
from headroom._stats.db import open_ledger_db, read_events
from headroom._stats.events import Event, ledger_outcome, ledger_path
from headroom._stats.ledger import Ledger

EVERY_FIELD = Event(event="compress", source="proxy", outcome="low_saving", reason="saved 4% < min_saving 15%", model="gpt-4o", kind="json", compressor="json",
                    tokens_before=1234, tokens_after=1200, ms=12.5, ref="a" * 24, has_query=True, memo=True, time=1_700_000_000.25,
                    usage_uncached=120, usage_cache_read=40_000, usage_write_5m=900, usage_write_1h=0)  # fmt: skip


def big_log(lines: int = 400) -> str:
    return "".join(
        f"2026-03-01 10:{i // 60 % 60:02d}:{i % 60:02d} INFO app: request {i} served\n" for i in range(lines)
    )


def wait_for(predicate: object, seconds: float = 10.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def rows(path: Path) -> int:
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


# --- the file ----------------------------------------------------------------------------------------


def test_a_blank_database_migrates_to_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    open_ledger_db(path).close()
    db = open_ledger_db(path)  # a second open applies nothing twice
    assert db.execute("SELECT id, name FROM migrations").fetchall() == [
        (1, "_m001_events"),
        (2, "_m002_usage"),
        (3, "_m003_rollup"),
        (4, "_m004_busts"),
        (5, "_m005_tool"),
        (6, "_m006_ttfb"),
        (7, "_m007_hourly"),
    ]
    columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
    assert columns == ["id", "time", "event", "source", "outcome", "reason", "model", "kind", "compressor",
                       "tokens_before", "tokens_after", "ms", "ref", "has_query", "memo", "usage_uncached",
                       "usage_cache_read", "usage_write_5m", "usage_write_1h", "bust", "bust_tokens",
                       "bust_part", "tool", "ttfb_ms"]  # fmt: skip
    indexes = {row[1]: row[2] for row in db.execute("PRAGMA index_list(events)")}
    assert "events_time" in indexes
    assert [row[2] for row in db.execute("PRAGMA index_info(events_time)")] == ["time"]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_ledger_from_before_usage_keeps_its_events(tmp_path: Path) -> None:
    from headroom._sqlite_util import open_file
    from headroom._stats.db import MIGRATIONS, read_events

    path = tmp_path / "ledger.db"
    old = open_file(path, MIGRATIONS[:1], busy_ms=1000)
    old.execute("INSERT INTO events (time, event, source, outcome, tokens_before) VALUES (1e9, 'request', 'proxy',"
                " 'compressed', 5000)")  # fmt: skip
    old.commit()
    old.close()
    db = open_ledger_db(path)
    [event] = read_events(db)
    assert (event.tokens_before, event.usage_cache_read, event.usage_uncached) == (5000, None, None)
    db.close()


def test_events_round_trip_with_every_field(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    second = Event(
        event="retrieve", source="library", outcome="found", kind="log", tokens_after=40, ref="b" * 24
    )
    ledger.record(EVERY_FIELD)
    ledger.record(second)
    ledger.close()
    again = Ledger(tmp_path / "ledger.db")
    assert again.events() == [EVERY_FIELD, second]
    assert again.events(source="proxy") == [EVERY_FIELD]
    assert again.events(since=second.time - 1) == [second]
    again.close()


def test_a_large_batch_keeps_every_event_in_order(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db", flush_seconds=60, batch=10_000)
    events = [
        Event(event="compress", source="library", outcome="compressed", tokens_before=n, time=1e9 + n)
        for n in range(2_345)
    ]
    for event in events:
        ledger.record(event)
    ledger.flush()  # written as statements of 1024, 1024, 256, 32, 8 and 1 rows
    assert ledger.events() == events
    ledger.close()


def test_a_lone_surrogate_loses_one_character_not_the_batch(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.record(Event(event="compress", source="proxy", outcome="compressed", model="gpt-4o"))
    ledger.record(Event(event="compress", source="proxy", outcome="compressed", model="gpt\ud800-4o"))
    ledger.flush()
    assert [e.model for e in ledger.events()] == ["gpt-4o", "gpt?-4o"]
    assert ledger.failed == 0
    ledger.close()


def test_record_does_no_io_and_flush_writes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path, flush_seconds=60, batch=10_000)
    for _ in range(100):
        ledger.record(Event(event="compress", source="library", outcome="compressed"))
    assert not path.exists()  # nothing was written on the caller's thread
    ledger.flush()
    assert rows(path) == 100
    ledger.close()


def test_the_writer_thread_flushes_on_its_own(tmp_path: Path) -> None:
    timed = Ledger(tmp_path / "timed.db", flush_seconds=0.05)
    timed.record(Event(event="compress", source="library", outcome="compressed"))
    assert wait_for(lambda: rows(tmp_path / "timed.db") == 1)
    full = Ledger(tmp_path / "full.db", flush_seconds=60, batch=5)
    for _ in range(5):
        full.record(Event(event="compress", source="library", outcome="compressed"))
    assert wait_for(lambda: rows(tmp_path / "full.db") == 5)  # a full batch does not wait a minute
    timed.close()
    full.close()


def test_an_idle_writer_exits_and_the_next_event_starts_another(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path, flush_seconds=0.02, idle_seconds=0.05)
    ledger.record(Event(event="compress", source="library", outcome="compressed"))
    assert wait_for(lambda: rows(path) == 1)
    time.sleep(0.3)  # long enough for the writer to have gone
    ledger.record(Event(event="compress", source="library", outcome="too_small"))
    assert wait_for(lambda: rows(path) == 2)
    ledger.close()


def test_a_full_buffer_drops_and_counts_instead_of_growing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db", flush_seconds=60, batch=10_000, max_pending=10)
    for _ in range(15):
        ledger.record(Event(event="compress", source="library", outcome="compressed"))
    assert ledger.dropped == 5
    ledger.close()
    assert rows(tmp_path / "ledger.db") == 10


@pytest.mark.parametrize("damage", ["directory", "corrupt"])
def test_a_broken_ledger_file_is_logged_once_and_never_raises(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ledger.db"
    if damage == "directory":
        path.mkdir()  # a path that cannot be opened as a file
    else:
        path.write_bytes(b"this is not a sqlite database at all" * 200)
    ledger = Ledger(path)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        for _ in range(3):
            ledger.record(Event(event="compress", source="library", outcome="compressed"))
            ledger.flush()
        ledger.close()
    assert ledger.failed == 3
    assert len([r for r in caplog.records if "stats ledger" in r.getMessage()]) == 1


def test_ledger_path_sits_beside_the_store(tmp_path: Path) -> None:
    assert ledger_path(f"sqlite:///{tmp_path}/x/store.db") == tmp_path / "x" / "ledger.db"
    data = Path(os.environ["XDG_DATA_HOME"])
    for url in ("memory", "redis://localhost:6379/0", "sqlite:///"):
        assert ledger_path(url) == data / "headroom" / "ledger.db"
    assert ledger_path("sqlite") == data / "headroom" / "ledger.db"  # beside the default store.db


# --- outcomes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "attempt", "expected"),
    [
        ("compressed", None, ("compressed", "")),
        ("below_min_tokens", None, ("too_small", "212 tokens < min_tokens 300")),
        ("below_min_saving", 204, ("low_saving", "saved 4% < min_saving 15%")),
        ("not_compressible", None, ("low_saving", "nothing the compressor could drop")),
        ("unsupported_kind", None, ("excluded", "no compressor for json")),
        ("already_compressed", None, ("excluded", "already carries a headroom marker")),
        ("store_failed", None, ("store_failed", "the store could not keep the original")),
        ("bad_input", None, ("bad_input", "nested too deeply")),
        ("error", None, ("failed", "the compressor raised (see the log)")),
    ],
)
def test_engine_outcomes_map_to_the_ledger_vocabulary(
    engine: str, attempt: int | None, expected: tuple[str, str]
) -> None:
    found = ledger_outcome(engine, kind="json", tokens_before=212, attempt_tokens=attempt, min_tokens=300,
                           min_saving=0.15)  # fmt: skip
    assert found == expected


# --- the engine --------------------------------------------------------------------------------------


def recorded(hr: Headroom) -> list[Event]:
    assert hr.ledger is not None
    hr.ledger.flush()
    return hr.ledger.events()


def test_compress_text_records_one_event_per_call(store_url: str) -> None:
    hr = Headroom(Config(store=store_url), source="langchain")
    small = hr.compress_text("a short tool result", model="gpt-4o")
    done = hr.compress_text(big_log(), model="gpt-4o")
    nested = hr.compress_text('{"a":' * 900 + '"deep"' + "}" * 900)
    events = recorded(hr)
    assert [(e.event, e.outcome, e.source) for e in events] == [
        ("compress", "too_small", "langchain"),
        ("compress", "compressed", "langchain"),
        ("compress", "bad_input", "langchain"),
    ]
    first, second, third = events
    assert first.reason == f"{small.tokens_before} tokens < min_tokens 300"
    assert (first.model, first.kind, first.compressor) == ("gpt-4o", "text", None)
    assert (second.kind, second.compressor, second.ref) == ("log", "log", done.ref)
    assert (second.tokens_before, second.tokens_after) == (done.tokens_before, done.tokens_after)
    assert second.ms > 0
    assert (third.reason, third.compressor, nested.outcome) == ("nested too deeply", "json", "bad_input")
    assert hr.outcomes["bad_input"] == 1
    hr.close()


def test_savings_too_low_and_store_failures_are_recorded(tmp_path: Path) -> None:
    low = Headroom(Config(store=f"sqlite:///{tmp_path}/a/s.db", min_tokens=0, min_saving=0.99))
    assert low.compress_text(big_log()).outcome == "below_min_saving"
    (event,) = recorded(low)
    assert event.outcome == "low_saving"
    assert event.reason.startswith("saved 9")
    assert event.reason.endswith("% < min_saving 99%")
    full = Headroom(Config(store=f"sqlite:///{tmp_path}/b/s.db", min_tokens=0, max_store_bytes=100))
    assert full.compress_text(big_log()).outcome == "store_failed"
    assert [(e.outcome, e.compressor) for e in recorded(full)] == [("store_failed", "log")]
    low.close()
    full.close()


def test_a_compressor_that_raises_is_recorded_as_failed(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(job: object) -> str:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(pipeline_module, "compressor_for", lambda kind: explode)
    hr = Headroom(Config(store=store_url, min_tokens=0))
    assert hr.compress_text(big_log()).outcome == "error"
    (event,) = recorded(hr)
    assert (event.outcome, event.reason) == ("failed", "ZeroDivisionError in the compressor (see the log)")
    hr.close()


def test_retrievals_are_recorded(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0))
    ref = hr.compress_text(big_log()).ref
    assert ref is not None
    whole = hr.retrieve(ref)
    matches = hr.retrieve(ref, query="request 17")
    with pytest.raises(KeyError):
        hr.retrieve("0" * 24)
    assert "unknown or has expired" in hr.answer_tool_call({"ref": "not a ref"})
    retrievals = [e for e in recorded(hr) if e.event == "retrieve"]
    count = hr.tokenizer().count
    assert [(e.outcome, e.ref, e.has_query, e.kind, e.tokens_after) for e in retrievals] == [
        ("found", ref, False, "log", count(whole)),
        ("found", ref, True, "log", count(matches)),
        ("not_found", "0" * 24, False, None, 0),
        ("not_found", "not a ref", False, None, 0),
    ]
    hr.close()


def test_ledger_off_writes_nothing(tmp_path: Path) -> None:
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/s.db", min_tokens=0, ledger=False))
    ref = hr.compress_text(big_log()).ref
    assert ref is not None
    hr.retrieve(ref)
    hr.events.record(Event(event="budget", source="library", outcome="stubbed"))
    assert hr.ledger is None
    hr.close()
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize("damage", ["directory", "corrupt"])
def test_a_broken_ledger_never_breaks_compression(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "ledger.db"
    if damage == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"\x00garbage" * 1000)
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/s.db", min_tokens=0))
    result = hr.compress_text(big_log())
    assert result.outcome == "compressed"
    assert result.ref is not None
    assert hr.retrieve(result.ref) == big_log()
    hr.close()  # flushes into the broken file: logged, not raised


def test_close_writes_what_is_pending(store_url: str, tmp_path: Path) -> None:
    hr = Headroom(Config(store=store_url))
    hr.compress_text("tiny")
    hr.close()
    with closing(open_ledger_db(tmp_path / "ledger.db")) as db:
        assert [e.outcome for e in read_events(db)] == ["too_small"]


# --- several processes -------------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from headroom._stats.events import Event
from headroom._stats.ledger import Ledger
ledger = Ledger(Path(sys.argv[1]), flush_seconds=0.01, batch=32)
for i in range(500):
    ledger.record(Event(event="compress", source="proxy", outcome="compressed", model=sys.argv[2], tokens_before=i))
    if i % 100 == 0:
        ledger.flush()
ledger.close()
print(ledger.failed, ledger.dropped)
"""


def test_four_processes_share_one_ledger_and_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"p{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
        assert out.split() == ["0", "0"]
    with closing(open_ledger_db(path)) as db:
        per_process = dict(db.execute("SELECT model, COUNT(*) FROM events GROUP BY model").fetchall())
        assert per_process == {f"p{n}": 500 for n in range(4)}
        assert db.execute("SELECT SUM(tokens_before) FROM events").fetchone()[0] == 4 * sum(range(500))
