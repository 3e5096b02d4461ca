"""The one rule every export follows for ``headroom=`` and ``config=``."""

from __future__ import annotations

from headroom import Config, ConfigError, Headroom

SOURCE = "llamaindex"
REF_KEY = "headroom_ref"  # node metadata key of the original's ref


def engine(headroom: Headroom | None, config: Config | None) -> Headroom:
    """``headroom`` when given, else a new ``Headroom(config, source="llamaindex")``.

    Raises:
        ConfigError: both were given (a shared engine already has its config).
    """
    if headroom is not None and config is not None:
        raise ConfigError("pass headroom= (a shared engine, which has its own config) or config=, not both")
    return headroom if headroom is not None else Headroom(config, source=SOURCE)
