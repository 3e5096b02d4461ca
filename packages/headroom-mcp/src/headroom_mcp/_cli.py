"""``headroom mcp``: the MCP server's commands, added to the ``headroom`` CLI by entry point."""

from __future__ import annotations

from pathlib import Path

import click
from headroom import Headroom


@click.group()
def mcp() -> None:
    """Headroom as MCP tools for Claude Code, Codex, Cursor and other MCP clients."""


@mcp.command()
@click.pass_obj
def serve(hr: Headroom) -> None:
    """Serve compression, retrieval, stats and the shared memory as MCP tools over stdio.

    Notes belong by default to the project of the working directory (the client starts the server there).
    """
    from ._server import create_server  # the MCP SDK is imported only by this command

    create_server(headroom=hr, workdir=Path.cwd()).run("stdio")
