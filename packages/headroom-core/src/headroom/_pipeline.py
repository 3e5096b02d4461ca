"""The one-text pipeline: detect -> split mixed content -> compress -> store -> mark -> record.

Every policy (conversations, RAG texts, tool results, the budget) and the facade go through one
``Pipeline``. ``compress`` never raises for what the text contains: anything that goes wrong passes the
original through, logged and counted in ``outcomes``. The original is stored before a compressed text
is returned, so a marker always points at something retrievable; when the store fails, nothing is
dropped.

Before compressing, ``compress`` looks the text up in the shared cache (``_cache``): a result another
process (or an earlier run) computed for the same inputs is reused while the store still holds its
originals, and recorded in the ledger as a reuse. Every deterministic result is written back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from . import _frame as frame
from . import _numbered as numbered
from ._cache import SharedCache
from ._compressors import Job, compressor_for
from ._config import MIN_TIME_BUDGET, Config
from ._deadline import TimeUp, shielded, until
from ._deadline import clear as clear_deadline
from ._detect import detect
from ._errors import ConfigError
from ._markers import Marker, make_ref, marker_refs
from ._originals import Originals
from ._split import Part, split_mixed
from ._stats.recorder import Recorder, Trace
from ._tokens import Tokenizer, encoding_for_model, get_tokenizer, halves
from ._types import KINDS, Compressed, Kind, Outcome, ResultKind
from ._workers import BadInput, WorkerTimeUp, join, pool, segments

log = logging.getLogger("headroom")

# Above this size the original's tokens are counted on a second thread while Python compresses:
# tiktoken releases the GIL, so the two overlap on a multi-core machine.
_PARALLEL_COUNT_CHARS = 8_192
_HALVE_CHARS = 4 << 20  # above this, counted in two halves on two threads
_ASIDE_PIECE = 1 << 20  # characters a counting thread encodes at once (ids of 1 MB: a few MB)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _counter_pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="headroom-count")
        return _executor


def _count_aside(tokenizer: Tokenizer, text: str) -> list[Future[int]]:
    """The tokens of ``text`` counted on the counting threads, a big text in two halves at once."""
    pool = _counter_pool()
    # big pieces: tiktoken lets the GIL go while it encodes, but a counting thread that needs it back
    # after every small piece waits out the compressing thread's switch interval each time (a convoy
    # that made counting aside slower than counting first)
    return [pool.submit(tokenizer.count, half, _ASIDE_PIECE) for half in halves(text, _HALVE_CHARS)]


def _result(counting: list[Future[int]]) -> int:
    with shielded():  # waiting on a condition: never cut short
        return sum(future.result() for future in counting)


class _BadInput(Exception):
    """The input cannot be compressed safely (nested too deeply): it passes through as ``bad_input``."""


class Pipeline:
    """Compresses one text at a time and keeps its original.

    Attributes:
        config: the settings every stage reads.
        originals: the store of originals.
        cache: the shared compression cache.
        events: the ledger events.
        outcomes: how many texts ended with each ``Compressed.outcome`` (and ``store_errors``).
    """

    def __init__(self, config: Config, events: Recorder) -> None:
        self.config = config
        self.events = events
        self.originals = Originals(config, on_pause=events.store_paused)
        self.cache = SharedCache(config)
        self.outcomes: Counter[str] = Counter()

    def tokenizer(self, model: str | None = None) -> Tokenizer:
        """The tokenizer used for counts: ``model``'s own encoding when known, else ``config.tokenizer``."""
        return get_tokenizer(encoding_for_model(model, self.config.tokenizer))

    def _budget(self, text: str) -> float:
        """Seconds of CPU time a compression of ``text`` may use (``Config.time_budget``)."""
        per_mb = self.config.time_budget
        if not per_mb:
            return float("inf")
        return max(MIN_TIME_BUDGET, per_mb * len(text) / 1_000_000)

    def keep(self, ref: str, text: str, kind: str) -> bool:
        """Store the original; False (logged, counted as ``store_errors``) when the store fails.
        Never cut short by the time budget (``shielded``)."""
        with shielded():
            kept = self.originals.keep(ref, text, kind)
        if kept:
            return True
        self.outcomes["store_errors"] += 1
        return False

    def unchanged(
        self,
        text: str,
        kind: ResultKind,
        tokens: int,
        outcome: Outcome,
        tokenizer: Tokenizer,
        language: str | None = None,
    ) -> Compressed:
        """``text`` passed through, with the reason."""
        return Compressed(
            text=text,
            kind=kind,
            language=language,
            tokens_before=tokens,
            tokens_after=tokens,
            outcome=outcome,
            tokens_estimated=not tokenizer.exact,
        )

    def compress(
        self,
        text: str | bytes,
        query: str | None = None,
        kind: Kind | None = None,
        budget: float | None = None,
        retrievable: bool = True,
        *,
        model: str | None = None,
        path: str | None = None,
    ) -> Compressed:
        """``Headroom.compress_text``: one text, recorded in the ledger and in ``outcomes``.

        Raises:
            ConfigError: ``kind`` or ``budget`` is invalid.
        """
        started = time.perf_counter()
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        if kind is not None and kind not in KINDS:
            raise ConfigError(f"kind {kind!r} is unknown; use one of {', '.join(KINDS)}")
        if budget is not None and not 0 < budget <= 1:
            raise ConfigError(f"budget must be in (0, 1], got {budget!r}")
        tokenizer = self.tokenizer(model)
        key = None
        # a shorter text has fewer tokens than min_tokens (nothing to save); a marked one's outcome
        # depends on what the store holds
        if self.cache.enabled and len(text) >= self.config.min_tokens and not marker_refs(text):
            key = self.cache.key(
                text, query=query, kind=kind, budget=budget, retrievable=retrievable,
                encoding=tokenizer.name, exact=tokenizer.exact, path=path,
            )  # fmt: skip
            hit = self.cache.get(key, text, self.originals.hold)
            if hit is not None:
                self.outcomes[hit.result.outcome] += 1
                if self.config.ledger:
                    trace = Trace(compressor=hit.compressor, attempt_tokens=hit.attempt_tokens)
                    ms = (time.perf_counter() - started) * 1000
                    self.events.compressed(hit.result, model, trace, ms, cached=True)
                return hit.result
        trace = Trace()
        try:
            with until(self._budget(text)):
                result = self._compress(text, query, kind, budget, retrievable, tokenizer, path, trace)
        except TimeUp:
            clear_deadline()  # the raise may have cut the block's own clean-up short
            log.warning("headroom: compression over its time budget; passing the text through unchanged")
            result = self.unchanged(text, kind or "text", tokenizer.count(text), "timed_out", tokenizer)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # the last line of defence, a native library's panic included
            log.exception("headroom: compression failed; passing the text through unchanged")
            trace.error = type(exc).__name__
            result = self.unchanged(text, kind or "text", tokenizer.count(text), "error", tokenizer)
        if key is not None:
            self.cache.put(key, result, trace.compressor, trace.attempt_tokens)
        self.outcomes[result.outcome] += 1
        if self.config.ledger:
            self.events.compressed(result, model, trace, (time.perf_counter() - started) * 1000)
        return result

    def _compress(
        self,
        text: str,
        query: str | None,
        forced: Kind | None,
        budget: float | None,
        retrievable: bool,
        tokenizer: Tokenizer,
        path: str | None,
        trace: Trace,
    ) -> Compressed:
        framed = frame.split(text)
        if framed is not None:  # an agent's or a tool's framing: verbatim, the body compressed as itself
            return self._framed(framed, query, forced, budget, retrievable, tokenizer, path, trace)
        kind: ResultKind
        read = numbered.strip(text)  # a file read with line numbers: compressed as the file it shows
        if forced is None:
            detected = detect(read.body if read is not None else text, path)
            kind, language = detected.kind, detected.language
        else:
            kind, language = forced, None
        if kind == "text":
            read = None  # prose keeps its numbers as part of each line: the sentences it keeps are whole

        def unchanged(tokens: int, outcome: Outcome) -> Compressed:
            return self.unchanged(text, kind, tokens, outcome, tokenizer, language)

        counting: list[Future[int]] | None = None
        whole = ""
        if len(text) > _PARALLEL_COUNT_CHARS:
            whole = make_ref(text)  # before the counting thread runs: hashing lets the GIL go to it
            with shielded():  # the pool's first submit starts its thread: never cut short
                counting = _count_aside(tokenizer, text)
            tokens_before = -1
        else:
            tokens_before = tokenizer.count(text)
            if tokens_before < self.config.min_tokens:
                return unchanged(tokens_before, "below_min_tokens")

        with shielded():
            marked = self.originals.marked(text)
        if marked:  # never compress twice, whichever kind (parts included)
            return unchanged(
                _result(counting) if counting is not None else tokens_before, "already_compressed"
            )
        whole = whole or make_ref(text)
        parts = split_mixed(text, kind) if kind in ("text", "log") and read is None else None
        output: str | None
        if parts is not None:
            trace.compressor = "mixed"
            output, refs = self._compress_parts(parts, query, budget, retrievable, tokenizer)
            kind, language = "mixed", None
            if not refs:
                output = None
        elif compressor_for(kind) is None:
            output, refs = None, []
        else:
            trace.compressor = kind
            job = Job(
                text=read.body if read is not None else text,
                query=query,
                budget=budget,
                marker=Marker(whole, retrievable),
                language=language,
            )
            try:
                output = self._run(kind, job)
            except _BadInput:
                return unchanged(_result(counting) if counting is not None else tokens_before, "bad_input")
            if output is not None and read is not None:
                output = numbered.renumber(read, output)
            refs = [whole] if output is not None else []

        if counting is not None:
            tokens_before = _result(counting)
            if tokens_before < self.config.min_tokens:
                return unchanged(tokens_before, "below_min_tokens")
        if output is None:
            compressible = compressor_for(kind) or kind == "mixed"
            return unchanged(tokens_before, "not_compressible" if compressible else "unsupported_kind")
        tokens_after = tokenizer.count(output)
        if tokens_after > tokens_before * (1 - self.config.min_saving):
            trace.attempt_tokens = tokens_after
            return unchanged(tokens_before, "below_min_saving")
        if not self.keep(whole, text, kind):
            return unchanged(tokens_before, "store_failed")
        return Compressed(
            text=output,
            kind=kind,
            language=language,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            ref=whole,
            refs=tuple(dict.fromkeys([whole, *refs])),
            tokens_estimated=not tokenizer.exact,
        )

    def _framed(
        self,
        framed: tuple[str, str, str],
        query: str | None,
        forced: Kind | None,
        budget: float | None,
        retrievable: bool,
        tokenizer: Tokenizer,
        path: str | None,
        trace: Trace,
    ) -> Compressed:
        """A framed output: its body compressed on its own, the header and footer around it as they are."""
        head, body, tail = framed
        inner = self._compress(body, query, forced, budget, retrievable, tokenizer, path, trace)
        text = head + body + tail
        tokens_before = tokenizer.count(text)
        if inner.outcome != "compressed":
            return self.unchanged(text, inner.kind, tokens_before, inner.outcome, tokenizer, inner.language)
        output = head + inner.text + tail
        tokens_after = tokenizer.count(output)
        if tokens_after > tokens_before * (1 - self.config.min_saving):
            return self.unchanged(
                text, inner.kind, tokens_before, "below_min_saving", tokenizer, inner.language
            )
        return replace(inner, text=output, tokens_before=tokens_before, tokens_after=tokens_after)

    def _run(self, kind: str, job: Job) -> str | None:
        """The compressor's output, or None when it cannot help. A big line text is compressed in
        segments; a text of ``offload_chars`` or more in the worker processes (``_workers``).

        Raises:
            _BadInput: the input is nested too deeply to compress.
            TimeUp: the compression ran past its time budget in a worker.
        """
        compressor = compressor_for(kind)
        if compressor is None:
            return None
        jobs = segments(job, kind)
        try:
            if 0 < self.config.offload_chars <= len(job.text):
                try:
                    with shielded():  # the workers keep their own budgets; this thread only waits
                        outputs = pool().run(kind, jobs, self._budget(job.text))
                except WorkerTimeUp:
                    raise TimeUp() from None
            else:
                outputs = [compressor(one) for one in jobs]
        except (RecursionError, BadInput):
            with shielded():  # logging takes Python-level locks: never cut short
                log.warning("headroom: %s input nested too deeply to compress; passed through", kind)
            raise _BadInput(kind) from None
        output = join(jobs, outputs)
        if output is not None and output == job.text:
            return None
        return output

    def _compress_parts(
        self,
        parts: list[Part],
        query: str | None,
        budget: float | None,
        retrievable: bool,
        tokenizer: Tokenizer,
    ) -> tuple[str, list[str]]:
        """Compress each part of mixed content on its own; store each part that changed."""
        out: list[str] = []
        refs: list[str] = []
        for part in parts:
            if part.kind is None or compressor_for(part.kind) is None:
                out.append(part.text)
                continue
            if tokenizer.count(part.text) < self.config.min_tokens:
                out.append(part.text)
                continue
            ref = make_ref(part.text)
            body = part.text.rstrip("\n")
            job = Job(
                text=body, query=query, budget=budget, marker=Marker(ref, retrievable), language=part.language
            )
            try:
                output = self._run(part.kind, job)
            except _BadInput:
                output = None  # one part too deeply nested: it stays as it is, the others are compressed
            if output is None or not self.keep(ref, part.text, part.kind):
                out.append(part.text)
                continue
            out.append(output + part.text[len(body) :])
            refs.append(ref)
        return "".join(out), refs
