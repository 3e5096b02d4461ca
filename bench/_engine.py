"""The engine under test, behind a small protocol, and the one place where compress_text is timed.

The bench is the judge: token counts come from its own o200k_base tokenizer, never from the
``Compressed`` result, and round-trips are checked byte for byte here. ``identity`` is a stand-in engine
that returns every input unchanged; it exercises the harness and must score full retention and 1.0x.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ._core import median


class CompressedLike(Protocol):
    """The fields of ``headroom.Compressed`` the bench reads."""

    @property
    def text(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ref(self) -> str | None: ...


class EngineLike(Protocol):
    """The two calls of ``headroom.Headroom`` under test."""

    def compress_text(
        self,
        text: str,
        query: str | None = None,
        kind: str | None = None,
        budget: float | None = None,
        *,
        path: str | None = None,
    ) -> CompressedLike: ...

    def retrieve(self, ref: str, query: str | None = None, *, offset: int = 0) -> str: ...


@dataclass(frozen=True)
class _Unchanged:
    text: str
    kind: str
    ref: str | None = None
    outcome: str = "identity"


class IdentityEngine:
    """Returns every input unchanged and never a ref: the harness's own sanity check."""

    def compress_text(
        self,
        text: str,
        query: str | None = None,
        kind: str | None = None,
        budget: float | None = None,
        *,
        path: str | None = None,
    ) -> CompressedLike:
        return _Unchanged(text, kind or "text")

    def retrieve(self, ref: str, query: str | None = None, *, offset: int = 0) -> str:
        raise KeyError(f"the identity engine holds no refs ({ref})")


def headroom_engine(store_dir: Path) -> EngineLike:
    """``Headroom`` with the default configuration except its SQLite file, which lives in ``store_dir``,
    and no stats ledger: these timings are of compression (``bench._ledger`` times the ledger)."""
    from headroom import Config, Headroom

    engine: EngineLike = Headroom(Config(store=f"sqlite:///{store_dir}/bench.db", ledger=False))
    return engine


def count_tokens_function() -> tuple[Callable[[str], int], Callable[[str], object], bool]:
    """o200k_base ``count``, one raw ``encode`` (the speed baseline), and whether counts are exact."""
    from headroom.integration import get_tokenizer

    tok = get_tokenizer("o200k_base")
    return tok.count, tok.encode, tok.exact


@dataclass(frozen=True)
class Measurement:
    """One case compressed: the output, the bench's own token counts, timings and the round-trip."""

    kind: str
    case: str
    query: str | None
    text: str
    ref: str | None
    out_kind: str | None
    outcome: str | None
    tokens_in: int
    tokens_out: int
    first_ms: float
    median_ms: float
    encode_ms: float
    round_trip: bool | None
    deterministic: bool
    error: str | None
    budget: float | None = None

    @property
    def x_encode(self) -> float:
        return self.median_ms / self.encode_ms if self.encode_ms > 0 else float("nan")

    def as_json(self) -> dict[str, object]:
        return {
            "case": self.case,
            "query": self.query,
            "budget": self.budget,
            "out_kind": self.out_kind,
            "outcome": self.outcome,
            "ref": self.ref,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "first_ms": self.first_ms,
            "median_ms": self.median_ms,
            "encode_ms": self.encode_ms,
            "x_encode": self.x_encode,
            "round_trip": self.round_trip,
            "deterministic": self.deterministic,
            "error": self.error,
        }


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


class Engine:
    """Runs and times the engine under test; every measurement is also kept for the speed section."""

    def __init__(self, impl: EngineLike, name: str) -> None:
        self.impl = impl
        self.name = name
        self.count, self._encode, self.exact_tokens = count_tokens_function()

    def retrieve(self, ref: str, query: str | None = None, offset: int = 0) -> str:
        return self.impl.retrieve(ref, query=query, offset=offset)

    def encode_ms(self, text: str, runs: int) -> float:
        """Median ms of one tiktoken encode of ``text``, after a warm-up."""
        self._encode(text)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self._encode(text)
            times.append(_ms(start))
        return median(times)

    def measure(
        self,
        kind: str,
        case: str,
        text: str,
        query: str | None,
        runs: int,
        *,
        as_kind: str | None = None,
        budget: float | None = None,
        path: str | None = None,
        tokens_in: int | None = None,
        encode_ms: float | None = None,
    ) -> Measurement:
        """Compress ``text``: the first call (timed alone, it is also the warm-up), then ``runs`` timed calls,
        each after a timed encode of the same text (the ratio of the two medians is the speed figure), with
        the garbage collector paused during the timed runs as ``timeit`` does.

        ``as_kind``, ``budget`` and ``path`` are passed on to ``compress_text`` (``kind=``, ``budget=``,
        ``path=``). With ``runs=0`` the single call is the timing; ``tokens_in`` and ``encode_ms``, when
        given, are the caller's cached count and encode time of ``text`` (the text kind compresses one
        article hundreds of times). An exception from the engine is recorded on the measurement (empty
        output), never raised: one broken case must not hide the others.
        """
        if encode_ms is None:
            encode_ms = self.encode_ms(text, max(runs, 1))
        if tokens_in is None:
            tokens_in = self.count(text)

        def call() -> CompressedLike:
            return self.impl.compress_text(text, query=query, kind=as_kind, budget=budget, path=path)

        try:
            start = time.perf_counter()
            first = call()
            first_ms = _ms(start)
            times, encodes, same = [], [], True
            gc.collect()  # as timeit does: the harness's own heap must not bill its collections to the call
            gc.disable()
            for _ in range(runs):  # encodes interleaved with the calls: both see the same machine state
                start = time.perf_counter()
                self._encode(text)
                encodes.append(_ms(start))
                start = time.perf_counter()
                again = call()
                times.append(_ms(start))
                same = same and again.text == first.text and again.ref == first.ref
            gc.enable()
            if encodes:
                encode_ms = median(encodes)
            round_trip = None if first.ref is None else self.impl.retrieve(first.ref) == text
        except Exception as exc:  # the engine under test may fail; report it on the row and carry on
            gc.enable()
            return Measurement(
                kind, case, query, "", None, None, None, tokens_in, 0, float("nan"), float("nan"),
                encode_ms, None, False, f"{type(exc).__name__}: {exc}", budget,
            )  # fmt: skip
        return Measurement(
            kind=kind,
            case=case,
            query=query,
            text=first.text,
            ref=first.ref,
            out_kind=first.kind,
            outcome=getattr(first, "outcome", None),
            tokens_in=tokens_in,
            tokens_out=self.count(first.text),
            first_ms=first_ms,
            median_ms=median(times) if times else first_ms,
            encode_ms=encode_ms,
            round_trip=round_trip,
            deterministic=same,
            error=None,
            budget=budget,
        )
