"""Big texts: compressed in segments and in worker processes, with the same bytes as in process."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from headroom import Config, Headroom, _workers
from headroom._compressors import Job
from headroom._markers import Marker
from hypothesis import given, settings
from hypothesis import strategies as st


def app_log(lines: int, seed: int = 0) -> str:
    rnd = random.Random(seed)
    out = []
    for n in range(lines):
        level = "ERROR" if n % 997 == 13 else rnd.choice(["INFO", "INFO", "DEBUG", "WARN"])
        out.append(f"2026-12-02 10:{n // 60 % 60:02d}:{n % 60:02d},{n % 1000:03d} {level} worker-{rnd.randrange(8)}"
                   f" request {rnd.randrange(10**6)} served in {rnd.randrange(900)} ms\n")  # fmt: skip
    return "".join(out)


def job(text: str) -> Job:
    return Job(text=text, marker=Marker("0" * 24, True))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab\n", max_size=300), max_size=40), st.integers(1, 64), st.integers(1, 8))
def test_segments_join_back_exactly_and_keep_their_bounds(parts: list[str], chars: int, lines: int) -> None:
    text = "".join(parts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_workers, "SEGMENT_CHARS", chars)
        patch.setattr(_workers, "SEGMENT_LINES", lines)
        cut = _workers.segments(job(text), "log")
    assert "".join(one.text for one in cut) == text
    for one in cut[:-1]:
        assert one.text.endswith("\n")  # cut at line ends only
        body = one.text[:-1]
        assert "\n" not in body or (len(one.text) <= chars and one.text.count("\n") <= lines)


def test_a_line_longer_than_a_segment_stays_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "SEGMENT_CHARS", 10)
    text = "short\n" + "x" * 50 + "\nend\n"
    assert [one.text for one in _workers.segments(job(text), "text")] == ["short\n", "x" * 50 + "\n", "end\n"]
    assert _workers.segments(job(text), "json") == [job(text)]  # not a line kind: never cut


def test_join_keeps_unchanged_segments_and_line_ends() -> None:
    jobs = [job("a\nb\n"), job("c\n"), job("d")]
    assert _workers.join(jobs, [None, None, None]) is None
    assert _workers.join(jobs, ["A", None, "D"]) == "A\nc\nD"


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Headroom, Headroom]]:
    inline = Headroom(Config(store=f"sqlite:///{tmp_path / 'a.db'}", offload_chars=0, ledger=False))
    offload = Headroom(Config(store=f"sqlite:///{tmp_path / 'b.db'}", offload_chars=1, ledger=False))
    yield inline, offload
    inline.close()
    offload.close()


def test_workers_give_the_same_bytes_as_the_calling_thread(
    engines: tuple[Headroom, Headroom], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_workers, "SEGMENT_LINES", 2_000)  # several segments, spread over the workers
    inline, offload = engines
    log = app_log(9_000)
    here, there = inline.compress_text(log), offload.compress_text(log)
    assert here.text == there.text
    assert there.outcome == "compressed"
    assert there.tokens_after * 5 < there.tokens_before
    assert "ERROR" in there.text  # a critical line of every segment survives
    assert offload.retrieve(there.ref) == log
    doc = (
        '{"items": [' + ",".join(f'{{"id": {n}, "name": "item {n}", "ok": true}}' for n in range(3000)) + "]}"
    )
    assert inline.compress_text(doc).text == offload.compress_text(doc).text  # a whole JSON document


def test_a_worker_over_its_budget_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "MIN_TIME_BUDGET", 0.0001)
    # the worker's own budget, in its process; a long input the suite has not compressed before, so
    # the budget fires mid-way even when the watchdog waits for the interpreter on a loaded machine
    with pytest.raises(_workers.WorkerTimeUp):
        _workers.pool().run("log", [job(app_log(20_000, seed=1234))], 0.0001)
    assert _workers.pool().run("log", [job(app_log(600))], 60.0)[0] is not None  # and it still works
    monkeypatch.setattr("headroom._pipeline.MIN_TIME_BUDGET", 0.001)
    hr = Headroom(Config(store=f"sqlite:///{tmp_path / 's.db'}", offload_chars=1, time_budget=0.001))
    try:
        log = app_log(6_000)
        result = hr.compress_text(log)
        assert result.outcome == "timed_out"
        assert result.text == log
    finally:
        hr.close()


def _workers_pids() -> list[int]:
    return _workers.pool().pids()


def test_a_dead_or_stalled_worker_is_replaced(
    engines: tuple[Headroom, Headroom], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, offload = engines
    offload.warm()  # starts the workers
    log = app_log(3_000)
    for pid in _workers_pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert offload.compress_text(log).outcome == "compressed"  # a dead worker is started again
    offload.warm()  # and every dead one now
    monkeypatch.setattr(_workers, "GRACE", 0.5)
    stalled = _workers_pids()
    for pid in stalled:
        os.kill(pid, signal.SIGSTOP)
    try:
        monkeypatch.setattr("headroom._pipeline.MIN_TIME_BUDGET", 0.1)
        hung = offload.compress_text(app_log(3_000, seed=1))
        assert hung.outcome == "error"  # a silent worker is killed: the text passes through
        assert hung.text == app_log(3_000, seed=1)
    finally:
        for pid in stalled:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert offload.compress_text(app_log(3_000, seed=2)).outcome == "compressed"  # and replaced


def test_code_is_cut_where_a_top_level_definition_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    import ast

    module = "".join(
        f'\n\ndef handler_{n}(request):\n    """Serve {n}.\n\nnot a top level line\n    """\n'
        f"    if request:\n        return {n}\n\n    return None\n"
        for n in range(200)
    )
    monkeypatch.setattr(_workers, "SEGMENT_CHARS", 2_000)
    cut = _workers.segments(replace(job(module), language="python"), "code")
    assert len(cut) > 5
    assert "".join(one.text for one in cut) == module
    for one in cut:
        ast.parse(one.text)  # each segment is a module of whole definitions
    one_line = "x = [" + "1, " * 2_000 + "]\n"
    assert _workers.segments(job(one_line), "code") == [job(one_line)]  # nowhere to cut: whole
