"""headroom-agno: Headroom for Agno agents: a tool hook, the retrieve toolkit, a compression manager.

    from agno.agent import Agent
    from headroom_agno import HeadroomHook, HeadroomTools

    hook = HeadroomHook()
    agent = Agent(model=..., tools=[my_tools, HeadroomTools(hook)], tool_hooks=[hook])

Exports are loaded on first use, so ``import headroom_agno`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom import __version__
from headroom.integration import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
