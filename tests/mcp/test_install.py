"""``headroom mcp install|uninstall`` against a temporary HOME holding the user's own configs (other MCP
servers, unrelated settings, comments): through the real pinned ``claude`` CLI when it is on PATH,
by editing the files when it is not, and Codex's ``config.toml``; the real CLIs then read what was
written, and the registered command starts a working MCP server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
from mcp import Client, StdioServerParameters

CLIENTS = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / ".bin"
needs_clients = pytest.mark.skipif(  # CI installs them (make test): there a missing CLI fails
    not os.environ.get("CI") and not ((CLIENTS / "claude").exists() and (CLIENTS / "codex").exists()),
    reason="the agent CLIs are not installed (make clients)",
)
TOOLS = {"headroom_compress", "headroom_retrieve", "headroom_stats", "memory_save", "memory_search"}
SYSTEM_PATH = "/usr/bin:/bin"  # no claude on it: the file path
CLAUDE_JSON = {  # as Claude Code writes it: two-space indent, no final newline
    "numStartups": 3,
    "theme": "dark",
    "mcpServers": {"docs": {"type": "stdio", "command": "npx", "args": ["-y", "docs-mcp"], "env": {}}},
    "projects": {
        "/elsewhere": {"allowedTools": [], "mcpServers": {"db": {"type": "http", "url": "http://db"}}}
    },
}
CODEX_TOML = """# my Codex settings
model = "gpt-6"  # the one I pay for

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

[profiles.fast]
model = "gpt-6-mini"
"""


def env_for(home: Path, *, clients: bool = False, **extra: str) -> dict[str, str]:
    """A clean environment on a temporary HOME (loopback only, no telemetry)."""
    path = f"{CLIENTS}{os.pathsep}{SYSTEM_PATH}" if clients else SYSTEM_PATH
    return {"PATH": path, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"),
            "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "NO_PROXY": "127.0.0.1,localhost", **extra}  # fmt: skip


def headroom(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headroom", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home" / "project").mkdir(parents=True)
    return tmp_path / "home"


def test_claude_user_scope_by_file_install_twice_and_uninstall_restore_the_bytes(home: Path) -> None:
    config = home / ".claude.json"
    mine = json.dumps(CLAUDE_JSON, indent=2).encode()
    config.write_bytes(mine)
    config.chmod(0o600)
    env, project = env_for(home), home / "project"
    dry = headroom(env, project, "mcp", "install", "claude", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert '+    "headroom": {' in dry.stdout  # the diff of what it would write
    assert config.read_bytes() == mine
    assert not (home / ".state").exists()  # not even the state directory
    done = headroom(env, project, "mcp", "install", "claude")
    assert done.returncode == 0, done.stderr
    data = json.loads(config.read_text())
    ours = data["mcpServers"]["headroom"]
    assert Path(ours["command"]).is_absolute()
    assert Path(ours["command"]).name == "headroom"
    assert ours["args"] == ["mcp", "serve"]
    assert ours["env"] == {}
    assert {k: v for k, v in data.items() if k != "mcpServers"} == {
        k: v for k, v in CLAUDE_JSON.items() if k != "mcpServers"}  # fmt: skip
    assert data["mcpServers"]["docs"] == CLAUDE_JSON["mcpServers"]["docs"]
    assert config.read_text().startswith('{\n  "numStartups": 3,')  # its layout kept
    assert config.stat().st_mode & 0o777 == 0o600
    written = config.read_bytes()
    again = headroom(env, project, "mcp", "install", "claude")
    assert "already installed" in again.stderr
    assert config.read_bytes() == written
    dry = headroom(env, project, "mcp", "uninstall", "claude", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert '-    "headroom": {' in dry.stdout
    assert config.read_bytes() == written
    removed = headroom(env, project, "mcp", "uninstall", "claude")
    assert removed.returncode == 0, removed.stderr
    assert config.read_bytes() == mine
    assert "nothing to remove" in headroom(env, project, "mcp", "uninstall", "claude").stderr


def test_an_edited_file_loses_only_our_entry_and_a_container_we_made(home: Path) -> None:
    """Claude Code rewrites ``~/.claude.json`` all the time: uninstall then takes out our entry alone,
    and the ``projects`` entry install made for the local scope, not the user's own."""
    config = home / ".claude.json"
    config.write_bytes(json.dumps(CLAUDE_JSON, indent=2).encode())
    env, project = env_for(home), home / "project"
    assert headroom(env, project, "mcp", "install", "claude", "--scope", "local").returncode == 0
    key = str(project)
    assert json.loads(config.read_text())["projects"][key]["mcpServers"]["headroom"]["args"] == [
        "mcp",
        "serve",
    ]
    data = json.loads(config.read_text())
    data["numStartups"] = 4  # Claude Code started since
    config.write_text(json.dumps(data, indent=2))
    assert headroom(env, project, "mcp", "uninstall", "claude", "--scope", "local").returncode == 0
    assert json.loads(config.read_text()) == {**CLAUDE_JSON, "numStartups": 4, "projects": {
        "/elsewhere": CLAUDE_JSON["projects"]["/elsewhere"], key: {}}}  # fmt: skip
    user = {"mcpServers": {}}  # the user's own empty container stays
    config.write_text(json.dumps(user))
    assert headroom(env, project, "mcp", "install", "claude").returncode == 0
    config.write_text(config.read_text() + " ")  # edited since: no byte restore
    assert headroom(env, project, "mcp", "uninstall", "claude").returncode == 0
    assert json.loads(config.read_text()) == user


def test_project_scope_writes_mcp_json_at_the_git_root_and_removes_a_file_it_made(home: Path) -> None:
    project = home / "project"
    (project / ".git").mkdir()
    (project / "src").mkdir()
    env = env_for(home)
    done = headroom(env, project / "src", "mcp", "install", "claude", "--scope", "project")
    assert done.returncode == 0, done.stderr
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["headroom"]["args"] == [
        "mcp",
        "serve",
    ]
    assert not (project / "src" / ".mcp.json").exists()
    assert headroom(env, project / "src", "mcp", "uninstall", "claude", "-s", "project").returncode == 0
    assert not (project / ".mcp.json").exists()  # it did not exist before install


def test_an_explicit_store_is_passed_and_a_foreign_entry_is_refused_without_force(home: Path) -> None:
    env, project = env_for(home), home / "project"
    done = headroom(env, project, "--store", "sqlite:///mine.db", "mcp", "install", "claude")
    assert done.returncode == 0, done.stderr
    config = home / ".claude.json"
    assert json.loads(config.read_text())["mcpServers"]["headroom"]["env"] == {
        "HEADROOM_STORE": f"sqlite:///{project}/mine.db"}  # fmt: skip
    updated = headroom(env, project, "mcp", "install", "claude")  # another store: the entry is updated
    assert "updated" in updated.stderr
    assert json.loads(config.read_text())["mcpServers"]["headroom"]["env"] == {}
    theirs = {"mcpServers": {"headroom": {"command": "node", "args": ["headroom-cloud.js"]}}}
    config.write_text(json.dumps(theirs))
    for action in ("install", "uninstall"):
        refused = headroom(env, project, "mcp", action, "claude")
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert "node headroom-cloud.js" in refused.stderr
        assert "--force" in refused.stderr
        assert json.loads(config.read_text()) == theirs
    assert headroom(env, project, "mcp", "install", "claude", "--force").returncode == 0
    assert json.loads(config.read_text())["mcpServers"]["headroom"]["args"] == ["mcp", "serve"]


def refusal(home: Path, agent: str, name: str, text: str) -> str:
    """The one line ``mcp install`` refuses a config file ``text`` with; the file left as it was."""
    path = home / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    refused = headroom(env_for(home), home / "project", "mcp", "install", agent)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1  # one line, no traceback
    assert path.read_text() == text
    return refused.stderr


@pytest.mark.parametrize(
    ("agent", "name", "text"),
    [("claude", ".claude.json", "{not json"), ("codex", ".codex/config.toml", "[a\nb = ")],
)
def test_a_file_that_does_not_parse_is_refused_in_one_line(
    home: Path, agent: str, name: str, text: str
) -> None:
    said = refusal(home, agent, name, text)
    assert "is not valid" in said
    assert "nothing was changed" in said


def test_bad_arguments_are_one_line(home: Path) -> None:
    env, project = env_for(home), home / "project"
    local = headroom(env, project, "mcp", "install", "codex", "--scope", "local")
    assert local.returncode == 2  # a usage error, as click gives for an unknown choice
    assert local.stderr.startswith("headroom: Codex has no local scope; use --scope user or --scope project")
    assert local.stderr.count("\n") == 1
    unknown = headroom(env, project, "mcp", "install", "cursor")
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1


def test_codex_config_keeps_comments_and_tables_and_comes_back_byte_for_byte(home: Path) -> None:
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_TOML)
    env, project = env_for(home), home / "project"
    dry = headroom(env, project, "mcp", "install", "codex", "--dry-run")
    assert "+[mcp_servers.headroom]" in dry.stdout
    assert config.read_text() == CODEX_TOML
    done = headroom(env, project, "--store", "sqlite:////tmp/x.db", "mcp", "install", "codex")
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert text.startswith(CODEX_TOML.split("[profiles.fast]")[0])  # the comments and the other server
    assert text.endswith('\n\n[profiles.fast]\nmodel = "gpt-6-mini"\n')
    ours = tomllib.loads(text)["mcp_servers"]["headroom"]
    assert ours["args"] == ["mcp", "serve"]
    assert ours["env"] == {"HEADROOM_STORE": "sqlite:////tmp/x.db"}
    assert "already installed" in headroom(env, project, "--store", "sqlite:////tmp/x.db", "mcp", "install",
                                           "codex").stderr  # fmt: skip
    assert headroom(env, project, "mcp", "uninstall", "codex").returncode == 0
    assert config.read_text() == CODEX_TOML
    env["CODEX_HOME"] = str(home / "elsewhere")
    assert headroom(env, project, "mcp", "install", "codex").returncode == 0
    assert tomllib.loads((home / "elsewhere" / "config.toml").read_text())["mcp_servers"]["headroom"]
    assert headroom(env, project, "mcp", "uninstall", "codex").returncode == 0
    assert not (home / "elsewhere" / "config.toml").exists()


def registered(entry: dict[str, Any], home: Path) -> set[str]:
    """The tools of the server an entry registers, started the way the agent starts it."""
    env = {"HOME": str(home), "PATH": SYSTEM_PATH, **entry.get("env", {})}  # no virtualenv activated
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd="/")

    async def main() -> set[str]:
        async with Client(params) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    return asyncio.run(main())


def test_the_registered_command_starts_a_working_server(home: Path) -> None:
    env, project = env_for(home), home / "project"
    assert (
        headroom(env, project, "--store", f"sqlite:///{home}/s.db", "mcp", "install", "codex").returncode == 0
    )
    entry = tomllib.loads((home / ".codex" / "config.toml").read_text())["mcp_servers"]["headroom"]
    assert registered(entry, home) >= TOOLS


@needs_clients
def test_claude_through_its_cli_in_each_scope(home: Path) -> None:
    """With ``claude`` on PATH, install and uninstall go through ``claude mcp add`` / ``remove``;
    ``claude mcp get`` then sees the server (and connects to it: a health check)."""
    config = home / ".claude.json"
    config.write_text(json.dumps(CLAUDE_JSON, indent=2))
    env, project = env_for(home, clients=True), home / "project"
    dry = headroom(env, project, "mcp", "install", "claude", "--dry-run")
    assert "claude mcp add -s user headroom -- " in dry.stdout
    assert dry.stdout.rstrip().endswith(" mcp serve)")
    assert config.read_text() == json.dumps(CLAUDE_JSON, indent=2)
    for scope in ("user", "local", "project"):
        done = headroom(env, project, "mcp", "install", "claude", "--scope", scope)
        assert done.returncode == 0, done.stderr
        assert "through claude mcp add" in done.stderr
        assert "already installed" in headroom(env, project, "mcp", "install", "claude", "-s", scope).stderr
    got = subprocess.run([str(CLIENTS / "claude"), "mcp", "get", "headroom"], env=env, cwd=project,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert "mcp serve" in got.stdout
    data = json.loads(config.read_text())
    assert data["mcpServers"]["docs"] == CLAUDE_JSON["mcpServers"]["docs"]  # the others kept
    assert data["projects"]["/elsewhere"] == CLAUDE_JSON["projects"]["/elsewhere"]
    assert registered(data["mcpServers"]["headroom"], home) >= TOOLS
    for scope in ("user", "local", "project"):
        done = headroom(env, project, "mcp", "uninstall", "claude", "--scope", scope)
        assert done.returncode == 0, done.stderr
    data = json.loads(config.read_text())
    assert data["mcpServers"] == CLAUDE_JSON["mcpServers"]
    assert "headroom" not in data["projects"][str(project)].get("mcpServers", {})
    assert json.loads((project / ".mcp.json").read_text()) == {"mcpServers": {}}  # as claude leaves it


@needs_clients
def test_codex_sees_the_installed_server(home: Path) -> None:
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_TOML)
    env, project = env_for(home, clients=True), home / "project"
    assert headroom(env, project, "mcp", "install", "codex").returncode == 0
    listed = subprocess.run([str(CLIENTS / "codex"), "mcp", "get", "headroom", "--json"], env=env,
                            cwd=project, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    transport = json.loads(listed.stdout)["transport"]
    assert transport["type"] == "stdio"
    assert transport["args"] == ["mcp", "serve"]
    assert Path(transport["command"]).name == "headroom"
    names = subprocess.run([str(CLIENTS / "codex"), "mcp", "list", "--json"], env=env, cwd=project,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert {s["name"] for s in json.loads(names.stdout)} == {"docs", "headroom"}


def test_install_does_not_import_the_mcp_sdk(home: Path) -> None:
    """The SDK takes over a second to import: ``headroom mcp install`` (and the ``headroom`` CLI's start)
    must not pay for it, only ``serve`` does."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "headroom", "mcp", "install", "codex",
                           "--dry-run"], env=env_for(home), cwd=home / "project", capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "tomlkit" in modules  # the measurement sees the imports
    assert not {m for m in modules if m == "mcp" or m.startswith("mcp.")}


@pytest.mark.parametrize(
    ("agent", "name", "text"),
    [
        ("claude", ".claude.json", '{"mcpServers": ["docs"]}'),
        ("codex", ".codex/config.toml", "mcp_servers = 3\n"),
    ],
)
def test_servers_that_are_not_a_table_are_refused_in_one_line(
    home: Path, agent: str, name: str, text: str
) -> None:
    assert "is not a table of servers" in refusal(home, agent, name, text)


def test_codex_inline_and_dotted_servers_gain_ours_and_lose_it_byte_for_byte(home: Path) -> None:
    """Without the record of what install wrote (another machine's state, a cleared state dir), uninstall
    takes out our entry alone: the user's other servers, in whatever TOML form, as they were."""
    config = home / ".codex" / "config.toml"
    config.parent.mkdir()
    env, project = env_for(home), home / "project"
    for text in ('model = "x"\nmcp_servers = { docs = { command = "npx" } }\n',
                 'model = "x"\nmcp_servers.docs.command = "npx"\n',
                 '[mcp_servers]\n\n[mcp_servers.docs]\ncommand = "npx"\n'):  # fmt: skip
        config.write_text(text)
        assert headroom(env, project, "mcp", "install", "codex").returncode == 0
        data = tomllib.loads(config.read_text())["mcp_servers"]
        assert data["docs"] == {"command": "npx"}
        assert data["headroom"]["args"] == ["mcp", "serve"]
        shutil.rmtree(home / ".state")  # no record: the entry alone goes
        assert headroom(env, project, "mcp", "uninstall", "codex").returncode == 0
        assert config.read_text() == text
