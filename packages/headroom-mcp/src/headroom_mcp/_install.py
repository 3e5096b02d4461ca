"""``headroom mcp install|uninstall <claude|codex>``: register ``headroom mcp serve`` with a coding agent.

The entry is named ``headroom`` and only that key is ever touched; it is ours when it runs
``headroom mcp serve`` (an entry of that name that runs anything else is left alone without
``--force``). It runs this installation's ``headroom`` by its absolute path, so it works from any
directory without an activated virtualenv, with ``HEADROOM_STORE`` in its environment only when the
user named a store (otherwise the default store is the one everything on the machine shares).

- Claude Code: ``claude mcp add`` / ``claude mcp remove`` (run in the project root) when the CLI is on
  PATH, else the file it reads: ``~/.claude.json`` (``$CLAUDE_CONFIG_DIR/.claude.json``), top-level
  ``mcpServers`` for the user scope, ``projects[<project root>].mcpServers`` for the local scope;
  ``<project root>/.mcp.json`` for the project scope. The project root is the git root of the working
  directory, else the directory itself.
- Codex: ``[mcp_servers.headroom]`` in ``$CODEX_HOME/config.toml`` (user scope) or
  ``<project root>/.codex/config.toml`` (project scope; Codex reads it in trusted projects).

Install is idempotent (the same entry again changes nothing; another entry of ours is updated);
uninstall takes out exactly that entry. A file this module wrote is recorded in the user state
directory (its bytes before, a digest of what was written, whether the container was made for us): an
uninstall that finds the file as install left it puts the earlier bytes back, otherwise it takes out
our entry alone (and the container when install made it and it is left empty).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click

from ._files import ConfigFileError, Document, diff, edited, entry, load, write

NAME = "headroom"
Agent = Literal["claude", "codex"]
Scope = Literal["user", "project", "local"]
AGENTS: tuple[Agent, ...] = ("claude", "codex")
SCOPES: tuple[Scope, ...] = ("user", "project", "local")


def checked(agent: str, scope: str) -> tuple[Agent, Scope]:
    """``agent`` and ``scope`` as the types install and uninstall take.

    Raises:
        click.UsageError: an agent or scope that is not known, or Codex with the local scope (exit 2).
    """
    if agent not in AGENTS:
        raise click.UsageError(f"unknown agent {agent!r}; choose one of {', '.join(AGENTS)}")
    if scope not in SCOPES:
        raise click.UsageError(f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}")
    if agent == "codex" and scope == "local":
        raise click.UsageError("Codex has no local scope; use --scope user or --scope project")
    return agent, scope


@dataclass(frozen=True)
class Server:
    """How the agent starts the server: ``command`` with ``args``, ``env`` added to its environment."""

    command: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def headroom_executable() -> list[str]:
    """This installation's ``headroom``: the script beside the interpreter (the virtualenv's bin), else
    the one on PATH, else ``<python> -m headroom``."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        for name in ("headroom", "headroom.exe"):
            candidate = Path(folder, name)
            if candidate.is_file():
                return [str(candidate.absolute())]
    found = shutil.which("headroom")
    return [str(Path(found).absolute())] if found else [sys.executable, "-m", "headroom"]


def server(store: str | None) -> Server:
    """``headroom mcp serve`` of this installation, on ``store`` when one was named."""
    program, *rest = headroom_executable()
    env = {"HEADROOM_STORE": absolute_store(store)} if store else {}
    return Server(program, (*rest, "mcp", "serve"), env)


def absolute_store(store: str) -> str:
    """``store`` with a relative SQLite path made absolute (the agent starts the server elsewhere)."""
    prefix = "sqlite:///"
    if store.startswith(prefix) and not store[len(prefix) :].startswith("/"):
        return prefix + str(Path(store[len(prefix) :]).absolute())
    return store


def is_ours(value: Any) -> bool:
    """Whether an entry runs ``headroom mcp serve`` (any installation's ``headroom``)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("command"), str):
        return False
    args = [str(a) for a in value.get("args") or []]
    words = [Path(value["command"]).stem, *args]
    headroom = words[0] == "headroom" or any(
        words[i : i + 2] == ["-m", "headroom"] for i in range(len(words))
    )
    return headroom and any(words[i : i + 2] == ["mcp", "serve"] for i in range(len(words)))


def describe(value: Any) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("command"), str):
        return shlex.join([value["command"], *map(str, value.get("args") or [])])
    if isinstance(value, Mapping) and value.get("url"):
        return str(value["url"])
    return json.dumps(value)


# --- where the entry lives -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One agent's MCP servers in one scope: the file, the keys of the container in it, and the
    directory the agent's CLI runs in."""

    agent: Agent
    scope: Scope
    path: Path
    keys: tuple[str, ...]
    root: Path
    private: bool  # a file in the user's home: a new one gets mode 0600

    def where(self) -> str:
        return f"{self.agent}, {self.scope} scope, {self.path}"


def project_root(cwd: Path) -> Path:
    """The git root of ``cwd``, else ``cwd``."""
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def target(agent: Agent, scope: Scope, env: Mapping[str, str], cwd: Path) -> Target:
    """Where ``agent`` keeps its MCP servers for ``scope``.

    Raises:
        ConfigFileError: Codex has no local scope.
    """
    root = project_root(cwd)
    home = Path(env.get("HOME") or Path.home())
    if agent == "claude":
        if scope == "project":
            return Target(agent, scope, root / ".mcp.json", ("mcpServers",), root, False)
        state = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home
        keys = ("mcpServers",) if scope == "user" else ("projects", str(root), "mcpServers")
        return Target(agent, scope, state / ".claude.json", keys, root, True)
    if scope == "local":
        raise ConfigFileError("Codex has no local scope; use --scope user or --scope project")
    if scope == "project":
        return Target(agent, scope, root / ".codex" / "config.toml", ("mcp_servers",), root, False)
    codex_home = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else home / ".codex"
    return Target(agent, scope, codex_home / "config.toml", ("mcp_servers",), root, True)


def entry_for(agent: Agent, spec: Server) -> dict[str, Any]:
    """The entry as the agent writes it itself (``claude mcp add``, ``codex mcp add``)."""
    if agent == "claude":
        return {"type": "stdio", "command": spec.command, "args": list(spec.args), "env": dict(spec.env)}
    return {"command": spec.command, "args": list(spec.args), **({"env": dict(spec.env)} if spec.env else {})}


def same(existing: Any, wanted: Mapping[str, Any]) -> bool:
    """Whether ``existing`` starts the same server (extra settings the user added aside)."""
    if not isinstance(existing, Mapping) or existing.get("type", "stdio") != "stdio" or "url" in existing:
        return False
    return bool(
        existing.get("command") == wanted["command"]
        and list(existing.get("args") or []) == wanted["args"]
        and dict(existing.get("env") or {}) == wanted.get("env", {})
    )


# --- install and uninstall -------------------------------------------------------------------------------


def install(
    agent: Agent,
    scope: Scope,
    *,
    store: str | None,
    force: bool,
    dry_run: bool,
    env: Mapping[str, str],
    cwd: Path,
) -> str:
    """Register the server (see the module docstring); the line to tell the user.

    Raises:
        ConfigFileError: the file does not parse or cannot be written, an entry named ``headroom`` is
            not ours (without ``force``), or the agent's CLI failed.
    """
    where = target(agent, scope, env, cwd)
    doc = load(where.path)
    existing = entry(doc.data, where.keys, NAME)
    wanted = entry_for(agent, server(store))
    if existing is not None and not is_ours(existing) and not force:
        raise ConfigFileError(
            f"{where.path} already has an MCP server named {NAME} that runs {describe(existing)}, not"
            " `headroom mcp serve`; pass --force to replace it"
        )
    if existing is not None and same(existing, wanted):
        return f"already installed ({where.where()}); nothing to change"
    claude = shutil.which("claude", path=env.get("PATH")) if agent == "claude" else None
    if claude is not None:
        commands = [[claude, "mcp", "remove", "-s", scope, NAME]] if existing is not None else []
        extra = [arg for key, value in wanted["env"].items() for arg in ("-e", f"{key}={value}")]
        commands.append([claude, "mcp", "add", "-s", scope, NAME, *extra, "--", wanted["command"],
                         *wanted["args"]])  # fmt: skip
        if dry_run:
            return _dry_commands(commands, where)
        _run(commands, where, env)
        if not same(entry(load(where.path).data, where.keys, NAME), wanted):
            raise ConfigFileError(f"claude mcp add did not register {NAME} in {where.path}")
        return f"installed `{describe(wanted)}` ({where.where()}, through claude mcp add)"
    value = {**existing, **wanted} if is_ours(existing) else wanted  # settings the user added stay
    if "env" not in wanted:
        value.pop("env", None)
    after = edited(doc, where.keys, NAME, value)
    if dry_run:
        return _dry_diff(doc, after)
    write(where.path, after, private=where.private)
    _remember(doc, where, after, fresh=existing is None)
    verb = "updated" if existing is not None else "installed"
    return f"{verb} `{describe(wanted)}` ({where.where()})"


def uninstall(
    agent: Agent, scope: Scope, *, force: bool, dry_run: bool, env: Mapping[str, str], cwd: Path
) -> str:
    """Take the entry out again (see the module docstring); the line to tell the user.

    Raises:
        ConfigFileError: as for ``install``.
    """
    where = target(agent, scope, env, cwd)
    doc = load(where.path)
    existing = entry(doc.data, where.keys, NAME)
    if existing is None:
        return f"not installed ({where.where()}); nothing to remove"
    if not is_ours(existing) and not force:
        raise ConfigFileError(
            f"the MCP server named {NAME} in {where.path} runs {describe(existing)}, not `headroom mcp"
            " serve`: it is not ours; pass --force to remove it anyway"
        )
    claude = shutil.which("claude", path=env.get("PATH")) if agent == "claude" else None
    if claude is not None:
        commands = [[claude, "mcp", "remove", "-s", scope, NAME]]
        if dry_run:
            return _dry_commands(commands, where)
        _run(commands, where, env)
        return f"removed {NAME} ({where.where()}, through claude mcp remove)"
    record = _record(where.path)
    if record is not None and doc.raw is not None and _sha(doc.raw) == record.get("written"):
        before = record.get("before")
        after = None if before is None else str(before).encode("utf-8")  # the file as it was
    else:
        after = edited(doc, where.keys, NAME, None, prune=bool(record and record.get("created")))
    if dry_run:
        return _dry_diff(doc, after)
    write(where.path, after, private=where.private)
    _record_path(where.path).unlink(missing_ok=True)
    return f"removed {NAME} ({where.where()})"


def _dry_commands(commands: list[list[str]], where: Target) -> str:
    for command in commands:
        click.echo(f"(cd {shlex.quote(str(where.root))} && {shlex.join(command)})")
    return "a dry run: nothing was changed; run it again without --dry-run to do this"


def _dry_diff(doc: Document, after: bytes | None) -> str:
    click.echo(diff(doc.path, doc.raw, after), nl=False)
    return "a dry run: nothing was changed; run it again without --dry-run to write this"


def _run(commands: list[list[str]], where: Target, env: Mapping[str, str]) -> None:
    for command in commands:
        try:
            done = subprocess.run(command, cwd=where.root, env=dict(env), capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigFileError(f"`{shlex.join(command[1:3])}` failed: {exc}") from None
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise ConfigFileError(f"`claude {shlex.join(command[1:3])}` failed ({done.returncode}): {said}")


# --- the record of what install wrote --------------------------------------------------------------------


def _record_path(path: Path) -> Path:
    import platformdirs

    digest = hashlib.blake2b(str(path.absolute()).encode(), digest_size=8).hexdigest()
    folder = Path(platformdirs.user_state_dir("headroom"), "mcp-install")
    return folder / f"{path.name}-{digest}.json"  # made when a record is written (a dry run makes nothing)


def _record(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remember(doc: Document, where: Target, after: bytes, *, fresh: bool) -> None:
    """Record what install wrote. ``fresh`` (the entry was not there): the bytes before and whether the
    container was made; an update keeps the record of the first install (without one, uninstall takes
    the entry out alone)."""
    record = _record(where.path)
    if fresh:
        record = {
            "path": str(where.path),
            "before": None if doc.raw is None else doc.raw.decode("utf-8"),
            "created": entry(doc.data, where.keys[:-1], where.keys[-1]) is None,
        }
    if record is None:
        return
    record["written"] = _sha(after)
    _record_path(where.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write(_record_path(where.path), json.dumps(record, indent=2).encode(), private=True)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
