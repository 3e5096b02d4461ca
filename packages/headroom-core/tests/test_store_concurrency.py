"""Several processes on one store at once (one SQLite file, one Redis): nothing is lost, nothing fails.

Each worker is a separate interpreter (``_store_worker.py``) doing mixed puts and gets; they are
released together so their work really overlaps. Any ``StoreError`` in a worker ("database is
locked" is the classic one) fails the test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from headroom._markers import make_ref
from headroom._store import Original, open_store

from . import _store_worker

OPS = 500  # per worker, half puts and half gets


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'shared.db'}"  # not created yet: the workers race to create it


def test_processes_sharing_one_store_lose_nothing(shared_url: str) -> None:
    command = [sys.executable, str(Path(_store_worker.__file__))]
    workers = [
        subprocess.Popen(
            [*command, shared_url, str(worker), str(OPS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for worker in range(_store_worker.WORKERS)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == b"ready\n", worker.communicate(timeout=30)[1].decode()
        for worker in workers:  # go, all at once
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
        for number, worker in enumerate(workers):
            _, errors = worker.communicate(timeout=60)
            assert worker.returncode == 0, f"worker {number} failed:\n{errors.decode()}"
            assert b"database is locked" not in errors
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    expected = {
        make_ref(text): text for n in range(_store_worker.WORKERS) for text in _store_worker.texts(n, OPS)
    }
    store = open_store(shared_url, ttl_seconds=0, max_store_bytes=1 << 30)
    try:
        assert store.info().entries == len(expected)
        for ref, text in expected.items():
            assert store.get(ref) == Original(text, "text")
    finally:
        store.close()
