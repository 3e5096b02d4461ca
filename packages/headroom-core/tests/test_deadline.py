"""The time budget of one compression (``_deadline``): CPU time of this thread, collections aside."""

from __future__ import annotations

import gc
import random
import sys
import time

import pytest
from headroom._deadline import TimeUp, clear, shielded, until

RNG = random.Random(7)


def burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_budget_interrupts_work_past_it() -> None:
    with pytest.raises(TimeUp), until(0.02):
        burn(5)
    clear()
    with until(5):
        burn(0.05)  # a block well within its budget ends normally, and nothing fires later
    burn(0.1)


def test_garbage_collection_is_not_charged_to_the_budget() -> None:
    heap = [[i] for i in range(600_000)]  # a large heap: each full collection walks all of it
    started = time.thread_time()
    gc.collect()
    assert time.thread_time() - started > 0.02
    with until(0.02):
        for _ in range(3):
            gc.collect()  # several times the budget in collections, a little work of its own
        burn(0.005)
    with until(0.02), shielded():
        gc.collect()  # nor inside a shield, which checks the budget as it ends
    del heap


class Slow:
    def __del__(self) -> None:
        burn(RNG.uniform(0, 0.018))  # most time goes here, where a TimeUp is swallowed (as unraisable)


def finalizing(wall: float) -> None:
    with until(0.01):
        while time.monotonic() < wall:
            Slow()
            burn(RNG.uniform(0, 0.002))  # irregular, so the raises do not keep landing in step


def test_a_raise_swallowed_in_a_finalizer_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    swallowed: list[type[BaseException] | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: swallowed.append(hook.exc_type))
    wall = time.monotonic() + 30
    with pytest.raises(TimeUp):
        finalizing(wall)
    clear()
    assert time.monotonic() < wall, "no TimeUp reached the block"
    assert set(swallowed) <= {TimeUp}  # (usually several: the first raises land in a finalizer)
