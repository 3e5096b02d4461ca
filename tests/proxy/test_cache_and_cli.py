"""Prompt-cache safety through the proxy, and the ``headroom proxy`` command."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import openai
from click.testing import CliRunner

from .conftest import sdk


def canonical(items: list[Any]) -> list[str]:
    return [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items]


def test_a_growing_conversation_keeps_its_prefix(kit: Any, stack: Any) -> None:
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    tools = [{"type": "function", "function": {"name": "read_logs", "description": "Read logs.",
                                               "parameters": {"type": "object", "properties": {}}}}]  # fmt: skip
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are an SRE."}]
    for turn in range(20):
        output = (
            kit.app_log(lines=300 + 40 * turn, seed=turn)
            if turn % 3
            else kit.api_records(count=60 + turn, seed=turn)
        )
        messages += [
            {"role": "user", "content": f"Step {turn}: what failed?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"c{turn}", "type": "function", "function": {"name": "read_logs", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": f"c{turn}", "content": output},
        ]  # fmt: skip
        stack.fake.script = [kit.Text(f"answer {turn}")]
        reply = client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)  # type: ignore[arg-type]
        messages.append({"role": "assistant", "content": reply.choices[0].message.content})
    sent = stack.fake.bodies("/v1/chat/completions")
    assert len(sent) == 20
    for before, after in itertools.pairwise(sent):
        assert canonical(after["messages"])[: len(before["messages"])] == canonical(before["messages"])
        assert after["tools"] == before["tools"]  # the retrieve tool sits last, byte for byte the same
    assert sent[-1]["tools"][-1]["function"]["name"] == "headroom_retrieve"
    count = stack.headroom.tokenizer().count
    assert count(json.dumps(sent[-1])) * 5 < count(json.dumps(messages))


def test_recent_results_reach_the_model_whole_and_age_in_batches(kit: Any, fresh_stack: Any) -> None:
    client = sdk(openai.OpenAI, base_url=fresh_stack.openai_url, api_key="k", max_retries=0)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What failed?"}]
    outputs = [kit.app_log(lines=300, seed=turn) for turn in range(6)]
    for turn, output in enumerate(outputs):
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"c{turn}", "type": "function", "function": {"name": "read_logs", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": f"c{turn}", "content": output},
        ]  # fmt: skip
        fresh_stack.fake.script = [kit.Text(f"answer {turn}")]
        client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    sent = fresh_stack.fake.bodies("/v1/chat/completions")
    for body, turn in zip(sent, range(6), strict=True):
        shown = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        assert shown[-2:] == outputs[max(turn - 1, 0) : turn + 1]  # the newest two reach the model whole
        assert all(len(text) * 5 < len(outputs[0]) for text in shown[:-2])  # older ones compressed
    changed = sum(canonical(after["messages"])[: len(before["messages"])] != canonical(before["messages"])
                  for before, after in itertools.pairwise(sent))  # fmt: skip
    assert changed == 4  # one batch step per turn here (fresh_batch=1); none before a result aged


def test_the_proxy_command_comes_from_its_entry_point() -> None:
    (script,) = entry_points(group="console_scripts", name="headroom")  # the installed ``headroom`` command
    result = CliRunner().invoke(script.load(), ["proxy", "--help"])
    assert result.exit_code == 0, result.output
    for flag in ("--host", "--port", "--openai-url", "--anthropic-url", "--store", "--workers"):
        assert flag in result.output
    listed = subprocess.run(
        [sys.executable, "-m", "headroom", "--help"], capture_output=True, text=True, check=True
    )
    assert "proxy" in listed.stdout


def test_health(stack: Any) -> None:
    import httpx

    reply = httpx.get(f"{stack.proxy.url}/health")
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"


def test_a_network_bind_needs_allow_remote(tmp_path: Any) -> None:
    from headroom_proxy._cli import _loopback, proxy

    assert all(_loopback(host) for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"))
    for host in ("0.0.0.0", "::", "192.168.1.7", "example.com"):
        refused = CliRunner().invoke(proxy, ["--host", host])
        assert refused.exit_code == 2, refused.output
        assert "--allow-remote" in refused.output
        assert "Traceback" not in refused.output
    # with --allow-remote a network bind goes ahead, with a warning; the port is already taken, so
    # uvicorn stops right after the warning instead of listening
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        started = subprocess.run(
            [sys.executable, "-m", "headroom", "proxy", "--host", "0.0.0.0", "--allow-remote", "--port", port,
             "--store", f"sqlite:///{tmp_path / 's.db'}"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert "anyone who can reach it" in started.stderr
    assert started.returncode != 0  # the taken port, not the host, stopped it
