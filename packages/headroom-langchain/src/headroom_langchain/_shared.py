"""The one rule every export follows for ``headroom=`` and ``config=``."""

from __future__ import annotations

from typing import Final

from headroom import Config, Headroom
from headroom.integration import adapter_engine

SOURCE: Final = "langchain"


def engine(headroom: Headroom | None, config: Config | None) -> Headroom:
    """``headroom`` when given, else a new ``Headroom(config, source="langchain")``."""
    return adapter_engine(headroom, config, SOURCE)
