"""The agent table behind ``wrap`` and ``init``: where each agent's gateway is read and how one run is
routed (the real clients run in ``test_agents.py``; aider's routing is checked here by its table)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import tomllib
from headroom_proxy._agents import AGENTS, CHATGPT_URL, toml_inline, upstream_url
from headroom_proxy._wrap import upstreams_for

MCP = "http://127.0.0.1:9999/mcp"  # the proxy's MCP endpoint, registered for each wrapped run
# the wrapped agent's project (the tests run in this repository): its notes' default scope
HEADERS = {"X-Headroom-Project": str(Path(__file__).resolve().parents[2])}
CLAUDE_MCP = "--mcp-config=" + json.dumps(
    {"mcpServers": {"headroom": {"type": "http", "url": MCP, "headers": HEADERS}}}
)
CODEX_MCP = ["-c", "mcp_servers.headroom=" + toml_inline({"url": MCP, "http_headers": HEADERS})]
ROUTES = {"openai": "http://127.0.0.1:9999/v1", "anthropic": "http://127.0.0.1:9999"}


def test_aider_is_routed_by_its_variables_and_keeps_its_gateway(tmp_path: Path) -> None:
    aider = AGENTS["aider"]
    args = ["--model", "gpt-4o", "--openai-api-base", "https://gw.example/openai/v1", "--yes"]
    env = {"HOME": str(tmp_path), "ANTHROPIC_API_BASE": "https://gw.example/anthropic"}
    found = aider.gateways(env, tmp_path, args)
    assert found["openai"].url == "https://gw.example/openai/v1"
    assert found["openai"].where == "the command line (--openai-api-base)"
    upstreams, taken = upstreams_for(aider, found, 9999)
    assert upstreams == {
        "openai": "https://gw.example/openai/v1",
        "anthropic": "https://gw.example/anthropic",
    }
    assert len(taken) == 2
    extra, out = aider.launch(ROUTES, env, args, found)
    assert extra == {"OPENAI_API_BASE": ROUTES["openai"], "ANTHROPIC_API_BASE": ROUTES["anthropic"]}
    assert out == ["--model", "gpt-4o", "--yes"]  # its own base flag would bypass the proxy


def test_claude_gets_settings_for_the_run_only_when_a_file_sets_the_url(tmp_path: Path) -> None:
    claude = AGENTS["claude"]
    env = {"HOME": str(tmp_path), "ANTHROPIC_BASE_URL": "https://gw.example"}
    found = claude.gateways(env, tmp_path, [])
    assert found["anthropic"].where == "the environment (ANTHROPIC_BASE_URL)"
    extra, args = claude.launch(ROUTES, env, ["-p", "hi"], found)
    assert extra == {"ANTHROPIC_BASE_URL": ROUTES["anthropic"], "ENABLE_TOOL_SEARCH": "true"}
    assert args == [CLAUDE_MCP, "-p", "hi"]
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.local.json").write_text(
        json.dumps({"env": {"ANTHROPIC_BASE_URL": "https://b"}})
    )
    found = claude.gateways(env, tmp_path, [])
    assert found["anthropic"].url == "https://b"  # a settings file beats the environment
    _, args = claude.launch(ROUTES, {**env, "ENABLE_TOOL_SEARCH": "false"}, ["-p", "hi"], found)
    settings = json.dumps({"env": {"ANTHROPIC_BASE_URL": ROUTES["anthropic"]}})
    assert args == [CLAUDE_MCP, "--settings", settings, "-p", "hi"]
    _, args = claude.launch(ROUTES, env, ["mcp", "list"], found)
    assert args == ["mcp", "list"]  # a subcommand takes neither


def test_codex_copies_the_users_provider_and_keeps_a_chatgpt_sign_in_on_the_builtin(tmp_path: Path) -> None:
    codex = AGENTS["codex"]
    home = tmp_path / ".codex"
    home.mkdir()
    env = {"HOME": str(tmp_path)}
    (home / "config.toml").write_text('model_provider = "corp"\n[model_providers.corp]\nname = "Corp"\n'
                                      'base_url = "https://gw.example"\nenv_key = "CORP_KEY"\n'
                                      'http_headers = { "x-team" = "a\\"b" }\n')  # fmt: skip
    found = codex.gateways(env, tmp_path, [])
    assert upstreams_for(codex, found, 9999)[0] == {"openai": "https://gw.example/v1"}  # a bare host gets /v1
    _, args = codex.launch(ROUTES, env, ["exec", "hi"], found)
    assert args[:2] == ["-c", 'model_provider="headroom"']
    table = tomllib.loads(args[3])["model_providers"]["headroom"]
    assert table == {"name": "Corp", "base_url": ROUTES["openai"], "env_key": "CORP_KEY",
                     "http_headers": {"x-team": 'a"b'}, "wire_api": "responses"}  # fmt: skip
    assert args[4:] == [*CODEX_MCP, "exec", "hi"]
    assert tomllib.loads(CODEX_MCP[1])["mcp_servers"]["headroom"] == {"url": MCP, "http_headers": HEADERS}
    (home / "config.toml").write_text("")
    (home / "auth.json").write_text(json.dumps({"auth_mode": "chatgpt", "tokens": {"id_token": "x"}}))
    found = codex.gateways(env, tmp_path, [])
    assert found["openai"].url == CHATGPT_URL
    assert upstreams_for(codex, found, 9999)[0] == {"openai": CHATGPT_URL}  # a path of its own: kept
    _, args = codex.launch(ROUTES, env, ["exec", "hi"], found)
    assert args == ["-c", f'openai_base_url="{ROUTES["openai"]}"', *CODEX_MCP, "exec", "hi"]
    (home / "config.toml").write_text(
        '[mcp_servers.headroom]\ncommand = "headroom"\nargs = ["mcp", "serve"]\n'
    )
    _, args = codex.launch(ROUTES, env, ["exec", "hi"], codex.gateways(env, tmp_path, []))
    assert "-c" in args
    assert CODEX_MCP[1] not in args


@pytest.mark.parametrize("url", ["http://127.0.0.1:9999", "http://127.0.0.1:9999/v1"])
def test_a_base_url_that_is_the_proxy_itself_is_no_gateway(tmp_path: Path, url: str) -> None:
    claude = AGENTS["claude"]
    found = claude.gateways({"HOME": str(tmp_path), "ANTHROPIC_BASE_URL": url}, tmp_path, [])
    upstreams, taken = upstreams_for(claude, found, 9999)
    assert upstreams == {"anthropic": "https://api.anthropic.com"}
    assert taken == []


def test_toml_inline_reads_back_as_it_was_written() -> None:
    table = {"name": 'H\u00e9 \\ "q"', "n": 3, "on": True, "list": ["a", 1], "t": {"k": "v"}}
    assert tomllib.loads(f"x = {toml_inline(table)}")["x"] == table
    assert upstream_url("anthropic", "https://gw.example/") == "https://gw.example"


def test_init_codex_signed_in_with_chatgpt_moves_the_builtin_base_url(tmp_path: Path) -> None:
    import subprocess

    home = tmp_path / "home"
    codex = home / ".codex"
    codex.mkdir(parents=True)
    (codex / "auth.json").write_text(json.dumps({"auth_mode": "chatgpt", "tokens": {"id_token": "x"}}))
    config = codex / "config.toml"
    config.write_bytes(b'model = "gpt-6"  # mine\n')
    env = {"HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}

    def init(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "headroom", "init", "codex", "--port", "9999", *args],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip

    applied = init("--apply")
    assert applied.returncode == 0, applied.stderr
    assert f"the proxy will forward to {CHATGPT_URL}" in applied.stderr
    written = tomllib.loads(config.read_text())
    assert written == {"model": "gpt-6", "openai_base_url": "http://127.0.0.1:9999/v1"}  # no provider
    hooks = json.loads((codex / "hooks.json").read_text())["hooks"]["SessionStart"]
    assert f"--openai-url {CHATGPT_URL}" in hooks[0]["hooks"][0]["command"]
    assert init("--remove", "--apply").returncode == 0
    assert config.read_bytes() == b'model = "gpt-6"  # mine\n'


def test_the_project_header_is_the_one_the_mcp_server_reads() -> None:
    from headroom_mcp._server import PROJECT_HEADER as READ
    from headroom_proxy._agents import PROJECT_HEADER

    assert PROJECT_HEADER.lower() == READ.lower()  # HTTP header names are case-insensitive


def test_the_mcp_server_gets_the_project_of_the_run_and_none_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src").mkdir()
    (tmp_path / "loose").mkdir()
    env = {"HOME": str(tmp_path)}
    for where, headers in (("repo/src", {"X-Headroom-Project": str(tmp_path / "repo")}), ("loose", None)):
        monkeypatch.chdir(tmp_path / where)
        _, args = AGENTS["claude"].launch(ROUTES, env, ["-p", "hi"], {})
        server = json.loads(args[0].removeprefix("--mcp-config="))["mcpServers"]["headroom"]
        assert server.get("headers") == headers
        _, args = AGENTS["codex"].launch(ROUTES, env, ["exec", "hi"], {})
        table = tomllib.loads(args[args.index("-c", 4) + 1])["mcp_servers"]["headroom"]
        assert table == {"url": MCP, **({"http_headers": headers} if headers else {})}
