"""headroom-agno: Headroom for Agno agents: a tool hook, the retrieve toolkit, a compression manager.

    from agno.agent import Agent
    from headroom_agno import HeadroomHook, HeadroomTools

    hook = HeadroomHook()
    agent = Agent(model=..., tools=[my_tools, HeadroomTools(hook)], tool_hooks=[hook])

Exports are loaded on first use, so ``import headroom_agno`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headroom import __version__

if TYPE_CHECKING:
    from ._hook import HeadroomHook
    from ._manager import HeadroomCompressionManager
    from ._tools import HeadroomTools, with_headroom

__all__ = [
    "HeadroomCompressionManager",
    "HeadroomHook",
    "HeadroomTools",
    "__version__",
    "with_headroom",
]

_WHERE = {
    "HeadroomCompressionManager": "._manager",
    "HeadroomHook": "._hook",
    "HeadroomTools": "._tools",
    "with_headroom": "._tools",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'headroom_agno' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
