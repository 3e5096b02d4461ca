"""The worker process of ``_workers``: ``python -m headroom._worker``."""

import contextlib
import os
import sys

from ._workers import serve

if __name__ == "__main__":
    # background work: the caller's own threads (a server answering small requests) come first when
    # the cores are busy
    with contextlib.suppress(OSError):
        os.nice(10)
    # answers go to the original stdout; anything a library prints goes to stderr instead
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, answers)
