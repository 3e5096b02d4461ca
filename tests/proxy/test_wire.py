"""What the proxy's responses look like on the wire: headers once, bodiless requests bodiless, the
root answered by the proxy, and what it logs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import openai
import pytest

from .test_flows import retrieve


def test_each_response_carries_one_date_and_one_server_header(kit: Any, stack: Any) -> None:
    stack.fake.script = [kit.Text("hi")]
    with httpx.Client(base_url=stack.proxy.url) as client:
        compressed = client.post("/v1/chat/completions", headers={"authorization": "Bearer k"},
                                 json={"model": "m", "messages": kit.chat_messages(kit.app_log())})  # fmt: skip
        forwarded = client.get("/v1/models", headers={"authorization": "Bearer k"})
    for reply in (compressed, forwarded):
        assert reply.status_code == 200
        assert len(reply.headers.get_list("date")) == 1
        assert len(reply.headers.get_list("server")) == 1


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_a_bodiless_request_goes_upstream_without_a_body(stack: Any, method: str) -> None:
    with httpx.Client(base_url=stack.proxy.url) as client:
        client.request(method, "/v1/models", headers={"authorization": "Bearer k"})
    if method != "GET":
        return  # the fake answers GET only; what it received is checked on GET
    path, headers, _ = stack.fake.received[-1]
    assert path == "/v1/models"
    assert "transfer-encoding" not in headers
    assert headers.get("content-length") in (None, "0")


def test_a_body_on_a_passthrough_is_streamed_through(stack: Any) -> None:
    with httpx.Client(base_url=stack.proxy.url) as client:
        reply = client.post("/v1/files", headers={"authorization": "Bearer k"}, content=b'{"purpose":"x"}')
    assert reply.status_code == 200
    path, _, body = stack.fake.received[-1]
    assert path == "/v1/files"
    assert body == {"purpose": "x"}


def test_the_root_is_answered_by_the_proxy(stack: Any) -> None:
    """Claude Code's start-up reachability check (HEAD / with no provider headers) never reaches
    the OpenAI upstream."""
    with httpx.Client(base_url=stack.proxy.url) as client:
        head = client.head("/", headers={"user-agent": "claude-cli/2.1"})
        get = client.get("/")
    assert head.status_code == 200
    assert get.json()["status"] == "ok"
    assert stack.fake.received == []


def test_retrieval_rounds_are_logged_without_bodies(
    kit: Any, stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="headroom")
    log = kit.app_log(seed=21)
    stack.fake.script = [retrieve(kit), kit.Text("done")]
    client = openai.OpenAI(base_url=stack.openai_url, api_key="sk-secret", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    rounds = [r.getMessage() for r in caplog.records if "retrieval round" in r.getMessage()]
    assert rounds == [
        "headroom proxy: openai_chat gpt-4o: retrieval round 1, 1 call(s) answered from the store"
    ]
    assert not any("sk-secret" in r.getMessage() or "payment" in r.getMessage() for r in caplog.records)


def test_a_rejected_follow_up_is_logged(kit: Any, stack: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="headroom")
    ask = retrieve(kit)

    def then_refuse(body: dict[str, Any]) -> Any:
        stack.fake.status = 400  # the follow-up that carries the answer is refused
        return ask(body)

    stack.fake.script = [then_refuse]
    client = openai.OpenAI(base_url=stack.openai_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(kit.app_log(seed=22)))
    assert any("upstream answered 400 to the follow-up after retrieval round 1" in r.getMessage()
               for r in caplog.records)  # fmt: skip
