"""The shapes every benchmark section shares: what a kind registers, what it hands back, what it checks.

A kind (log, json, search, ...) is one module exposing ``KIND = Kind(name, run)``; ``run`` receives a
``Context`` and returns a ``Section``: a table (already formatted cells), the raw numbers for the JSON
report, and the targets it checked. ``bench._kinds`` lists the registered kinds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._engine import Engine, Measurement


@dataclass(frozen=True)
class Check:
    """One target of QUALITY.md, measured: e.g. ``log ratio >= 10x`` with the value reached."""

    name: str
    passed: bool
    detail: str


@dataclass
class Section:
    """One printed table plus everything it measured, for the JSON report."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text_columns: int = 2  # the leading columns that hold names (left-aligned); the rest are numbers


@dataclass
class Context:
    """What a kind needs to run: the data, the engine under test and the run settings."""

    data_dir: Path
    runs: int
    engine: Engine
    say: Callable[[str], None]
    quick: bool = False  # ``--quick``: kinds with many cases (text) measure a fixed subset
    measurements: list[Measurement] = field(default_factory=list)

    def measure(
        self,
        kind: str,
        case: str,
        text: str,
        query: str | None = None,
        *,
        as_kind: str | None = None,
        budget: float | None = None,
        path: str | None = None,
    ) -> Measurement:
        """Compress and time one case with the engine under test; kept for the speed section.

        ``as_kind``, ``budget`` and ``path`` go to ``compress_text`` as ``kind=``, ``budget=``, ``path=``.
        """
        measurement = self.engine.measure(
            kind, case, text, query, self.runs, as_kind=as_kind, budget=budget, path=path
        )
        self.measurements.append(measurement)
        return measurement


@dataclass(frozen=True)
class Kind:
    """A registered benchmark kind: its name (as given to ``--kinds``) and its runner."""

    name: str
    run: Callable[[Context], Section]


@dataclass(frozen=True)
class Summary:
    """A group of measured cases: summed tokens, round-trips, and summed per-call medians."""

    cases: int
    tokens_in: int
    tokens_out: int
    round_trips: int
    with_ref: int
    errors: int
    ms: float
    encode_ms: float

    @property
    def ratio(self) -> float | None:
        return ratio(self.tokens_in, self.tokens_out)

    @property
    def x_encode(self) -> float:
        return self.ms / self.encode_ms if self.encode_ms > 0 else float("nan")

    def as_json(self) -> dict[str, object]:
        return {
            "cases": self.cases,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "ratio": self.ratio,
            "round_trip_passed": self.round_trips,
            "round_trip_with_ref": self.with_ref,
            "errors": self.errors,
            "ms": self.ms,
            "encode_ms": self.encode_ms,
            "x_encode": self.x_encode,
        }


def summarize(measurements: Sequence[Measurement]) -> Summary:
    """Sum a group: ratio = sum(tokens in) / sum(tokens out); ms = sum of the per-case medians."""
    return Summary(
        cases=len(measurements),
        tokens_in=sum(m.tokens_in for m in measurements),
        tokens_out=sum(m.tokens_out for m in measurements),
        round_trips=sum(1 for m in measurements if m.round_trip),
        with_ref=sum(1 for m in measurements if m.ref is not None),
        errors=sum(1 for m in measurements if m.error),
        ms=sum(m.median_ms for m in measurements),
        encode_ms=sum(m.encode_ms for m in measurements),
    )


def round_trip_check(kind: str, group: Summary) -> Check:
    """Every case with a ref retrieves its original byte for byte, and no call raised."""
    detail = f"{group.round_trips}/{group.with_ref} with ref"
    if group.errors:
        detail += f", {group.errors} engine error(s)"
    return Check(
        f"{kind} round-trip exact, no errors",
        group.round_trips == group.with_ref and not group.errors,
        detail,
    )


def median_ms(call: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``call``, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values (a table shows it as ``-``)."""
    return statistics.median(values) if values else float("nan")


def ratio(before: int, after: int) -> float | None:
    """``before / after``, or None when the output is empty (no ratio is meaningful)."""
    return before / after if after else None


def share(covered: int, total: int) -> float:
    """``covered / total``; an empty set counts as fully covered."""
    return covered / total if total else 1.0


def read_text(path: Path) -> str:
    """A data file exactly as stored: CRLF kept, undecodable bytes kept as surrogate escapes."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
        return handle.read()
