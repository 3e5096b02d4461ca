"""Upstream faults, client faults and bad input: answered as the provider would, never a hang."""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest
from headroom import Config, Headroom
from headroom_proxy import ProxySettings, create_app


def test_an_upstream_that_is_down(kit: Any, store_url: str) -> None:
    nobody = f"http://127.0.0.1:{kit.free_port()}"
    hr = Headroom(Config(store=store_url), source="proxy")
    proxy = kit.Server(create_app(settings=ProxySettings(openai_url=f"{nobody}/v1", anthropic_url=nobody),
                                  headroom=hr))  # fmt: skip
    try:
        client = openai.OpenAI(base_url=f"{proxy.url}/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert failed.value.status_code == 502
        assert "upstream unreachable" in failed.value.message
        claude = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as refused:
            claude.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        assert refused.value.status_code == 502
        assert refused.value.body["type"] == "error"  # type: ignore[index]  # Anthropic's error shape
    finally:
        proxy.stop()
        hr.close()


def test_a_slow_upstream_times_out(impatient_stack: Any) -> None:
    impatient_stack.fake.delay = 2.0
    client = openai.OpenAI(base_url=impatient_stack.openai_url, api_key="k", max_retries=0)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == 504
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("status", [429, 500])
def test_upstream_errors_reach_the_client_as_they_were(stack: Any, status: int) -> None:
    stack.fake.status = status
    client = openai.OpenAI(base_url=stack.openai_url, api_key="k", max_retries=0)
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert failed.value.status_code == status
    assert failed.value.body == {"message": "busy", "type": "server_error", "param": None, "code": None}
    claude = anthropic.Anthropic(base_url=stack.proxy.url, api_key="k", max_retries=0)
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
    client = openai.OpenAI(base_url=stack.openai_url, api_key="k", max_retries=0)
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
    client = openai.OpenAI(base_url=stack.openai_url, api_key="k", max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="m", messages=kit.chat_messages(log))
    assert reply.choices[0].message.content == "read it"
    sent = json.dumps(stack.fake.bodies("/v1/chat/completions")[-1])
    assert len(sent) * 100 < len(log)
