"""``headroom init <agent>`` (durable routing through the proxy), ``--remove``, and ``headroom doctor``.

``init`` writes the agent's own settings: Claude Code the ``env`` block of ``~/.claude/settings.json``
(``--project``: ``.claude/settings.local.json``), Codex a ``headroom`` model provider selected in
``$CODEX_HOME/config.toml`` (a project's Codex config cannot set the provider). Both get a session-start
hook, ``headroom proxy --ensure``, which starts the proxy in the background when it is not running
and waits until it answers, so a new session never meets a stopped proxy (Codex runs a hook once the
user has trusted it: ``/hooks`` in Codex). A gateway the user routed the agent to becomes the
proxy's upstream (named in the hook's command), and the user is told.

Nothing is written without ``--apply``: the default shows the exact diff. The first apply keeps a
byte-exact backup of every file it changes and a record (in the user state directory) of what it
wrote; running it again changes nothing. ``--remove`` puts the backup back when the file is as
``init`` left it, and otherwise takes out only what ``init`` added (the rest of the user's edits stay).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ._agents import (
    CHATGPT_URL,
    PROVIDER_NAME,
    claude_config_dir,
    codex_chatgpt_login,
    codex_home,
    codex_provider,
    codex_user_provider,
    is_proxy,
    upstream_url,
)
from ._settings import ANTHROPIC_URL, OPENAI_URL
from ._wrap import health, state_dir

ENSURE = "proxy --ensure"  # how init's hook is recognised: its command runs ``headroom proxy --ensure``
HOOK_SECONDS = 90


@dataclass
class Change:
    path: Path
    before: bytes | None  # None: the file does not exist yet
    after: bytes


def ensure_command(port: int, openai: str = OPENAI_URL, anthropic: str = ANTHROPIC_URL) -> str:
    """The hook's command: this interpreter's ``headroom proxy --ensure`` with the upstreams."""
    parts = [sys.executable, "-m", "headroom", "proxy", "--ensure", "--port", str(port)]
    if openai != OPENAI_URL:
        parts += ["--openai-url", openai]
    if anthropic != ANTHROPIC_URL:
        parts += ["--anthropic-url", anthropic]
    return " ".join(shlex.quote(p) for p in parts)


def _ours(entry: Any) -> bool:
    hooks = entry.get("hooks") if isinstance(entry, dict) else None
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and ENSURE in str(h.get("command")) for h in hooks
    )


def _with_hook(hooks: Any, command: str) -> dict[str, Any]:
    """A hooks block with one SessionStart entry of ours (an existing one is kept as it is)."""
    out = dict(hooks) if isinstance(hooks, dict) else {}
    starts = list(out.get("SessionStart") or [])
    if not any(_ours(e) for e in starts):
        starts.append({"hooks": [{"type": "command", "command": command, "timeout": HOOK_SECONDS}]})
    out["SessionStart"] = starts
    return out


def _without_hook(hooks: Any) -> dict[str, Any]:
    out = dict(hooks) if isinstance(hooks, dict) else {}
    starts = [e for e in out.get("SessionStart") or [] if not _ours(e)]
    if starts:
        out["SessionStart"] = starts
    else:
        out.pop("SessionStart", None)
    return out


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _load_json(path: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise click.ClickException(
            f"{path} is not valid JSON ({exc}); fix it first, nothing was written"
        ) from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} does not hold a JSON object; nothing was written")
    return data


# --- Claude Code -----------------------------------------------------------------------------------------


def claude_settings_path(env: Mapping[str, str], cwd: Path, project: bool) -> Path:
    return cwd / ".claude" / "settings.local.json" if project else claude_config_dir(env) / "settings.json"


def claude_changes(
    env: Mapping[str, str], cwd: Path, project: bool, port: int
) -> tuple[list[Change], list[str]]:
    path = claude_settings_path(env, cwd, project)
    raw = _read(path)
    data = _load_json(path, raw)
    block = dict(data.get("env") or {})
    notes: list[str] = []
    gateway = block.get("ANTHROPIC_BASE_URL") or env.get("ANTHROPIC_BASE_URL")
    upstream = ANTHROPIC_URL
    if isinstance(gateway, str) and gateway and not is_proxy(gateway, port):
        upstream = gateway.rstrip("/")
        notes.append(f"Claude Code is routed to {gateway}; the proxy will forward there")
    block["ANTHROPIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    block.setdefault("ENABLE_TOOL_SEARCH", "true")  # a non-first-party base URL turns tool deferral off
    new = {
        **data,
        "env": block,
        "hooks": _with_hook(data.get("hooks"), ensure_command(port, anthropic=upstream)),
    }
    return [Change(path, raw, _json_bytes(new))], notes


def claude_removal(before: bytes, record: Mapping[str, Any]) -> bytes:
    data = json.loads(before)
    block = dict(data.get("env") or {})
    for key, value in (record.get("previous") or {}).items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value
    data["env"] = block
    if not block:
        data.pop("env")
    hooks = _without_hook(data.get("hooks"))
    if hooks:
        data["hooks"] = hooks
    else:
        data.pop("hooks", None)
    return _json_bytes(data)


# --- Codex CLI ---------------------------------------------------------------------------------------------


def codex_changes(
    env: Mapping[str, str], cwd: Path, project: bool, port: int
) -> tuple[list[Change], list[str]]:
    import tomlkit

    if project:
        raise click.ClickException(
            "a project's Codex config cannot set the model provider; run it without --project"
        )
    home = codex_home(env)
    path = home / "config.toml"
    raw = _read(path)
    try:
        doc = tomlkit.parse((raw or b"").decode("utf-8"))
    except Exception as exc:  # tomlkit's parse errors share no public base class
        raise click.ClickException(
            f"{path} is not valid TOML ({exc}); fix it first, nothing was written"
        ) from None
    config = doc.unwrap()
    notes: list[str] = []
    providers = doc.get("model_providers")
    routed = (
        doc.get("model_provider") == PROVIDER_NAME and providers is not None and PROVIDER_NAME in providers
    )
    own = codex_user_provider(config)
    if routed or is_proxy(config.get("openai_base_url"), port):
        hook_command = ensure_command(port)  # already routed: an existing hook of ours is kept
    elif own is None and codex_chatgpt_login(env):
        # a ChatGPT sign-in works with the built-in provider only: its base URL moves to the proxy
        doc["openai_base_url"] = f"http://127.0.0.1:{port}/v1"
        hook_command = ensure_command(port, openai=CHATGPT_URL)
        notes.append(f"Codex is signed in with ChatGPT; the proxy will forward to {CHATGPT_URL}")
    else:
        gateway = (
            own[1].get("base_url") if own else config.get("openai_base_url") or env.get("OPENAI_BASE_URL")
        )
        upstream = OPENAI_URL
        if isinstance(gateway, str) and gateway and not is_proxy(gateway, port):
            upstream = upstream_url("openai", gateway)
            notes.append(f"Codex is routed to {gateway}; the proxy will forward there")
        doc["model_provider"] = PROVIDER_NAME
        if providers is None:
            providers = tomlkit.table(is_super_table=True)
            doc["model_providers"] = providers
        providers[PROVIDER_NAME] = codex_provider(f"http://127.0.0.1:{port}/v1", config)
        hook_command = ensure_command(port, openai=upstream)
    changes = [Change(path, raw, tomlkit.dumps(doc).encode())]
    hooks_path = home / "hooks.json"
    hooks_raw = _read(hooks_path)
    hooks_data = _load_json(hooks_path, hooks_raw)
    hooks_new = {**hooks_data, "hooks": _with_hook(hooks_data.get("hooks"), hook_command)}
    changes.append(Change(hooks_path, hooks_raw, _json_bytes(hooks_new)))
    notes.append("Codex runs the start hook once you trust it: open /hooks in Codex and trust"
                 " `headroom proxy --ensure` (until then, start the proxy yourself)")  # fmt: skip
    return changes, notes


def codex_removal(before: bytes, record: Mapping[str, Any]) -> bytes:
    path = Path(str(record.get("path")))
    if path.name == "hooks.json":
        data = json.loads(before)
        data["hooks"] = _without_hook(data.get("hooks"))
        return _json_bytes(data)
    import tomlkit

    doc = tomlkit.parse(before.decode("utf-8"))
    for key in ("model_provider", "openai_base_url"):
        current = doc.get(key)
        if current != PROVIDER_NAME and not str(current).startswith("http://127.0.0.1:"):
            continue  # not what init wrote (the user's own, or nothing)
        previous = (record.get("previous") or {}).get(key)
        if previous is None:
            doc.pop(key, None)
        else:
            doc[key] = previous
    providers = doc.get("model_providers")
    if providers is not None and PROVIDER_NAME in providers:
        del providers[PROVIDER_NAME]
        if not providers:
            doc.pop("model_providers")
    return tomlkit.dumps(doc).encode()


def _previous(agent: str, change: Change) -> dict[str, Any]:
    """What ``init`` replaced in this file, for a removal after the user edited it."""
    if change.before is None:
        return {}
    if agent == "claude":
        block = (json.loads(change.before) or {}).get("env") or {}
        return {k: block.get(k) for k in ("ANTHROPIC_BASE_URL", "ENABLE_TOOL_SEARCH")}
    if change.path.suffix == ".toml":
        import tomlkit

        config = tomlkit.parse(change.before.decode()).unwrap()
        return {key: config.get(key) for key in ("model_provider", "openai_base_url")}
    return {}


INITS: dict[
    str, tuple[Callable[..., tuple[list[Change], list[str]]], Callable[[bytes, Mapping[str, Any]], bytes]]
] = {
    "claude": (claude_changes, claude_removal),
    "codex": (codex_changes, codex_removal),
}


# --- the record of what init wrote -----------------------------------------------------------------------


def _record_path(path: Path) -> Path:
    digest = hashlib.blake2b(str(path.resolve()).encode(), digest_size=8).hexdigest()
    return state_dir("init") / f"{path.name}-{digest}.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _diff(change: Change) -> str:
    before = (change.before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    after = change.after.decode("utf-8", "replace").splitlines(keepends=True)
    old = str(change.path) if change.before is not None else "/dev/null"
    return "".join(difflib.unified_diff(before, after, old, str(change.path)))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.headroom-tmp")
    temporary.write_bytes(data)
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o7777)
    temporary.replace(path)  # atomic: the agent never reads half a file


def apply(agent: str, changes: list[Change]) -> list[Path]:
    """Write ``changes`` with a backup and a record each (the first time a file is changed)."""
    written = []
    for change in changes:
        if change.before == change.after:
            continue
        record_path = _record_path(change.path)
        record = json.loads(record_path.read_text()) if record_path.exists() else None
        if record is None:
            backup = change.path.with_name(change.path.name + ".headroom-backup")
            if change.before is not None:
                _write(backup, change.before)
            record = {"path": str(change.path), "existed": change.before is not None, "backup": str(backup),
                      "previous": _previous(agent, change)}  # fmt: skip
        _write(change.path, change.after)
        record["written"] = _sha(change.after)
        record_path.write_text(json.dumps(record, indent=2))
        written.append(change.path)
    return written


def removal_changes(agent: str, paths: list[Path]) -> tuple[list[Change], list[str]]:
    """What ``--remove`` would write: each backup back, or (edited since) only init's entries out."""
    _, remove = INITS[agent]
    changes, notes = [], []
    for path in paths:
        record_path = _record_path(path)
        if not record_path.exists():
            continue
        record = json.loads(record_path.read_text())
        current = _read(path)
        if current is not None and _sha(current) == record.get("written"):
            backup = Path(record["backup"])
            restored = backup.read_bytes() if record["existed"] else None
            changes.append(Change(path, current, restored if restored is not None else b""))
        elif current is not None:
            changes.append(Change(path, current, remove(current, record)))
            notes.append(f"{path} was edited since init: only what init added is taken out")
    return changes, notes


def remove(changes: list[Change]) -> None:
    for change in changes:
        record_path = _record_path(change.path)
        record = json.loads(record_path.read_text())
        if not record["existed"] and _sha(change.before or b"") == record.get("written"):
            change.path.unlink(missing_ok=True)
        else:
            _write(change.path, change.after)
        Path(record["backup"]).unlink(missing_ok=True)
        record_path.unlink()


def agent_paths(agent: str, env: Mapping[str, str], cwd: Path, project: bool) -> list[Path]:
    if agent == "claude":
        return [claude_settings_path(env, cwd, project)]
    return [codex_home(env) / "config.toml", codex_home(env) / "hooks.json"]


@click.command()
@click.argument("agent", type=click.Choice(sorted(INITS)))
@click.option("--apply", "write", is_flag=True, help="Write the changes (default: show the diff only).")
@click.option("--remove", "undo", is_flag=True, help="Restore what init changed.")
@click.option("--project", is_flag=True, help="Claude Code: this project only (.claude/settings.local.json).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="Proxy port.")
def init(agent: str, write: bool, undo: bool, project: bool, port: int) -> None:
    """Route AGENT through the proxy for good (its own settings), or --remove it again."""
    env, cwd = dict(os.environ), Path.cwd()
    if undo:
        changes, notes = removal_changes(agent, agent_paths(agent, env, cwd, project))
        if not changes:
            click.echo(f"headroom: init has not changed {agent}'s settings; nothing to remove", err=True)
            return
    else:
        changes, notes = INITS[agent][0](env, cwd, project, port)
    changes = [c for c in changes if c.before != c.after]
    for note in notes:
        click.echo(f"headroom: {note}", err=True)
    if not changes:
        click.echo(f"headroom: {agent} is already routed through the proxy; nothing to change", err=True)
        return
    for change in changes:
        click.echo(_diff(change) or f"{change.path}: removed", nl=False)
    if not write:
        click.echo("headroom: a dry run; run it again with --apply to write this", err=True)
        return
    if undo:
        remove(changes)
        click.echo(f"headroom: restored {', '.join(str(c.path) for c in changes)}", err=True)
    else:
        written = apply(agent, changes)
        click.echo(f"headroom: wrote {', '.join(map(str, written))} (backups beside them as"
                   f" *.headroom-backup; `headroom init {agent} --remove --apply` restores them)",
                   err=True)  # fmt: skip


@click.command()
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="Proxy port.")
def doctor(port: int) -> None:
    """What routes the agents through the proxy, whether it is up, whether requests reach it."""
    env, cwd = dict(os.environ), Path.cwd()
    found = health(port)
    ok = found is not None
    click.echo(f"proxy on http://127.0.0.1:{port}: " + (f"up (version {found['version']}, upstreams "
               f"{found.get('upstreams')})" if found else "not running"))  # fmt: skip
    places = [("claude", claude_settings_path(env, cwd, project)) for project in (True, False)]
    places += [("codex", path) for path in agent_paths("codex", env, cwd, False)]
    for agent, path in places:
        text = (_read(path) or b"").decode("utf-8", "replace")
        what = (["routed through the proxy"] if f"127.0.0.1:{port}" in text else []) + (
            ["start hook"] if ENSURE in text else [])  # fmt: skip
        if what:
            click.echo(f"{agent}: {path}: {', '.join(what)}")
    if found is not None:
        click.echo(f"requests it has served since it started: {found.get('requests', 0)}")
    else:
        click.echo("start it with `headroom proxy`, or let `headroom wrap <agent>` start it")
    sys.exit(0 if ok else 1)
