"""The real coding agents through ``headroom wrap``: Claude Code and Codex CLI (``tests/clients``, pinned
by ``make clients``), headless, against the fake provider on loopback. The scripted model runs a
command with a large output, reads it compressed, retrieves with a query (the proxy answers it) and
answers; what the provider received is checked, and the user's own files are left as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from headroom.integration import MARKER_RE

from .conftest import SIGNATURE
from .test_flows import QUERY, REF

CLIENTS = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / ".bin"
pytestmark = pytest.mark.skipif(  # CI installs them (make test): there a missing CLI fails
    not os.environ.get("CI") and not ((CLIENTS / "claude").exists() and (CLIENTS / "codex").exists()),
    reason="the agent CLIs are not installed (make clients)",
)


def agent_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: a temporary HOME, loopback only, no telemetry, the pinned CLIs first."""
    return {
        "PATH": f"{CLIENTS}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        **extra,
    }


def wrap(
    env: dict[str, str], cwd: Path, port: int, agent: str, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "headroom", "wrap", "--port", str(port), agent, "--", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)  # fmt: skip


def workspace(tmp_path: Path, kit: Any) -> tuple[Path, Path, str]:
    """(HOME, the project directory, the log) with ``./emit.sh`` printing the log."""
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    log = kit.app_log(lines=1000, seed=31)  # 80,000 characters, 33,000 tokens
    (project / "app.log").write_text(log)
    script = project / "emit.sh"
    script.write_text('#!/bin/sh\ncat "$(dirname "$0")/app.log"\n')
    script.chmod(0o755)
    return home, project, log


def retrieval(kit: Any, thinking: str = "") -> Any:
    def reply(body: dict[str, Any]) -> Any:
        found = REF.search(json.dumps(body.get("messages") or body.get("input")))
        assert found, "the request after the command carries no retrieve marker"
        return kit.Calls([("headroom_retrieve", {"ref": found[1], "query": QUERY})], thinking=thinking)

    return reply


def matching(log: str) -> list[str]:
    return [line for line in log.splitlines() if all(w in line.lower() for w in QUERY.split())]


def test_claude_code_through_wrap_with_thinking(kit: Any, tmp_path: Path) -> None:
    home, project, log = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    fake.script = [
        kit.Calls([("Bash", {"command": "./emit.sh", "description": "print the log"})], thinking="Run it."),
        retrieval(kit, thinking="The card lines."),
        kit.Text("Card declines at the gateway."),
    ]
    settings = home / ".claude" / "settings.json"  # the user routes Claude Code to a gateway already
    settings.parent.mkdir()
    # Claude Code keeps up to bashOutputMaxChars of a command's output inline (30,000 by default)
    user = {"env": {"ANTHROPIC_BASE_URL": upstream.url}, "bashOutputMaxChars": 128000, "theme": "dark"}
    mine = json.dumps(user, indent=2).encode()
    settings.write_bytes(mine)
    port = kit.free_port()
    try:
        done = wrap(agent_env(home, ANTHROPIC_API_KEY="sk-ant-test"), project, port, "claude",
                    "-p", "Why are payments failing?", "--allowedTools", "Bash", "--output-format", "json")  # fmt: skip
    finally:
        upstream.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "Card declines at the gateway."
    assert f"routed to {upstream.url}" in done.stderr  # the user's gateway became the upstream, and said so
    assert settings.read_bytes() == mine
    first, second, third = fake.bodies("/v1/messages")
    assert first["thinking"]["type"] in ("adaptive", "enabled")
    # the proxy's MCP server reached Claude Code for this run: its tools are listed, deferred (tool search)
    assert "\\nmcp__headroom__headroom_retrieve\\n" in json.dumps(first)
    assert all("headroom_stats" not in t["name"] for t in first["tools"])
    sent = json.dumps(second["messages"], ensure_ascii=False)
    assert MARKER_RE.search(sent)  # the command's output went compressed
    assert len(sent) * 5 < len(log)
    assert [t["name"] for t in second["tools"]][-1] == "headroom_retrieve"
    assert third["messages"][: len(second["messages"])] == second["messages"]  # the prefix stays
    turn = third["messages"][len(second["messages"])]
    assert turn["content"][0] == {"type": "thinking", "thinking": "The card lines.", "signature": SIGNATURE}
    answer = json.dumps(third["messages"][-1])
    assert all(line in json.loads(answer)["content"][0]["content"] for line in matching(log))
    assert health_gone(port)  # the proxy wrap started stopped with its only agent


def test_claude_code_retrieves_through_the_proxys_mcp_server(kit: Any, tmp_path: Path) -> None:
    """Without tool search the MCP tools are listed in full: the proxy adds no retrieve tool of its own
    (one per request), and the model's calls reach the proxy's ``/mcp`` through Claude Code: the
    retrieve answers from the proxy's store, and a saved note belongs to the wrapped run's project
    (``X-Headroom-Project``). A ``headroom`` server the user installed is shadowed for the run (its
    command does not even exist here)."""
    home, project, log = workspace(tmp_path, kit)
    subprocess.run(["git", "init", "-q", str(project)], check=True, capture_output=True)
    installed = {"mcpServers": {"headroom": {"type": "stdio", "command": str(tmp_path / "gone" / "headroom"),
                                             "args": ["mcp", "serve"], "env": {}}}}  # fmt: skip
    (home / ".claude.json").write_text(json.dumps(installed))
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))

    def retrieve(body: dict[str, Any]) -> Any:
        found = REF.search(json.dumps(body["messages"]))
        assert found, "the request after the command carries no retrieve marker"
        return kit.Calls([("mcp__headroom__headroom_retrieve", {"ref": found[1], "query": QUERY})])

    save = kit.Calls([("mcp__headroom__memory_save", {"text": "Payments fail on card declines."})])
    fake.script = [kit.Calls([("Bash", {"command": "./emit.sh", "description": "print the log"})]), retrieve,
                   save, kit.Text("Card declines.")]  # fmt: skip
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps({"bashOutputMaxChars": 128000}))
    port = kit.free_port()
    env = claude_env(home, upstream) | {"ENABLE_TOOL_SEARCH": "false"}
    try:
        done = wrap(env, project, port, "claude", "-p", "Why are payments failing?", "--allowedTools", "Bash",
                    "mcp__headroom__headroom_retrieve", "mcp__headroom__memory_save", "--output-format",
                    "json")  # fmt: skip
    finally:
        upstream.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == "Card declines."
    _, second, third, fourth = fake.bodies("/v1/messages")
    assert MARKER_RE.search(json.dumps(second["messages"], ensure_ascii=False))
    names = [t["name"] for t in second["tools"]]
    assert [n for n in names if n.endswith("headroom_retrieve")] == ["mcp__headroom__headroom_retrieve"]
    answer = tool_result(third, "mcp__headroom__headroom_retrieve")
    assert all(json.dumps(line)[1:-1] in answer for line in matching(log))  # the store's lines, via /mcp
    note = tool_result(fourth, "mcp__headroom__memory_save")
    assert json.dumps(str(project.resolve()))[1:-1] in note  # the project header reached the server
    assert health_gone(port)
    assert json.loads((home / ".claude.json").read_text())["mcpServers"] == installed["mcpServers"]


def tool_result(body: dict[str, Any], name: str) -> str:
    """The JSON of the result of the last call of tool ``name`` in an Anthropic request."""
    blocks = [b for m in body["messages"] if isinstance(m.get("content"), list) for b in m["content"]]
    call = [b for b in blocks if b.get("type") == "tool_use" and b["name"] == name][-1]
    return json.dumps(next(b["content"] for b in blocks if b.get("type") == "tool_result"
                           and b["tool_use_id"] == call["id"]))  # fmt: skip


def health_gone(port: int) -> bool:
    import httpx

    try:
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    except httpx.HTTPError:
        return True
    return False


CODEX_CONFIG = """model_provider = "corp"

[model_providers.corp]
name = "Corp gateway"
base_url = "{url}/v1"
env_key = "CORP_KEY"
wire_api = "responses"
"""


def test_codex_through_wrap_stateless_with_a_mixed_turn(kit: Any, tmp_path: Path) -> None:
    """Codex sends ``store: false`` and its whole input on every request; the model asks for a
    retrieval and a command in one turn: our call is answered in the history Codex sends next."""
    home, project, log = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))

    def both(body: dict[str, Any]) -> Any:
        found = REF.search(json.dumps(body["input"]))
        assert found, "the request after the command carries no retrieve marker"
        return kit.Calls([("headroom_retrieve", {"ref": found[1], "query": QUERY}),
                          ("exec_command", {"cmd": "echo checked"})])  # fmt: skip

    fake.script = [kit.Calls([("exec_command", {"cmd": "./emit.sh"})]), both, kit.Text("Card declines.")]
    # a repository: wrap's MCP entry carries http_headers (X-Headroom-Project), which Codex must accept
    subprocess.run(["git", "init", "-q", str(project)], check=True, capture_output=True)
    codex_home = home / ".codex"
    codex_home.mkdir()
    config = codex_home / "config.toml"
    mine = CODEX_CONFIG.format(url=upstream.url).encode()
    config.write_bytes(mine)
    port = kit.free_port()
    try:
        done = wrap(agent_env(home, CORP_KEY="corp-secret"), project, port, "codex",
                    "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
                    "Why are payments failing?")  # fmt: skip
    finally:
        upstream.stop()
    assert done.returncode == 0, done.stderr
    assert "Card declines." in done.stdout
    assert config.read_bytes() == mine
    first, second, third = fake.bodies("/v1/responses")
    headers = [h for p, h, _ in fake.received if p == "/v1/responses"]
    assert all(h["authorization"] == "Bearer corp-secret" for h in headers)  # the user's provider's key
    assert all(b["store"] is False and "previous_response_id" not in b for b in (first, second, third))
    assert MARKER_RE.search(json.dumps(second["input"], ensure_ascii=False))
    assert [t.get("name") for t in second["tools"]][-1] == "headroom_retrieve"
    # Codex connected to the proxy's MCP server for this run: its namespace is offered (deferred)
    assert "- mcp__headroom: Headroom keeps long tool output small." in json.dumps(first)
    ours = [i for i in third["input"] if i.get("name") == "headroom_retrieve"]
    assert len(ours) == 1  # put back into the turn that lost it
    output = next(i for i in third["input"] if i.get("type") == "function_call_output"
                  and i["call_id"] == ours[0]["call_id"])  # fmt: skip
    shown = [line for line in matching(log) if line in output["output"]]  # Codex cut the middle itself
    assert len(shown) >= len(matching(log)) // 3
    assert health_gone(port)


def claude_env(home: Path, upstream: Any) -> dict[str, str]:
    return agent_env(home, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=upstream.url)


def claude_setup(kit: Any, tmp_path: Path) -> tuple[Path, Any, Any, int, dict[str, str]]:
    """(the project, the fake, its server, a free port, Claude Code's environment routed to the fake)."""
    home, project, _ = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    return project, fake, upstream, kit.free_port(), claude_env(home, upstream)


def start_wrap(env: dict[str, str], cwd: Path, port: int, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "headroom", "wrap", "--port", str(port), "claude", "--", *args]
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def wait_healthy(port: int, seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while health_gone(port):
        assert time.monotonic() < deadline, "no proxy came up"
        time.sleep(0.1)


def test_wrapped_agents_share_one_proxy_that_stops_with_the_last(kit: Any, tmp_path: Path) -> None:
    project, fake, upstream, port, env = claude_setup(kit, tmp_path)
    fake.together = 2  # the first model call is answered once the second has come (both agents run at
    fake.held = [0.0, 8.0]  # once), the second 8 s later: the first agent ends while the second still runs
    first = second = None
    try:
        first = start_wrap(env, project, port, "-p", "one")
        wait_healthy(port)
        second = start_wrap(env, project, port, "-p", "two")
        code, _, err = finish(first)
        assert code == 0, err
        assert not health_gone(port)  # the second agent still uses it
        code, _, err = finish(second)
        assert code == 0, err
        assert "started the proxy" not in err  # it reused the running one
        assert health_gone(port)
    finally:
        for wrapped in (first, second):  # a failed assertion leaves no agent running into other tests
            if wrapped is not None and wrapped.poll() is None:
                wrapped.kill()
                wrapped.communicate(timeout=30)
        upstream.stop()
    prompts = [json.dumps(b["messages"][0]) for b in fake.bodies("/v1/messages")]
    assert len(prompts) == 2, prompts
    assert any('"one"' in p for p in prompts)
    assert any('"two"' in p for p in prompts)


def test_a_proxy_the_user_started_is_reused_and_left_running(kit: Any, tmp_path: Path) -> None:
    project, fake, upstream, port, env = claude_setup(kit, tmp_path)
    theirs = subprocess.Popen([sys.executable, "-m", "headroom", "proxy", "--port", str(port),
                               "--anthropic-url", upstream.url], env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_healthy(port)
        done = wrap(env, project, port, "claude", "-p", "hello")
        assert done.returncode == 0, done.stderr
        assert "started the proxy" not in done.stderr
        assert not health_gone(port)
        assert len(fake.bodies("/v1/messages")) == 1
        unwrapped = subprocess.run([sys.executable, "-m", "headroom", "unwrap", "--port", str(port)],
                                   env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert unwrapped.returncode == 0
        assert "not started by wrap; left running" in unwrapped.stderr
        assert not health_gone(port)
    finally:
        theirs.terminate()
        theirs.wait(timeout=30)
        upstream.stop()


def test_a_port_held_by_another_service_is_one_line_not_a_traceback(kit: Any, tmp_path: Path) -> None:
    home, project, _ = workspace(tmp_path, kit)
    upstream = kit.Server(kit.fake_upstream(kit.Fake()))
    try:
        port = int(upstream.url.rsplit(":", 1)[1])
        done = wrap(claude_env(home, upstream), project, port, "claude", "-p", "hello")
    finally:
        upstream.stop()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"headroom: port {port} is in use by something that is not headroom proxy; pass --port"
    )


def test_the_agents_exit_status_and_signals_pass_through(kit: Any, tmp_path: Path) -> None:
    import signal

    project, fake, upstream, port, env = claude_setup(kit, tmp_path)
    try:
        bad = wrap(env, project, port, "claude", "--no-such-flag")
        assert bad.returncode == 1  # Claude Code's own status for an unknown option
        assert "no-such-flag" in bad.stderr
        fake.delay = 30.0  # the model never answers in time: the user gives up
        running = start_wrap(env, project, port, "-p", "hello")
        wait_healthy(port)
        import time

        deadline = time.monotonic() + 30
        while not fake.received and time.monotonic() < deadline:
            time.sleep(0.1)
        running.send_signal(signal.SIGTERM)  # passed on to the agent, which ends
        code, _, _ = finish(running)
        assert code in (143, 1, 130), code  # the agent's status: killed by SIGTERM or its own error exit
        assert health_gone(port)
    finally:
        upstream.stop()


def headroom(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headroom", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


def stop_proxy(port: int) -> None:
    import signal

    import httpx

    try:
        pid = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["pid"]
    except httpx.HTTPError:
        return
    os.kill(pid, signal.SIGTERM)


def test_claude_code_after_init_starts_the_stopped_proxy_and_remove_restores(
    kit: Any, tmp_path: Path
) -> None:
    """``init`` routes Claude Code for good; a new session with the proxy stopped still works (the
    start hook brings it up), and ``--remove`` gives the user's file back byte for byte."""
    home, project, _ = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = b'{"env": {"ANTHROPIC_BASE_URL": "%s"}, "permissions": {"allow": ["Bash(ls:*)"]}}\n' % (
        upstream.url.encode())  # fmt: skip
    settings.write_bytes(mine)
    port = kit.free_port()
    env = agent_env(home, ANTHROPIC_API_KEY="sk-ant-test")
    try:
        dry = headroom(env, project, "init", "claude", "--port", str(port))
        assert dry.returncode == 0
        assert '+    "ANTHROPIC_BASE_URL": "http://127.0.0.1:' in dry.stdout  # the exact diff
        assert settings.read_bytes() == mine  # a dry run writes nothing
        assert headroom(env, project, "init", "claude", "--port", str(port), "--apply").returncode == 0
        written = settings.read_bytes()
        again = headroom(env, project, "init", "claude", "--port", str(port), "--apply")
        assert "nothing to change" in again.stderr
        assert settings.read_bytes() == written  # idempotent
        assert health_gone(port)  # the proxy is not running when the session starts
        done = subprocess.run([str(CLIENTS / "claude"), "-p", "hello"], env=env, cwd=project,
                              capture_output=True, text=True, timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == "done"  # the fake's answer, through the proxy the hook started
        assert not health_gone(port)
        assert fake.bodies("/v1/messages")
        doctor = headroom(env, project, "doctor", "--port", str(port))
        assert doctor.returncode == 0
        assert "routed through the proxy, start hook" in doctor.stdout
        assert "requests it has served since it started: 1" in doctor.stdout
        removed = headroom(env, project, "init", "claude", "--remove", "--apply")
        assert removed.returncode == 0, removed.stderr
        assert settings.read_bytes() == mine
        assert not (settings.parent / "settings.json.headroom-backup").exists()
    finally:
        stop_proxy(port)
        upstream.stop()


def test_codex_init_writes_a_provider_and_a_hook_and_remove_restores(kit: Any, tmp_path: Path) -> None:
    home, project, _ = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    codex_home = home / ".codex"
    codex_home.mkdir()
    config = codex_home / "config.toml"
    mine = ("# my settings\n" + CODEX_CONFIG.format(url=upstream.url)).encode()
    config.write_bytes(mine)
    port = kit.free_port()
    env = agent_env(home, CORP_KEY="corp-secret")
    try:
        applied = headroom(env, project, "init", "codex", "--port", str(port), "--apply")
        assert applied.returncode == 0, applied.stderr
        assert f"routed to {upstream.url}/v1" in applied.stderr
        assert "/hooks" in applied.stderr  # Codex asks the user to trust the hook once
        text = config.read_text()
        assert text.startswith("# my settings\n")  # the user's file, comments and all, kept
        assert 'model_provider = "headroom"' in text
        assert f'base_url = "http://127.0.0.1:{port}/v1"' in text
        assert (codex_home / "hooks.json").exists()
        assert (
            "nothing to change"
            in headroom(env, project, "init", "codex", "--port", str(port), "--apply").stderr
        )
        done = subprocess.run([str(CLIENTS / "codex"), "exec", "--skip-git-repo-check",
                               "--dangerously-bypass-hook-trust", "hello"], env=env, cwd=project,
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "done" in done.stdout  # through the proxy its start hook brought up
        sent = [h for p, h, _ in fake.received if p == "/v1/responses"]
        assert sent
        assert all(h["authorization"] == "Bearer corp-secret" for h in sent)
        removed = headroom(env, project, "init", "codex", "--remove", "--apply")
        assert removed.returncode == 0, removed.stderr
        assert config.read_bytes() == mine
        assert not (codex_home / "hooks.json").exists()  # it did not exist before init
    finally:
        stop_proxy(port)
        upstream.stop()


def test_remove_after_the_user_edited_the_file_takes_out_only_what_init_added(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    settings = project / ".claude" / "settings.local.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"env": {"ANTHROPIC_BASE_URL": "https://gw.example/a", "FOO": "1"}}))
    env = agent_env(home)
    assert headroom(env, project, "init", "claude", "--project", "--apply").returncode == 0
    edited = json.loads(settings.read_text())
    edited["model"] = "opus"  # the user's own change after init
    settings.write_text(json.dumps(edited))
    removed = headroom(env, project, "init", "claude", "--project", "--remove", "--apply")
    assert removed.returncode == 0, removed.stderr
    assert "edited since init" in removed.stderr
    assert json.loads(settings.read_text()) == {
        "env": {"ANTHROPIC_BASE_URL": "https://gw.example/a", "FOO": "1"}, "model": "opus"}  # fmt: skip
    bad = tmp_path / "bad"
    (bad / ".claude").mkdir(parents=True)
    (bad / ".claude" / "settings.local.json").write_text("{not json")
    refused = headroom(env, bad, "init", "claude", "--project", "--apply")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1  # one line, no traceback
    assert "is not valid JSON" in refused.stderr
    assert (bad / ".claude" / "settings.local.json").read_text() == "{not json"


def chatgpt_sign_in(codex_home: Path) -> None:
    """An ``auth.json`` as ``codex login`` leaves it for a ChatGPT plan (tokens that expire in 2100)."""
    import base64
    from datetime import datetime, timezone

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"exp": 4102444800, "email": "dev@example.com",
              "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acc-1"}}  # fmt: skip
    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.signature"
    tokens = {"id_token": token, "access_token": token, "refresh_token": "r", "account_id": "acc-1"}
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    auth = {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "tokens": tokens, "last_refresh": now}
    (codex_home / "auth.json").write_text(json.dumps(auth))


def test_codex_signed_in_with_chatgpt_through_wrap(kit: Any, tmp_path: Path) -> None:
    """A ChatGPT sign-in keeps the built-in provider (its base URL moves to the proxy) and sends its
    bodies zstd-encoded: they are read, compressed and retrieved from like any other."""
    home, project, _ = workspace(tmp_path, kit)
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    fake.script = [
        kit.Calls([("exec_command", {"cmd": "./emit.sh"})]),
        retrieval(kit),
        kit.Text("Card declines."),
    ]
    codex_home = home / ".codex"
    codex_home.mkdir()
    chatgpt_sign_in(codex_home)
    config = codex_home / "config.toml"
    mine = f'openai_base_url = "{upstream.url}/backend-api/codex"\n'.encode()  # the user's own gateway
    config.write_bytes(mine)
    port = kit.free_port()
    try:
        done = wrap(agent_env(home), project, port, "codex", "exec", "--skip-git-repo-check",
                    "--dangerously-bypass-approvals-and-sandbox", "Why are payments failing?")  # fmt: skip
    finally:
        upstream.stop()
    assert done.returncode == 0, done.stderr
    assert "Card declines." in done.stdout
    assert config.read_bytes() == mine
    sent = [(h, b) for p, h, b in fake.received if p == "/backend-api/codex/responses"]
    assert len(sent) == 3
    assert all(h["chatgpt-account-id"] == "acc-1" and "content-encoding" not in h for h, _ in sent)
    assert MARKER_RE.search(json.dumps(sent[1][1]["input"], ensure_ascii=False))  # read, then compressed
    assert [t.get("name") for t in sent[1][1]["tools"]][-1] == "headroom_retrieve"
