"""One of several processes that use one store at once; run by test_store_concurrency.py.

``python _store_worker.py URL WORKER OPS`` opens the store, prints ``ready`` and waits for a line on
stdin, so that every worker starts at the same moment. It then alternates puts and gets: its own
originals of assorted sizes, and every tenth one an original all workers store under the same ref.
Any failure (a ``StoreError`` such as "database is locked", or an original that comes back different)
ends it with a traceback on stderr and exit status 1.
"""

from __future__ import annotations

import sys

from headroom._markers import make_ref
from headroom._store import Original, open_store

WORKERS = 4


def _own(worker: int, index: int) -> str:
    return f"worker {worker} original {index} \udcff ünï\n" + "x" * (index % 13) * 97


def _shared(index: int) -> str:
    return f"shared original {index}, stored by every worker\n" * 12


def text_of(worker: int, index: int) -> str:
    """What ``worker`` stores at step ``index`` (an even number)."""
    return _shared(index) if index % 10 == 0 else _own(worker, index)


def texts(worker: int, ops: int) -> list[str]:
    """Every original ``worker`` stores in ``ops`` steps."""
    return [text_of(worker, index) for index in range(0, ops, 2)]


def _check(found: Original | None, text: str, *, may_be_missing: bool) -> None:
    if found is None and may_be_missing:
        return
    if found != Original(text, "text"):
        raise AssertionError(f"{make_ref(text)}: expected {text[:40]!r}..., found {found!r}")


def main(url: str, worker: int, ops: int) -> None:
    store = open_store(url, ttl_seconds=0, max_store_bytes=1 << 30)
    print("ready", flush=True)
    sys.stdin.readline()
    for index in range(ops):
        if index % 2 == 0:
            text = text_of(worker, index)
            store.put(make_ref(text), Original(text, "text"))
            continue
        mine = text_of(worker, index - 1)
        _check(store.get(make_ref(mine)), mine, may_be_missing=False)
        theirs = text_of((worker + 1) % WORKERS, index - 1)  # stored by now, or soon
        _check(store.get(make_ref(theirs)), theirs, may_be_missing=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
