"""``headroom mcp``: the MCP server's commands, added to the ``headroom`` CLI by entry point.

Every command imports what it needs inside itself (the MCP SDK, tomlkit), so that loading this group
costs the ``headroom`` CLI's start nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from headroom import Headroom

# The choices are spelled here rather than imported from ._install, which stays lazy.
_AGENTS = ("claude", "codex")
_SCOPES = ("user", "local", "project")


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


_agent = click.argument("agent", type=click.Choice(_AGENTS))
_scope = click.option("--scope", "-s", type=click.Choice(_SCOPES), default="user", show_default=True,
                      help="user: every project; local: this project, for you (Claude Code only);"
                      " project: this project's shared file (.mcp.json, .codex/config.toml).")  # fmt: skip
_dry_run = click.option("--dry-run", is_flag=True, help="Show the command or the diff; change nothing.")
_force = click.option(
    "--force", is_flag=True, help="Replace or remove an entry named headroom that is not ours."
)


@mcp.command("install")
@_agent
@_scope
@_dry_run
@_force
@click.pass_context
def install_command(ctx: click.Context, agent: str, scope: str, dry_run: bool, force: bool) -> None:
    """Register `headroom mcp serve` with AGENT (claude or codex); running it again changes nothing."""
    from ._install import checked, install

    store = ctx.find_root().params.get("store") or os.environ.get("HEADROOM_STORE")
    picked = checked(agent, scope)
    click.echo("headroom: " + install(*picked, store=store, force=force, dry_run=dry_run,
                                       env=os.environ, cwd=Path.cwd()), err=True)  # fmt: skip


@mcp.command("uninstall")
@_agent
@_scope
@_dry_run
@_force
def uninstall_command(agent: str, scope: str, dry_run: bool, force: bool) -> None:
    """Take out what `headroom mcp install` registered with AGENT."""
    from ._install import checked, uninstall

    picked = checked(agent, scope)
    click.echo("headroom: " + uninstall(*picked, force=force, dry_run=dry_run, env=os.environ,
                                         cwd=Path.cwd()), err=True)  # fmt: skip
