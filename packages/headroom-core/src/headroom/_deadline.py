"""A time budget for one compression: past it the compressor is interrupted and the text passes
through unchanged (outcome ``timed_out``).

Compression runs on the caller's thread. ``until(seconds)`` arms a watchdog thread that raises
``TimeUp`` in it once that thread has used ``seconds`` of CPU time (its own clock, so a loaded
machine or a busy event loop does not eat the budget; wall time where threads have no CPU clock),
with CPython's ``PyThreadState_SetAsyncExc``: the exception arrives at the next bytecode, so a
single call into C finishes first (the compressors' C calls are linear and bounded by the input).
``shielded()`` pauses the budget around what must not be cut in half (a store write): a budget that
ran out meanwhile raises right after it. A raise that would
arrive after the armed block ended is cancelled on the way out (the block keeps its result); the
handler that catches ``TimeUp`` calls ``clear()``, in case the raise cut that way out short.
``TimeUp`` is a ``BaseException``, so a compressor's own ``except Exception`` does not swallow it.

Garbage collection is the process's work, not the compression's: a ``gc`` callback adds the CPU time
of each collection in an armed thread to its deadline (a full collection of a large heap takes half a
second), and no ``TimeUp`` is sent while that thread collects, when it would land in a finalizer or a
weakref callback. One can still land there (the thread was in a C call that then collected): it is
swallowed and printed as unraisable, so the watchdog sends another after ``REFIRE`` more CPU seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

REFIRE = 0.05  # CPU seconds after a TimeUp that did not end the block before another is sent


class TimeUp(BaseException):
    """The compression's time budget ran out."""


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_TIME_UP = ctypes.py_object(TimeUp)


def _clock(thread: int) -> float:
    """Seconds of CPU time ``thread`` has used (wall time where threads have no CPU clock)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread))
    except (AttributeError, OSError):  # no per-thread clocks here, or the thread has ended
        return time.monotonic()


class _Watchdog:
    """One thread that raises ``TimeUp`` in armed threads past their deadline.

    An armed thread can receive ``TimeUp`` at any bytecode, so what it runs while armed (``disarm``)
    uses only C-level locks (``with`` on a ``threading.Lock`` is atomic), never a ``Condition``: an
    exception inside a Python-level ``__enter__`` would leave its lock held.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Lock()  # released by ``arm`` to wake the watcher (a C-level signal)
        self._wake.acquire()
        self._armed: dict[int, float] = {}  # thread id -> deadline on that thread's clock
        self._fired: set[int] = set()  # threads sent a TimeUp that may not have arrived yet
        self._collecting: dict[int, float] = {}  # thread id -> its clock when its collection began
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> None:
        """Watch this thread (which has nothing armed: no TimeUp can be on its way to it)."""
        thread = threading.get_ident()
        with self._lock:
            self._armed[thread] = deadline
            self._fired.discard(thread)
            self._collecting.pop(thread, None)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="headroom-deadline", daemon=True)
                self._thread.start()
        with contextlib.suppress(RuntimeError):  # already released: the watcher will look anyway
            self._wake.release()

    def disarm(self) -> bool:
        """Stop watching this thread; True when its deadline had fired (a pending raise is cancelled)."""
        thread = threading.get_ident()
        with self._lock:
            self._armed.pop(thread, None)
            fired = thread in self._fired
            if fired:
                _set_async_exc(ctypes.c_ulong(thread), None)  # NULL: cancel one not yet delivered
                self._fired.discard(thread)
        return fired

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        """A ``gc`` callback: a collection in a thread with a budget moves its deadline (armed or
        shielded) by the collection's CPU time. It takes no lock (a collection can start in the
        watcher while it holds one) and writes the new deadline before it ends the collection, so
        the watcher never reads the old one after that."""
        deadline: float | None = getattr(_DEADLINE, "value", None)
        if deadline is None:
            return
        thread = threading.get_ident()
        if phase == "start":
            self._collecting[thread] = _clock(thread)
            return
        began = self._collecting.get(thread)
        if began is None:
            return
        spent = _clock(thread) - began
        _DEADLINE.value = deadline + spent
        armed = self._armed.get(thread)
        if armed is not None:
            self._armed[thread] = armed + spent
        del self._collecting[thread]

    def _watch(self) -> None:
        while True:
            with self._lock:
                left: list[float] = []  # CPU seconds each armed thread has left: no sooner can it end
                for thread in list(self._armed):
                    deadline = self._armed.get(thread)
                    if deadline is None:
                        continue
                    remaining = deadline - _clock(thread)
                    if thread in self._collecting:
                        left.append(0.001)  # look again once its collection is over
                    elif remaining <= 0:
                        self._armed[thread] = _clock(thread) + REFIRE  # in case this one is swallowed
                        self._fired.add(thread)
                        _set_async_exc(ctypes.c_ulong(thread), _TIME_UP)
                        left.append(REFIRE)
                    else:
                        left.append(remaining)
            self._wake.acquire(timeout=max(min(left), 0.001) if left else -1)


_WATCHDOG = _Watchdog()
_DEADLINE = threading.local()
gc.callbacks.insert(0, _WATCHDOG.on_gc)  # first: the deadline moves before other callbacks run


@contextmanager
def until(seconds: float) -> Iterator[None]:
    """Raise ``TimeUp`` inside this block once this thread has used ``seconds`` of CPU time in it
    (infinite seconds arm nothing). Blocks do not nest; whoever catches ``TimeUp`` calls ``clear()``.

    Raises:
        TimeUp: the budget ran out inside the block.
    """
    if seconds == float("inf"):
        yield
        return
    deadline = _clock(threading.get_ident()) + seconds
    _DEADLINE.value = deadline
    _WATCHDOG.arm(deadline)
    try:
        yield  # a block that finished as its deadline fired keeps its result
    finally:
        clear()


def clear() -> None:
    """Forget this thread's budget, cancelling a raise not yet delivered. ``until`` calls it on the
    way out; a handler of ``TimeUp`` calls it too, since the raise may have cut that exit short."""
    _DEADLINE.value = None
    _WATCHDOG.disarm()


@contextmanager
def shielded() -> Iterator[None]:
    """No ``TimeUp`` inside this block; one that came due meanwhile is raised right after it.

    Raises:
        TimeUp: the deadline passed before or inside the block.
    """
    deadline = getattr(_DEADLINE, "value", None)
    if deadline is None:
        yield
        return
    if _WATCHDOG.disarm():
        raise TimeUp
    yield  # a block that raises leaves the budget disarmed: the armed block ends with it
    deadline = _DEADLINE.value  # moved by any collection inside the block
    if _clock(threading.get_ident()) >= deadline:
        raise TimeUp
    _WATCHDOG.arm(deadline)
