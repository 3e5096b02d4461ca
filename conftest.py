"""Shared fixtures for both test trees (``tests/`` and ``packages/headroom-core/tests/``).

Every test gets its own store: nothing ever touches the user's real data dir.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path

import headroom
import pytest
from headroom import Config, Headroom


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No HEADROOM_* variable leaks in from the machine; the default store is a fresh SQLite file.

    Tool results are compressed as soon as they arrive (``HEADROOM_FRESH_TURNS=0``), so a test of a
    compressor or an adapter reads the compressed result in the very next request; the tests of the
    freshness rule (the default: recent results stay whole) unset it or pass ``fresh_turns``.
    """
    for name in list(os.environ):
        if name.startswith("HEADROOM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HEADROOM_FRESH_TURNS", "0")
    store = tmp_path_factory.mktemp("store") / "store.db"
    monkeypatch.setenv("HEADROOM_STORE", f"sqlite:///{store}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))  # the ledger of memory stores
    monkeypatch.setattr(headroom, "_default", None)
    yield
    default = headroom._default
    if default is not None:
        default.close()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'originals.db'}"


@pytest.fixture
def hr(store_url: str) -> Iterator[Headroom]:
    """A Headroom on a real SQLite file, with thresholds at zero so every text is worked on."""
    instance = Headroom(Config(store=store_url, min_tokens=0, min_saving=0.0))
    yield instance
    instance.close()


# --- realistic tool outputs for the adapter tests, generated here (tests never read ../shared) ----------

_TEMPLATES = [
    "INFO  http: GET /api/v2/orders/{order} 200 {ms}ms user={user}",
    "INFO  http: POST /api/v2/carts/{cart}/items 201 {ms}ms user={user}",
    "DEBUG cache: hit key=product:{product} ttl={ttl}s",
    "DEBUG cache: miss key=inventory:{product} loading from db",
    "INFO  worker[{worker}]: job {job} finished in {ms}ms",
    "INFO  db.pool: checked out connection {conn} (active={active}, idle={idle})",
    "WARN  http: slow request GET /api/v2/search?q={word} took {slow}ms",
    "INFO  auth: session {session} refreshed for user={user}",
    "DEBUG scheduler: tick {job} queue_depth={active}",
    "INFO  metrics: flushed {active} series to statsd in {ms}ms",
]
_ERRORS = [
    "ERROR payment: charge failed for order {order}: card_declined (gateway=stripe, attempt={attempt})",
    "ERROR db.pool: timeout acquiring connection after 30000ms (active={active}, idle=0)",
]
_TRACE = [
    "ERROR worker[{worker}]: unhandled exception in job {job}",
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 214, in run',
    "    result = handler(payload)",
    '  File "/srv/app/jobs/invoice.py", line 88, in handle',
    "    total = sum(line.amount for line in invoice.lines)",
    "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'",
]


def app_log(lines: int = 2000, seed: int = 7) -> str:
    """An application log: many templates, timestamps, ids, a few errors and stack traces."""
    rng = random.Random(seed)
    out: list[str] = []
    second = 0
    while len(out) < lines:
        second += rng.randint(0, 2)
        stamp = f"2026-03-14T09:{second // 60 % 60:02d}:{second % 60:02d}.{rng.randint(0, 999):03d}Z"
        values = {
            "order": f"ord_{rng.randint(10**7, 10**8 - 1)}", "cart": f"c{rng.randint(1000, 9999)}",
            "user": f"u{rng.randint(1, 5000)}", "ms": rng.randint(3, 180), "product": rng.randint(1, 900),
            "ttl": rng.choice([30, 60, 300]), "worker": rng.randint(1, 8), "job": f"job-{rng.randint(1, 99999)}",
            "conn": rng.randint(1, 64), "active": rng.randint(1, 40), "idle": rng.randint(0, 20),
            "word": rng.choice(["shoes", "lamp", "desk"]), "slow": rng.randint(900, 4000),
            "session": f"{rng.getrandbits(64):016x}", "attempt": rng.randint(1, 3),
        }  # fmt: skip
        roll = rng.random() if len(out) < lines - 20 else 1.0  # ends in ordinary lines, not a crash
        if roll < 0.004:
            out += [f"{stamp} {line.format(**values)}" if i == 0 else line for i, line in enumerate(_TRACE)]
        elif roll < 0.03:
            out.append(f"{stamp} {rng.choice(_ERRORS).format(**values)}")
        else:
            out.append(f"{stamp} {rng.choice(_TEMPLATES).format(**values)}")
    return "\n".join(out[:lines]) + "\n"


def api_records(count: int = 300, seed: int = 3) -> str:
    """A JSON API response: a page of order records with a few failures and outliers."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        failed = i in (41, 177, 263)
        records.append({
            "id": f"ord_{10_000 + i}", "status": 502 if failed else 200,
            "customer": {"id": f"cus_{rng.randint(1, 900)}", "tier": rng.choice(["free", "pro", "pro", "team"])},
            "amount_cents": 990_000 if i == 123 else rng.randint(500, 20_000), "currency": "EUR",
            "created_at": f"2026-03-{1 + i % 28:02d}T{rng.randint(0, 23):02d}:00:00Z",
            "error": "upstream gateway timeout" if failed else None,
        })  # fmt: skip
    return json.dumps({"object": "list", "data": records, "has_more": False}, indent=2)


def matching_lines(text: str, query: str) -> list[tuple[int, str]]:
    """The (1-based number, line) pairs the contract says ``retrieve(ref, query)`` returns."""
    words = query.lower().split()
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if all(w in line.lower() for w in words)]


def _grade(line: str, word: str) -> int:
    """The contract's grade of one query word in a line: 3 exact-case whole word, 2 whole word, 1 part."""
    for grade, flags in ((3, 0), (2, re.I)):
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", line, flags):
            return grade
    return 1


def expected_retrieval(text: str, query: str) -> str:
    """The exact text of ``retrieve(ref, query)`` when every match fits on one page and no query word
    is a log level: the matching lines, best graded first, then in file order."""
    found = matching_lines(text, query)
    grades = {n: [_grade(line, word) for word in query.split()] for n, line in found}
    found.sort(key=lambda pair: (-min(grades[pair[0]]), -sum(grades[pair[0]]), pair[0]))
    total = len(text.splitlines())
    shown = f"showing {len(found)}, ranked 1-{len(found)}" if found else "showing 0"
    head = f'[headroom_retrieve: {len(found)} of {total} lines match "{query}"; {shown}]'
    return "\n".join([head, *(f"{n}\t{line}" for n, line in found)])


class ToolOutputs:
    """The generators above, for test modules (``--import-mode=importlib`` cannot import conftest)."""

    app_log = staticmethod(app_log)
    api_records = staticmethod(api_records)
    matching_lines = staticmethod(matching_lines)
    expected_retrieval = staticmethod(expected_retrieval)


@pytest.fixture
def outputs() -> type[ToolOutputs]:
    return ToolOutputs
