"""A real ``redis-server`` for the Redis store tests: no mocks, so Lua, expiry and eviction are Redis's own.

One server per test session, on 127.0.0.1 and a free port, with persistence off; every test that asks
for ``redis_url`` starts from an empty database. Without ``redis-server`` on PATH the Redis tests skip
with a note on how to install it, except in CI (``CI=true``), where they fail: a CI run must not go
green by skipping a store.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

_INSTALL = (
    "redis-server is not installed, so the Redis store tests cannot run. Install it with"
    " `apt-get install redis-server` (Debian/Ubuntu; `make test` does this when run as root)."
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A ``redis-server`` process started by a test."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """Start ``redis-server`` (persistence off), wait until it answers PING, stop it on exit.

    Skips the calling test when ``redis-server`` is missing, or fails it when ``CI`` is ``true``.
    """
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(_INSTALL, pytrace=False)
        pytest.skip(_INSTALL)
    port = free_port()
    log = directory / f"redis-{port}.log"
    with log.open("wb") as out:
        # --save "" and --appendonly no: nothing is ever written to disk
        settings = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            [executable, *settings, "--dir", str(directory), "--daemonize", "no"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = RedisServer(process, port, log)
    try:
        deadline = time.monotonic() + 10
        while not _answers_ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}:\n{log.read_text()}", pytrace=False)
            time.sleep(0.02)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client on database 0 of the session's server, emptied for this test."""
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=0)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def redis_url(redis_server: RedisServer, redis_client: redis.Redis) -> str:
    """The URL of the database ``redis_client`` emptied."""
    return redis_server.url(0)
