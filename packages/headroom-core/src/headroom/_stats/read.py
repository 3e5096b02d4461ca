"""Reading the stats ledger for a report, and ``--since`` values: the CLI's ``stats``/``perf``,
``Headroom.stats`` and the MCP server share them.

A missing ledger file reads as an empty one (every report then shows zeros) and creates nothing.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .._errors import HeadroomError
from .._sqlite_util import migrate
from .db import MIGRATIONS, open_ledger_db
from .events import ledger_path
from .prices import Prices, load_prices
from .rollup import prepare

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@contextmanager
def ledger_for(store: str) -> Iterator[tuple[sqlite3.Connection, Path, Prices]]:
    """The ledger beside ``store``, its path and the price table.

    Raises:
        HeadroomError: the price table or the ledger cannot be read.
    """
    path = ledger_path(store)
    prices = load_prices(strict=True)
    try:
        if path.exists():
            db = open_ledger_db(path)
        else:
            db = sqlite3.connect(":memory:", isolation_level=None)
            prepare(db)
            migrate(db, MIGRATIONS)
    except (OSError, sqlite3.Error) as exc:
        raise HeadroomError(f"cannot read the stats ledger at {path}: {exc}") from exc
    try:
        yield db, path, prices
    except sqlite3.Error as exc:
        raise HeadroomError(f"cannot read the stats ledger at {path}: {exc}") from exc
    finally:
        db.close()


def parse_since(text: str, now: float | None = None) -> float:
    """Unix time from ``30m``, ``24h``, ``7d``, ``2w`` (ago) or an ISO date or datetime.

    A date or datetime without a time zone is local time.

    Raises:
        ValueError: ``text`` is neither.
    """
    found = _AGO.match(text)
    if found:
        since = (time.time() if now is None else now) - float(found[1]) * _UNITS[found[2].lower()]
        if since < 0:
            raise ValueError(f"{text!r} reaches back before 1970")
        return since
    raw = text.strip()
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        raise ValueError(f"{text!r} is not 30m, 24h, 7d, 2w or an ISO date such as 2026-03-01") from None
