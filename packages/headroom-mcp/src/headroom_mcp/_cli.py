"""``headroom mcp``: the MCP server's commands, added to the ``headroom`` CLI by entry point."""

from __future__ import annotations

import click
from headroom import Headroom

from ._server import create_server


@click.group()
def mcp() -> None:
    """Headroom as MCP tools for Claude Code, Codex, Cursor and other MCP clients."""


@mcp.command()
@click.pass_obj
def serve(hr: Headroom) -> None:
    """Serve headroom_compress, headroom_retrieve and headroom_stats over stdio."""
    create_server(headroom=hr).run("stdio")
