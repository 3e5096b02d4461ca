"""Shared fixtures. Every test gets its own store: nothing ever touches the user's real data dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import headroom
import pytest
from headroom import Config, Headroom


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No HEADROOM_* variable leaks in from the machine; the default store is a fresh SQLite file."""
    for name in list(os.environ):
        if name.startswith("HEADROOM_"):
            monkeypatch.delenv(name)
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
