"""The one rule every export follows for ``headroom=`` and ``config=``."""

from __future__ import annotations

from typing import Final

from headroom import Config, Headroom
from headroom.integration import adapter_engine

SOURCE: Final = "llamaindex"
REF_KEY = "headroom_ref"  # node metadata key of the original's ref


def engine(headroom: Headroom | None, config: Config | None) -> Headroom:
    """``headroom`` when given, else a new ``Headroom(config, source="llamaindex")``."""
    return adapter_engine(headroom, config, SOURCE)
