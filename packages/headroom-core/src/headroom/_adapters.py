"""What every framework adapter package shares: the engine rule and lazy exports.

Private to the workspace: the adapters (``headroom_langchain``, ``headroom_agno``,
``headroom_llamaindex``) pin this exact version of headroom-core and use these, so each follows the
contract the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ._config import Config
from ._engine import Headroom
from ._errors import ConfigError


def adapter_engine(headroom: Headroom | None, config: Config | None, source: str) -> Headroom:
    """``headroom`` when given (an engine shared with the rest of the application), else a new
    ``Headroom(config, source=source)``.

    Raises:
        ConfigError: both were given (a shared engine already has its config).
    """
    if headroom is not None and config is not None:
        raise ConfigError("pass headroom= (a shared engine, which has its own config) or config=, not both")
    return headroom if headroom is not None else Headroom(config, source=source)


def lazy_exports(
    package: str, where: Mapping[str, str], exported: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import each export's module on first use, so
    importing the package does not import its framework.

    Args:
        package: the package's ``__name__``.
        where: export name -> the relative module that defines it.
        exported: the package's ``__all__``.
    """
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exported))

    return getattr_, dir_
