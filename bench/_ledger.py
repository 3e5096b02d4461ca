"""Ledger: what recording one stats event costs, on the caller's thread and in total.

Every ``compress_text`` call records one event, so the ledger's cost is paid per block. Three numbers:

- ``record()`` alone, timed call by call on the caller's thread while the writer thread runs (median
  and 99th percentile): what a compression waits for.
- the event built and recorded (``Event(...)`` plus ``record()``), as ``compress_text`` does it.
- amortised: 20,000 events recorded, then ``flush()``; the wall time over the count, so the writer's
  SQLite inserts are included (target < 0.2 ms per event).

Plus ``compress_text`` of a small text (below ``min_tokens``: the cheapest call, where the ledger's
share is largest) 20,000 times back to back with the ledger on and off; the mean includes the writer
thread's share of the GIL, and no event may be lost. The compression sections run with
``ledger=False``.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ._core import Check, Section, median
from ._format import mark

EVENTS = 20_000
TARGET_MS = 0.2
SMALL_CALLS = 20_000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def _small_text(tmp: Path, ledger: bool) -> tuple[float, float, int]:
    """Median and mean ms of ``compress_text`` on a text below ``min_tokens``, called back to back
    (the writer thread competes for the GIL, so the mean carries its share), and events lost."""
    from headroom import Config, Headroom

    hr = Headroom(Config(store=f"sqlite:///{tmp}/{'on' if ledger else 'off'}/store.db", ledger=ledger))
    text = "a small tool result: 3 files changed, 12 insertions(+), 4 deletions(-)"
    hr.compress_text(text)
    times = []
    for _ in range(SMALL_CALLS):
        start = time.perf_counter()
        hr.compress_text(text, model="gpt-4o")
        times.append((time.perf_counter() - start) * 1000)
    ledger_used = hr.ledger
    hr.close()
    lost = ledger_used.dropped + ledger_used.failed if ledger_used is not None else 0
    return median(times), sum(times) / len(times), lost


def run_ledger(say: Callable[[str], None]) -> Section:
    """Time ``Ledger.record`` and the writer behind it on a fresh file in a temporary directory."""
    from headroom import Config, Headroom
    from headroom.integration import Event

    columns = ["measure", "events", "ms per event"]
    section = Section("ledger", "ledger: cost of recording one stats event", columns, text_columns=1)
    say("ledger: recording events")

    def event(i: int) -> Event:
        return Event(
            event="compress",
            source="library",
            outcome="compressed",
            model="gpt-4o",
            kind="json",
            compressor="json",
            tokens_before=4_000 + i,
            tokens_after=400,
            ms=3.2,
            ref="0123456789abcdef01234567",
        )

    with tempfile.TemporaryDirectory(prefix="headroom-ledger-") as tmp:
        engine = Headroom(Config(store=f"sqlite:///{tmp}/store.db"))
        ledger = engine.ledger  # the engine's own, with its defaults: ledger.db beside the store
        assert ledger is not None
        ledger.record(event(0))
        ledger.flush()  # the file is created and migrated before anything is timed
        events = [event(i) for i in range(EVENTS)]
        gc.collect()
        gc.disable()
        try:
            per_call = []
            for item in events:
                start = time.perf_counter_ns()
                ledger.record(item)
                per_call.append((time.perf_counter_ns() - start) / 1e6)
            ledger.flush()
            built = []
            for i in range(EVENTS):
                start = time.perf_counter_ns()
                ledger.record(event(i))
                built.append((time.perf_counter_ns() - start) / 1e6)
            ledger.flush()
            start = time.perf_counter()
            for item in events:
                ledger.record(item)
            ledger.flush()
            amortised = (time.perf_counter() - start) * 1000 / EVENTS
        finally:
            gc.enable()
        lost = ledger.dropped + ledger.failed
        engine.close()
        say("ledger: compress_text of a small text, ledger on and off")
        (on, on_mean, on_lost), (off, off_mean, _) = (
            _small_text(Path(tmp), True),
            _small_text(Path(tmp), False),
        )
        lost += on_lost

    record_median, record_p99 = median(per_call), _percentile(per_call, 0.99)
    section.rows += [
        ["record() on the caller's thread, median", f"{EVENTS:,}", f"{record_median:.5f}"],
        ["record() on the caller's thread, p99", f"{EVENTS:,}", f"{record_p99:.5f}"],
        ["Event(...) + record(), median", f"{EVENTS:,}", f"{median(built):.5f}"],
        ["amortised: record() x N + flush() (SQLite inserts included)", f"{EVENTS:,}",
         mark(f"{amortised:.5f}", amortised < TARGET_MS)],
        ["compress_text(small text) back to back, ledger on: median", f"{SMALL_CALLS:,}", f"{on:.5f}"],
        ["  ledger on: mean (the writer's GIL share included)", f"{SMALL_CALLS:,}", f"{on_mean:.5f}"],
        ["  ledger off: median", f"{SMALL_CALLS:,}", f"{off:.5f}"],
        ["  ledger off: mean", f"{SMALL_CALLS:,}", f"{off_mean:.5f}"],
    ]  # fmt: skip
    section.data.update(
        events=EVENTS,
        record_median_ms=record_median,
        record_p99_ms=record_p99,
        event_and_record_median_ms=median(built),
        amortised_ms=amortised,
        small_compress_ledger_on_ms=on,
        small_compress_ledger_on_mean_ms=on_mean,
        small_compress_ledger_off_ms=off,
        small_compress_ledger_off_mean_ms=off_mean,
        lost_events=lost,
    )
    section.checks.append(Check(f"ledger < {TARGET_MS} ms per event (amortised, inserts included)",
                                amortised < TARGET_MS, f"{amortised * 1000:.1f} µs"))  # fmt: skip
    section.checks.append(Check("ledger record() < 0.2 ms on the caller's thread (median)",
                                record_median < TARGET_MS, f"{record_median * 1000:.2f} µs"))  # fmt: skip
    section.checks.append(Check("ledger lost no event", lost == 0, f"{lost} dropped or failed"))
    return section
