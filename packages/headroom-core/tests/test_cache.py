"""The shared compression cache on real SQLite files and real processes: a hit across processes gives
the same bytes, never a dead ref; the bound, a corrupt file, a version change, the key's inputs,
threads and processes at once."""

from __future__ import annotations

import dataclasses
import json
import logging
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from headroom import Config, Headroom
from headroom._cache import KEYED_FIELDS, UNKEYED_FIELDS, SharedCache

WORKER = Path(__file__).with_name("_cache_worker.py")
sys.path.insert(0, str(WORKER.parent))
from _cache_worker import grep_text, log_text  # noqa: E402


def run_worker(store: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(WORKER), store, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def engine(tmp_path: Path, **settings: Any) -> Headroom:
    return Headroom(Config(store=f"sqlite:///{tmp_path / 'store.db'}", fresh_turns=0, **settings))


def cache_of(hr: Headroom) -> SharedCache:
    return hr._pipeline.cache


def test_a_second_process_reuses_the_first_ones_compressions(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    first = run_worker(store, "conversation")
    second = run_worker(store, "conversation")
    assert first["hits"] == 0
    assert first["writes"] > 0
    assert second["hits"] > 0  # every block compressed once is a lookup now
    assert (second["misses"], second["writes"]) == (0, 0)
    assert second["messages"] == first["messages"]  # byte for byte the same prompt: caches keep hitting
    cache = tmp_path / "cache.db"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    hr = Headroom(Config(store=store))
    compressed = [m for m in second["messages"] if "headroom_retrieve" in str(m.get("content"))]
    assert compressed
    for message in compressed:  # every marker the hit handed out points at a stored original
        for ref in hr.compress_text(message["content"]).refs or ():
            assert hr.retrieve(ref) is not None
    hr.close()


def test_a_hit_is_a_reuse_in_the_ledger_with_the_same_figures(tmp_path: Path) -> None:
    text = log_text(3)
    hr = engine(tmp_path)
    miss = hr.compress_text(text, query="timeout")
    hr.close()
    again = engine(tmp_path)
    hit = again.compress_text(text, query="timeout")
    assert hit == miss
    assert (cache_of(again).hits, cache_of(again).misses) == (1, 0)
    assert again.ledger is not None
    again.ledger.flush()
    first_event, event = [e for e in again.ledger.events() if e.event == "compress"]
    assert not first_event.memo
    assert event.memo
    assert event.reason.endswith("shared cache")
    assert (event.tokens_before, event.tokens_after) == (miss.tokens_before, miss.tokens_after)
    again.close()


def test_a_hit_whose_original_the_store_lost_is_compressed_again(tmp_path: Path) -> None:
    text = log_text(4)
    hr = engine(tmp_path)
    first = hr.compress_text(text)
    assert first.ref is not None
    hr._pipeline.originals.store.clear()  # the store forgets every original; the cache keeps its entry
    second = hr.compress_text(text)
    assert second == first
    assert cache_of(hr).hits == 0  # found, but its ref was dead: not used
    assert hr.retrieve(first.ref) == text  # compressing again stored the original again
    hr.close()


def test_every_input_of_a_result_is_part_of_its_key(tmp_path: Path) -> None:
    text = log_text(5)
    hr = engine(tmp_path)
    variants: list[dict[str, Any]] = [
        {}, {"query": "timeout"}, {"query": "miss"}, {"budget": 0.3}, {"kind": "text"}, {"retrievable": False},
        {"path": "app.log"}, {"model": "gpt-4"},
    ]  # fmt: skip
    results = [hr.compress_text(text, **variant) for variant in variants]
    assert cache_of(hr).hits == 0  # no variant answered for another
    assert [hr.compress_text(text, **variant) for variant in variants] == results
    assert cache_of(hr).hits == len(variants)
    hr.close()
    other = engine(tmp_path, min_saving=0.99)  # a keyed setting: another entry
    assert other.compress_text(text).outcome == "below_min_saving"
    assert cache_of(other).hits == 0
    other.close()


def test_every_config_field_is_keyed_or_says_why_not() -> None:
    fields = {f.name for f in dataclasses.fields(Config)}
    assert fields == set(KEYED_FIELDS) | set(UNKEYED_FIELDS)
    assert not set(KEYED_FIELDS) & set(UNKEYED_FIELDS)


def test_the_cache_stays_within_its_bound(tmp_path: Path) -> None:
    bound = 60_000
    hr = engine(tmp_path, cache_bytes=bound)
    texts = [grep_text(seed) for seed in range(40)]
    for text in texts:
        assert hr.compress_text(text).outcome == "compressed"
    entries, size = cache_of(hr).totals() or (0, 0)
    assert size <= bound
    assert 0 < entries < len(texts)  # the oldest went
    assert hr.compress_text(texts[-1]).outcome == "compressed"
    assert cache_of(hr).hits == 1  # the newest stayed
    hr.close()


def test_a_corrupt_cache_file_never_fails_a_compression(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache.db").write_bytes(b"not a database\x00" * 300)
    text = log_text(6)
    hr = engine(tmp_path)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        result = hr.compress_text(text)
        assert hr.compress_text(text) == result
    assert result.outcome == "compressed"
    assert hr.retrieve(result.ref or "") == text
    assert cache_of(hr).errors == 1  # said once, then the cache is off for this engine
    said = [r.message for r in caplog.records if "cannot be opened" in r.message]
    assert len(said) == 1
    hr.close()
    assert (tmp_path / "cache.db").read_bytes().startswith(b"not a database")  # the user's file, untouched


def test_another_version_starts_from_an_empty_cache(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    first = run_worker(store, "conversation")
    upgraded = run_worker(store, "conversation", "--version", "99.0.0")
    assert upgraded["hits"] == 0
    assert upgraded["writes"] == first["writes"]
    again = run_worker(store, "conversation", "--version", "99.0.0")
    assert again["hits"] > 0
    assert (again["misses"], again["writes"]) == (0, 0)
    back = run_worker(store, "conversation")  # the old version's entries were deleted on opening
    assert back["hits"] == 0


def test_processes_sharing_the_cache_at_once_lose_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    workers = [
        subprocess.Popen([sys.executable, str(WORKER), store, "texts", str(n), "12"], text=True, **pipes)
        for n in range(4)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        results.append(json.loads(out.splitlines()[-1]))
    assert all(r["errors"] == 0 for r in results)
    assert sum(r["hits"] for r in results) > 0  # the shared texts were found by someone
    hr = Headroom(Config(store=store))
    entries, _ = cache_of(hr).totals() or (0, 0)
    assert entries == 4 * 12 + 12  # each worker's own texts and the shared ones, each once
    hr.close()


def test_threads_of_one_engine_sharing_its_cache_at_once_lose_nothing(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [grep_text(n, hits=300) for n in range(12)]
    hr = engine(tmp_path)
    with ThreadPoolExecutor(4) as pool:  # every text asked by two threads at once, in two orders
        results = list(pool.map(hr.compress_text, texts + texts[::-1]))
    assert results[: len(texts)] == results[len(texts) :][::-1]
    assert cache_of(hr).errors == 0
    assert (cache_of(hr).totals() or (0, 0))[0] == len(texts)
    hr.close()
    again = engine(tmp_path)
    assert [again.compress_text(text) for text in texts] == results[: len(texts)]
    assert cache_of(again).hits == len(texts)
    again.close()


def test_off_when_disabled_and_for_the_memory_store(tmp_path: Path) -> None:
    hr = engine(tmp_path, cache_bytes=0)
    hr.compress_text(log_text(7))
    hr.close()
    assert not (tmp_path / "cache.db").exists()
    in_memory = Headroom(Config(store="memory"))
    assert not cache_of(in_memory).enabled  # its originals die with the process
    in_memory.close()


def test_a_block_whose_compression_timed_out_is_not_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from _cache_worker import conversation
    from headroom import _pipeline

    monkeypatch.setattr(_pipeline, "MIN_TIME_BUDGET", 0.0)
    hurried = engine(tmp_path, time_budget=1e-9)
    hurried.compress(conversation())
    assert hurried.outcomes["timed_out"] > 0
    assert cache_of(hurried).writes == 0  # neither its texts nor its blocks: another try may do better
    hurried.close()
    monkeypatch.setattr(_pipeline, "MIN_TIME_BUDGET", 60.0)
    patient = engine(tmp_path)
    patient.compress(conversation())
    assert (cache_of(patient).hits, patient.outcomes["timed_out"]) == (0, 0)
    patient.close()
