"""Headroom as MCP tools: ``create_server`` builds the server, ``headroom mcp serve`` runs it on stdio,
``headroom mcp install claude|codex`` registers it with an agent.

``create_server`` is loaded on first use: the MCP SDK takes over a second to import, and the
``headroom`` CLI loads this package for every ``headroom mcp`` command (``install`` needs no SDK).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING

from headroom.integration import lazy_exports

if TYPE_CHECKING:
    from ._server import create_server

__version__ = version("headroom-mcp")

__all__ = ["__version__", "create_server"]

__getattr__, __dir__ = lazy_exports(__name__, {"create_server": "._server"}, __all__)
