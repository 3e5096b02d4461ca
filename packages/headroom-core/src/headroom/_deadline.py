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
A raise that lands in a finalizer or a ``gc`` callback is swallowed there (printed as unraisable);
that compression then runs to its end, unbudgeted.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


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
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> None:
        """Watch this thread (which has nothing armed: no TimeUp can be on its way to it)."""
        thread = threading.get_ident()
        with self._lock:
            self._armed[thread] = deadline
            self._fired.discard(thread)
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

    def _watch(self) -> None:
        while True:
            with self._lock:
                left: list[float] = []  # CPU seconds each armed thread has left: no sooner can it end
                for thread, deadline in list(self._armed.items()):
                    remaining = deadline - _clock(thread)
                    if remaining <= 0:
                        del self._armed[thread]
                        self._fired.add(thread)
                        _set_async_exc(ctypes.c_ulong(thread), _TIME_UP)
                    else:
                        left.append(remaining)
            self._wake.acquire(timeout=max(min(left), 0.001) if left else -1)


_WATCHDOG = _Watchdog()
_DEADLINE = threading.local()


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
    if _clock(threading.get_ident()) >= deadline:
        raise TimeUp
    _WATCHDOG.arm(deadline)
