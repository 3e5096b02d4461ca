"""Upstream faults, client faults and bad input: answered as the provider would, never a hang."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest
from headroom import Config, Headroom
from headroom_proxy import ProxySettings, create_app

from .conftest import sdk


def test_an_upstream_that_is_down(kit: Any, store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="headroom")
    nobody = f"http://127.0.0.1:{kit.free_port()}"
    hr = Headroom(Config(store=store_url), source="proxy")
    proxy = kit.Server(create_app(settings=ProxySettings(openai_url=f"{nobody}/v1", anthropic_url=nobody),
                                  headroom=hr))  # fmt: skip
    try:
        client = sdk(openai.OpenAI, base_url=f"{proxy.url}/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert failed.value.status_code == 502
        assert "upstream unreachable" in failed.value.message
        claude = sdk(anthropic.Anthropic, base_url=proxy.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as refused:
            claude.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert refused.value.status_code == 502
        assert refused.value.body["type"] == "error"  # type: ignore[index]  # Anthropic's error shape
        failures = [r.getMessage() for r in caplog.records if "-> 502" in r.getMessage()]
        assert failures == ["headroom proxy: POST /v1/chat/completions -> 502, upstream unreachable: "
                            + failures[0].split("upstream unreachable: ", 1)[1],
                            failures[1]]  # fmt: skip
        assert "POST /v1/messages -> 502" in failures[1]
        assert all("hi" not in f and f != "k" for f in failures)  # no body, no key
    finally:
        proxy.stop()
        hr.close()


def test_a_slow_upstream_times_out(impatient_stack: Any) -> None:
    impatient_stack.fake.delay = 2.0
    client = sdk(openai.OpenAI, base_url=impatient_stack.openai_url, api_key="k", max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == 504
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("status", [429, 500])
def test_upstream_errors_reach_the_client_as_they_were(stack: Any, status: int) -> None:
    stack.fake.status = status
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == status
    assert failed.value.body == {"message": "busy", "type": "server_error", "param": None, "code": None}
    claude = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as refused:
        claude.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert refused.value.status_code == status


@pytest.mark.parametrize("with_retrieval", [False, True])
def test_a_stream_that_breaks_off_ends_with_an_error(kit: Any, stack: Any, with_retrieval: bool) -> None:
    messages = kit.chat_messages(kit.app_log()) if with_retrieval else [{"role": "user", "content": "hi"}]
    stack.fake.script = [kit.Text("a long answer in many words")]
    stack.fake.fail_after = 3
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    with pytest.raises(openai.APIError, match="upstream stream failed"):
        for _ in client.chat.completions.create(model="m", messages=messages, stream=True):
            pass


def test_a_client_that_leaves_cancels_the_upstream_stream(kit: Any, stack: Any) -> None:
    stack.fake.script = [kit.Text(" ".join(f"word{i}" for i in range(200)))]
    stack.fake.event_delay = 0.05
    body = {"model": "m", "stream": True, "messages": kit.chat_messages(kit.app_log())}
    with httpx.Client(timeout=10) as client, client.stream("POST", f"{stack.openai_url}/chat/completions",
                                                           json=body) as response:  # fmt: skip
        for _ in response.iter_bytes():
            break  # read one chunk, then hang up
    deadline = time.monotonic() + 5
    while not stack.fake.cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.fake.cancelled == [True]  # the upstream stream stopped before its end


def test_malformed_json_is_forwarded_as_it_came(stack: Any) -> None:
    raw = b'{"model": "m", "messages": [oops'
    reply = httpx.post(f"{stack.openai_url}/chat/completions", content=raw,
                       headers={"content-type": "application/json"})  # fmt: skip
    assert reply.status_code == 400  # the upstream's own answer
    assert stack.fake.received[-1][2] == raw.decode()


def test_a_50_mb_body(kit: Any, stack: Any) -> None:
    block = kit.app_log(lines=2000)
    log = block * (50 * 2**20 // len(block) + 1)
    stack.fake.script = [kit.Text("read it")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="m", messages=kit.chat_messages(log))
    assert reply.choices[0].message.content == "read it"
    sent = json.dumps(stack.fake.bodies("/v1/chat/completions")[-1])
    assert len(sent) * 100 < len(log)


def test_a_malformed_answer_naming_our_tool_is_forwarded_as_it_came(kit: Any, stack: Any) -> None:
    """An upstream 200 whose JSON mentions headroom_retrieve in a shape we cannot read."""
    malformed = json.dumps({"id": "x", "choices": [{"message": {"tool_calls": [5, "headroom_retrieve"]}}]})
    stack.fake.script = [kit.Raw(malformed.encode())]
    reply = httpx.post(f"{stack.openai_url}/chat/completions", timeout=30,
                       json={"model": "m", "messages": kit.chat_messages(kit.app_log(seed=40))})  # fmt: skip
    assert reply.status_code == 200
    assert reply.content == malformed.encode()


def test_odd_shapes_in_a_history_are_forwarded_not_failed(kit: Any, stack: Any) -> None:
    """Requests that would work without us never fail with us (`"tool_calls": 5`, non-dict messages)."""
    log = kit.app_log(seed=41)
    odd = [
        [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": 5},
         {"role": "tool", "tool_call_id": "c1", "content": log}],
        [5, None, {"role": "assistant", "content": None, "tool_calls": [5, {"id": 3}]},
         {"role": "tool", "tool_call_id": "c1", "content": log}],
    ]  # fmt: skip
    for messages in odd:
        stack.fake.script = [kit.Text("fine")]
        reply = httpx.post(f"{stack.openai_url}/chat/completions", json={"model": "m", "messages": messages},
                           timeout=30)  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == "fine"


@pytest.mark.parametrize(
    "bad",
    [
        '{"type": "content_block_delta", "index": "zero", "delta": 7}',
        '{"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": 5}}',
        "[1, 2, 3]",
        "{not json",
        '{"type": "content_block_stop", "index": null}',
    ],
)
def test_a_malformed_stream_event_during_a_retrieval_never_cuts_the_stream(
    kit: Any, stack: Any, bad: str
) -> None:
    head = {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
            "content": [], "model": "m", "stop_reason": None, "usage": {"input_tokens": 1}}}  # fmt: skip
    use = {"type": "content_block_start", "index": 0,
           "content_block": {"type": "tool_use", "id": "t9", "name": "headroom_retrieve", "input": {}}}  # fmt: skip
    chunks = [f"event: message_start\ndata: {json.dumps(head)}\n\n",
              f"event: content_block_start\ndata: {json.dumps(use)}\n\n",
              f"event: content_block_delta\ndata: {bad}\n\n",
              'event: message_stop\ndata: {"type": "message_stop"}\n\n']  # fmt: skip
    stack.fake.script = [kit.Raw([c.encode() for c in chunks]), kit.Text("after")]
    body = {
        "model": "m",
        "max_tokens": 10,
        "stream": True,
        "messages": kit.anthropic_messages(kit.app_log(seed=42)),
    }
    reply = httpx.post(f"{stack.proxy.url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"},
                       timeout=30)  # fmt: skip
    assert reply.status_code == 200
    last = [line for line in reply.text.splitlines() if line.startswith("event: ")][-1]
    assert last in ("event: message_stop", "event: error")  # a whole stream, or one the SDK reads as failed


def test_a_broken_plain_stream_ends_with_the_providers_own_error_event(kit: Any, stack: Any) -> None:
    stack.fake.fail_after = 2
    reply = httpx.post(f"{stack.openai_url}/chat/completions", timeout=30,
                       json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    tail = reply.text.strip().splitlines()[-1]
    assert tail.startswith("data: ")
    error = json.loads(tail[len("data: ") :])
    assert set(error) == {"error"}  # OpenAI's shape, not Anthropic's {"type": "error", ...}
    assert error["error"]["type"] == "api_error"


def _raw(url: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> Any:
    """A request sent as written: ``http.client`` neither normalises the path nor merges headers."""
    import http.client

    parsed = httpx.URL(url)
    conn = http.client.HTTPConnection(parsed.host, parsed.port, timeout=5)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in [*headers, ("content-length", str(len(body)))]:
            conn.putheader(name, value)
        conn.endheaders(body)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/v1/../../etc/passwd", "/v1/%2e%2e/%2E%2E/etc/passwd", "/v1/./models",
                                  "/v1/chat/completions/..", "/v1/messages/%2e%2e/x"])  # fmt: skip
def test_a_path_that_climbs_out_of_the_base_path_is_refused(stack: Any, path: str) -> None:
    chat = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, body = _raw(stack.proxy.url, "POST", path, [("authorization", "Bearer k")], chat)
    assert status == 400
    assert "segments" in json.dumps(body)
    assert body.get("type") == "error" or "error" in body  # the provider's error shape
    status, _ = _raw(stack.proxy.url, "GET", path, [("authorization", "Bearer k")])
    assert status == 400
    assert stack.fake.received == []  # nothing reached the upstream


@pytest.mark.parametrize("header", ["authorization", "x-api-key", "api-key"])
def test_a_credential_sent_twice_is_refused(stack: Any, header: str) -> None:
    chat = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    twice = [(header, "Bearer first"), (header, "Bearer second"), ("content-type", "application/json")]
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/models"):
        status, body = _raw(stack.proxy.url, "POST" if "models" not in path else "GET", path, twice, chat)
        assert status == 400, path
        assert "more than once" in json.dumps(body)
    assert stack.fake.received == []
    status, body = _raw(stack.proxy.url, "POST", "/v1/chat/completions", twice[1:], chat)
    assert status == 200  # one credential header goes through as before
