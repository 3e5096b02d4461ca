"""Headroom as MCP tools: ``create_server`` builds the server, ``headroom mcp serve`` runs it on stdio."""

from __future__ import annotations

from importlib.metadata import version

from ._server import create_server

__version__ = version("headroom-mcp")

__all__ = ["__version__", "create_server"]
