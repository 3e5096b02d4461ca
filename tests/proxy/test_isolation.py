"""No conversation ever sees another's content: owed answers and Responses state are keyed by the
conversation and the credential, kept in the store (several proxy processes share them), and
``scope="credential"`` confines originals to the API key that produced them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from .conftest import sdk

QUERY = "payment card_declined"

SECRET = "the-original-line-only-client-a-ever-sent"


def _log(kit: Any, seed: int) -> str:
    lines = kit.app_log(seed=seed).splitlines()
    lines.insert(len(lines) // 2, f"2024-01-01 12:00:00 ERROR payment card_declined {SECRET}")
    return "\n".join(lines)


def _mixed(kit: Any, key: str = "messages") -> Any:
    """A model turn that calls headroom_retrieve and the client's own tool together."""

    def reply(body: dict[str, Any]) -> Any:
        ref = kit.REF.search(json.dumps(body[key]))
        assert ref
        return kit.Calls(
            [("headroom_retrieve", {"ref": ref[1], "query": QUERY}), ("run_tests", {"path": "."})]
        )

    return reply


def _chat_history(messages: list[Any], turn: Any) -> list[Any]:
    return [
        *messages,
        turn.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": turn.tool_calls[0].id, "content": "tests pass"},
    ]


def test_a_replayed_chat_history_under_another_key_gets_nothing_of_the_first(kit: Any, stack: Any) -> None:
    messages = kit.chat_messages(_log(kit, 21))
    stack.fake.script = [_mixed(kit), kit.Text("done"), kit.Text("done"), kit.Text("done")]
    a = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-a", max_retries=0)
    turn = a.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message
    assert turn.tool_calls
    assert turn.tool_calls[0].id == "call_1"  # the fake's ids are reused by design
    history = _chat_history(messages, turn)

    b = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-b", max_retries=0)
    own = _chat_history(kit.chat_messages(kit.app_log(seed=31)), turn)  # B's own log, the same ids
    b.chat.completions.create(model="gpt-4o", messages=own)
    assert SECRET not in json.dumps(stack.fake.bodies("/v1/chat/completions")[-1])
    b.chat.completions.create(model="gpt-4o", messages=history)  # A's history replayed by B
    assert _ours(stack.fake.bodies("/v1/chat/completions")[-1]) == []
    other = [{"role": "user", "content": "something else"}, *history[1:]]
    a.chat.completions.create(model="gpt-4o", messages=other)  # A's key, another conversation
    assert _ours(stack.fake.bodies("/v1/chat/completions")[-1]) == []
    a.chat.completions.create(model="gpt-4o", messages=history)  # A's own conversation: answered
    assert _ours(stack.fake.bodies("/v1/chat/completions")[-1]) == ["headroom_retrieve"]


def _ours(body: dict[str, Any]) -> list[str]:
    """The names of the retrieval calls in a chat body's history."""
    return [c["function"]["name"] for m in body["messages"] for c in m.get("tool_calls") or ()
            if c["function"]["name"] == "headroom_retrieve"]  # fmt: skip


def test_a_replayed_anthropic_history_under_another_key_gets_nothing(kit: Any, stack: Any) -> None:
    messages = kit.anthropic_messages(_log(kit, 22))
    stack.fake.script = [_mixed(kit), kit.Text("done"), kit.Text("done")]
    a = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="key-a", max_retries=0)
    reply = a.messages.create(model="claude-x", max_tokens=100, messages=messages)  # type: ignore[arg-type]
    uses = [b for b in reply.content if b.type == "tool_use"]
    history = [
        *messages,
        {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "ok"}]},
    ]
    b = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="key-b", max_retries=0)
    b.messages.create(model="claude-x", max_tokens=100, messages=history)  # type: ignore[arg-type]
    sent = stack.fake.bodies("/v1/messages")[-1]["messages"]
    assert [b["name"] for b in sent[3]["content"] if b["type"] == "tool_use"] == ["run_tests"]
    # Claude Code moves its cache marker to the newest turn: the conversation is still recognised
    history[2]["content"][0]["cache_control"] = {"type": "ephemeral"}
    a.messages.create(model="claude-x", max_tokens=100, messages=history)  # type: ignore[arg-type]
    sent = stack.fake.bodies("/v1/messages")[-1]["messages"]
    assert [b["name"] for b in sent[3]["content"] if b["type"] == "tool_use"][-1] == "headroom_retrieve"
    assert SECRET in json.dumps(sent[4])


def test_another_keys_previous_response_id_carries_nothing(kit: Any, stack: Any) -> None:
    stack.fake.script = [_mixed(kit, "input"), kit.Text("done"), kit.Text("done")]
    a = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-a", max_retries=0)
    first = a.responses.create(model="gpt-4o", input=kit.responses_input(_log(kit, 23)))  # type: ignore[arg-type]
    call = next(o for o in first.output if o.type == "function_call")
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "tests pass"}
    b = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-b", max_retries=0)
    b.responses.create(model="gpt-4o", previous_response_id=first.id, input=[output])  # type: ignore[list-item]
    sent = stack.fake.bodies("/v1/responses")[-1]
    assert sent["input"] == [output]  # forwarded as B sent it: the provider refuses B's access itself
    assert SECRET not in json.dumps(sent)
    a.responses.create(model="gpt-4o", previous_response_id=first.id, input=[output])  # type: ignore[list-item]
    assert SECRET in json.dumps(stack.fake.bodies("/v1/responses")[-1])


@pytest.mark.parametrize("scoped", [False, True])
def test_credential_scope_keeps_a_ref_from_another_key(kit: Any, store_url: str, scoped: bool) -> None:
    stack = kit.make_stack(store_url, scope="credential" if scoped else "shared")
    try:
        log = _log(kit, 24)
        a = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-a", max_retries=0)
        stack.fake.script = [kit.Text("noted")]
        a.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
        ref = kit.REF.search(json.dumps(stack.fake.bodies("/v1/chat/completions")[-1]))
        assert ref
        # B names A's ref in its own messages (with a tool result long enough to be compressed)
        b = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="key-b", max_retries=0)
        stack.fake.script = [kit.Calls([("headroom_retrieve", {"ref": ref[1]})]), kit.Text("ok")]
        messages = kit.chat_messages(kit.app_log(seed=25))
        messages[0]["content"] = f"see [… 3 lines omitted; headroom_retrieve ref={ref[1]}]"
        b.chat.completions.create(model="gpt-4o", messages=messages)
        answer = stack.fake.bodies("/v1/chat/completions")[-1]["messages"][-1]["content"]
        assert (SECRET in answer) is not scoped
        # under A's own key the ref is always answered
        stack.fake.script = [kit.Calls([("headroom_retrieve", {"ref": ref[1]})]), kit.Text("ok")]
        a.chat.completions.create(model="gpt-4o", messages=[*kit.chat_messages(log),
                                                             {"role": "user", "content": "again"}])  # fmt: skip
        assert SECRET in stack.fake.bodies("/v1/chat/completions")[-1]["messages"][-1]["content"]
    finally:
        kit.stop(stack)


def _proxy_process(kit: Any, upstream: str, store: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = kit.free_port()
    env = {**os.environ, "HEADROOM_STORE": store}
    with open(tmp / f"proxy-{port}.log", "wb") as log:  # the child keeps its own descriptor
        command = [
            "proxy",
            "--port",
            str(port),
            "--openai-url",
            f"{upstream}/v1",
            "--anthropic-url",
            upstream,
        ]
        process = subprocess.Popen(
            [sys.executable, "-m", "headroom", *command], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError((tmp / f"proxy-{port}.log").read_text())


def test_two_proxy_processes_on_one_store_share_the_conversation_state(
    kit: Any, store_url: str, tmp_path: Path
) -> None:
    fake = kit.Fake()
    upstream = kit.Server(kit.fake_upstream(fake))
    processes = [_proxy_process(kit, upstream.url, store_url, tmp_path) for _ in range(2)]
    try:
        (_, one), (_, two) = processes
        first = sdk(openai.OpenAI, base_url=f"{one}/v1", api_key="key-a", max_retries=0)
        second = sdk(openai.OpenAI, base_url=f"{two}/v1", api_key="key-a", max_retries=0)
        messages = kit.chat_messages(_log(kit, 26))
        fake.script = [_mixed(kit), kit.Text("done"), kit.Text("done")]
        turn = first.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message
        history = _chat_history(messages, turn)
        second.chat.completions.create(model="gpt-4o", messages=history)
        first.chat.completions.create(model="gpt-4o", messages=history)
        a, b = fake.bodies("/v1/chat/completions")[-2:]
        assert a["messages"] == b["messages"]  # the same insertion, whichever process served it
        assert SECRET in json.dumps(a["messages"])

        fake.script = [_mixed(kit, "input"), kit.Text("done")]
        started = first.responses.create(model="gpt-4o", input=kit.responses_input(_log(kit, 27)))  # type: ignore[arg-type]
        call = next(o for o in started.output if o.type == "function_call")
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "tests pass"}
        second.responses.create(model="gpt-4o", previous_response_id=started.id, input=[output])  # type: ignore[list-item]
        ours, theirs = fake.bodies("/v1/responses")[-1]["input"]
        assert SECRET in ours["output"]
        assert theirs == output
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(timeout=10)
        upstream.stop()
