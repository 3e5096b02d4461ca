"""Big compressions in worker processes, and big line texts in segments.

A compressor holds the interpreter while it runs, so a 4 MB text compressed on a server's thread
stalls every other request for as long. Texts of at least ``Config.offload_chars`` characters are
compressed in worker processes instead (at most two, ``python -m headroom._worker``, started on first
use or by ``Headroom.warm()``); the caller's thread only waits on a pipe, which frees the interpreter.
The segments of one big text run on the workers in parallel.

Line kinds (log, text, search) of more than ``SEGMENT_CHARS`` characters or ``SEGMENT_LINES`` lines
are compressed in segments cut at line ends: what a compressor builds per line is bounded by a
segment, so memory stays a small multiple of the input even for a text of two-character lines.

The protocol is pickles framed by an 8-byte length, one job at a time per worker: the parent sends
``(kind, job, seconds)`` and the worker answers ``("ok", output)``, ``("timed_out", None)`` (its own
time budget, ``_deadline``), ``("bad_input", None)`` or ``("error", message)``. A worker that dies or
answers nothing for ``4 x seconds + GRACE`` seconds (a C call the budget cannot interrupt) is killed and
replaced; its text passes through.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import pickle
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import IO, Any

from ._compressors import Job
from ._config import MIN_TIME_BUDGET

SEGMENT_CHARS = 1 << 20
SEGMENT_LINES = 16_384
LINE_KINDS = ("log", "text", "search")
_HEADER = 8
GRACE = 10.0  # seconds a worker may go silent beyond four times its budget before it is killed


class WorkerFailed(Exception):
    """A worker died, or took far longer than its budget allows: the text passes through."""


class BadInput(Exception):
    """The compressor hit a recursion limit (nested too deeply): the text passes through."""


class WorkerTimeUp(Exception):
    """The compression ran past its time budget in the worker."""


def segments(job: Job, kind: str) -> list[Job]:
    """``job`` cut into jobs of at most ``SEGMENT_CHARS`` characters when it is bigger; else ``[job]``.
    Line kinds are cut at line ends, at most ``SEGMENT_LINES`` lines each; code where a top-level
    definition starts (a line at column 0 after a blank line), so each segment parses alone. A line
    or a definition longer than a segment stays whole. The texts join back into the original exactly."""
    text = job.text
    if kind == "code":
        if len(text) <= SEGMENT_CHARS:
            return [job]
        starts = _PYTHON_DEFINITION if job.language == "python" else _DEFINITION
        return _cut(job, functools.partial(_code_cut, starts))
    few_lines = len(text) < SEGMENT_LINES or text.count("\n") < SEGMENT_LINES  # no count for a short text
    small = len(text) <= SEGMENT_CHARS and few_lines
    if kind not in LINE_KINDS or small:
        return [job]
    return _cut(job, _line_cut)


def _cut(job: Job, cut_at: Callable[[str, int, int], int]) -> list[Job]:
    text = job.text
    cuts: list[Job] = []
    start = 0
    while start < len(text):
        end = cut_at(text, start, min(len(text), start + SEGMENT_CHARS))
        cuts.append(replace(job, text=text[start:end]))
        start = end
    return cuts


def _line_cut(text: str, start: int, end: int) -> int:
    """Where the segment from ``start`` ends: after its last line end within ``end`` and
    ``SEGMENT_LINES`` lines."""
    if end == len(text) and text.count("\n", start, end) <= SEGMENT_LINES:
        return end
    cut = text.rfind("\n", start, end)
    if cut >= 0 and text.count("\n", start, cut) >= SEGMENT_LINES:  # too many lines: fewer
        cut = _lines(SEGMENT_LINES).match(text, start, end).end() - 1  # type: ignore[union-attr]
    if cut < 0:  # one line longer than a segment: it stays whole
        cut = text.find("\n", end)
    return len(text) if cut < 0 else cut + 1


_DEFINITION = re.compile(r"\n\n(?=[A-Za-z_@])")  # a blank line, then a line at column 0
_PYTHON_DEFINITION = re.compile(r"\n\n(?=(?:async def|def|class) |@)")  # not any line: not inside a string


def _code_cut(starts: re.Pattern[str], text: str, start: int, end: int) -> int:
    """Where the segment from ``start`` ends: before the last top-level start within ``end`` (or the
    first after it)."""
    if end == len(text):
        return end
    last = None
    for last in starts.finditer(text, start + 1, end):  # noqa: B007 - the last one is wanted
        pass
    if last is None:
        last = starts.search(text, end)
    return len(text) if last is None else last.end()


@functools.cache
def _lines(count: int) -> re.Pattern[str]:
    """``count`` lines, matched in C (a text of short lines has thousands of segments)."""
    return re.compile(f"(?:[^\\n]*\\n){{{count}}}")


def join(jobs: list[Job], outputs: list[str | None]) -> str | None:
    """The segments' outputs (an unchanged segment as it was) in order; None when none changed."""
    if all(output is None for output in outputs):
        return None
    out: list[str] = []
    for job, output in zip(jobs, outputs, strict=True):
        if output is None:
            out.append(job.text)
        else:
            out.append(output + "\n" if job.text.endswith("\n") and not output.endswith("\n") else output)
    return "".join(out)


def _write(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(_HEADER, "big"))
    stream.write(data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        raise EOFError("the other side closed the pipe")
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe")
    return pickle.loads(data)  # our own child process on our own pipe


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "headroom._worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )  # fmt: skip

    def run(self, kind: str, job: Job, seconds: float) -> tuple[str, Any]:
        """The worker's answer; raises WorkerFailed when it died or went silent (it is killed then)."""
        sink, source = self.process.stdin, self.process.stdout
        assert sink is not None
        assert source is not None
        answer: list[tuple[str, Any]] = []
        failure: list[BaseException] = []

        def exchange() -> None:
            try:
                _write(sink, (kind, job, seconds))
                answer.append(_read(source))
            except (OSError, EOFError, pickle.PickleError) as exc:
                failure.append(exc)

        talker = threading.Thread(target=exchange, name="headroom-worker-io", daemon=True)
        talker.start()
        talker.join(None if seconds == float("inf") else 4 * seconds + GRACE)
        if not answer:
            self.kill()
            talker.join(5)
            reason = f"{failure[0]}" if failure else "no answer in time"
            raise WorkerFailed(f"compression worker failed: {reason}")
        return answer[0]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def _fresh(worker: _Worker | None, started: list[_Worker]) -> _Worker:
    """``worker`` if it is still running, else a new one (a dead one's pipes closed)."""
    if worker is not None and worker.alive():
        return worker
    if worker is not None:
        worker.kill()
    started[:] = [one for one in started if one.alive()]
    started.append(_Worker())
    return started[-1]


class Workers:
    """Up to ``size`` worker processes, each running one job at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(size):
            self._idle.put(None)  # a slot: its worker starts on first use
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="headroom-workers")
        self._started: list[_Worker] = []  # every worker started, for ``pids``

    def start(self) -> None:
        """Start every worker now (a server's warm-up)."""
        slots = [self._idle.get() for _ in range(self.size)]
        for slot in slots:
            self._idle.put(_fresh(slot, self._started))

    def _one(self, kind: str, job: Job, seconds: float) -> tuple[str, Any]:
        worker = self._idle.get()
        try:
            worker = _fresh(worker, self._started)
            return worker.run(kind, job, seconds)
        except WorkerFailed:
            worker = None
            raise
        finally:
            self._idle.put(worker)

    def run(self, kind: str, jobs: list[Job], seconds: float) -> list[str | None]:
        """Each job's output, the jobs spread over the workers; ``seconds`` is the budget of them all,
        shared by size (each at least ``MIN_TIME_BUDGET``).

        Raises:
            WorkerTimeUp: a job ran past its share of the budget.
            BadInput: a job was nested too deeply.
            WorkerFailed: a worker died or went silent.
        """
        total = sum(len(job.text) for job in jobs) or 1
        share = seconds / total  # by size, and never less than the least budget (a short last segment)
        futures = [
            self._threads.submit(self._one, kind, job, max(MIN_TIME_BUDGET, share * len(job.text)))
            for job in jobs
        ]
        outputs: list[str | None] = []
        for future in futures:
            status, value = future.result()
            if status == "timed_out":
                raise WorkerTimeUp()
            if status == "bad_input":
                raise BadInput()
            if status != "ok":
                raise WorkerFailed(f"compression worker raised {value}")
            outputs.append(value)
        return outputs

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [worker.process.pid for worker in list(self._started) if worker.alive()]

    def close(self) -> None:
        for _ in range(self.size):
            worker = self._idle.get()
            if worker is not None:
                worker.kill()
        self._threads.shutdown(wait=False)


_pool: Workers | None = None
_pool_lock = threading.Lock()


def pool() -> Workers:
    """The process-wide workers (at most two, fewer on a one-core machine)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Workers(max(1, min(2, os.cpu_count() or 1)))
            atexit.register(_pool.close)
        return _pool


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The worker's loop: one job in, one answer out, until the parent closes the pipe."""
    from ._compressors import KINDS_WITH_COMPRESSOR, compressor_for
    from ._deadline import TimeUp, until

    for kind in KINDS_WITH_COMPRESSOR:  # imported before the first job, not during it
        compressor_for(kind)
    while True:
        try:
            kind, job, seconds = _read(source)
        except EOFError:
            return
        compressor = compressor_for(kind)
        answer: tuple[str, Any]
        try:
            with until(seconds):
                answer = ("ok", None if compressor is None else compressor(job))
        except TimeUp:
            answer = ("timed_out", None)
        except RecursionError:
            answer = ("bad_input", None)
        except Exception as exc:  # reported to the parent, which passes the text through
            answer = ("error", f"{type(exc).__name__}: {exc}")
        _write(sink, answer)
