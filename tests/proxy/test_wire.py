"""What the proxy's responses look like on the wire: headers once, bodiless requests bodiless, the
root answered by the proxy, and what it logs."""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import httpx
import openai
import pytest

from .conftest import sdk
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
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-secret", max_retries=0)
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
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(kit.app_log(seed=22)))
    assert any("upstream answered 400 to the follow-up after retrieval round 1" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_the_output_shaper_is_off_by_default_and_appended_last_when_on(kit: Any, stack: Any,
                                                                       store_url: str) -> None:  # fmt: skip
    from headroom_proxy._settings import OUTPUT_SHAPER

    chat = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hi"}]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    client.chat.completions.create(model="m", messages=chat)  # type: ignore[arg-type]
    assert stack.fake.bodies("/v1/chat/completions")[-1]["messages"] == chat  # off: nothing added
    shaped = kit.make_stack(store_url.replace(".db", "-shaped.db"), output_shaper=True)
    try:
        openai_client = sdk(openai.OpenAI, base_url=shaped.openai_url, api_key="k", max_retries=0)
        claude = sdk(anthropic.Anthropic, base_url=shaped.proxy.url, api_key="k", max_retries=0)
        system = [{"type": "text", "text": "Be careful.", "cache_control": {"type": "ephemeral"}}]
        for _ in range(2):  # the same bytes on every request
            openai_client.chat.completions.create(model="m", messages=chat)  # type: ignore[arg-type]
            openai_client.responses.create(model="m", input="hi", instructions="Codex rules.")
            claude.messages.create(model="c", max_tokens=5, system=system,  # type: ignore[arg-type]
                                   messages=[{"role": "user", "content": "hi"}])  # fmt: skip
        chats = shaped.fake.bodies("/v1/chat/completions")
        assert chats[0] == chats[1]
        assert chats[0]["messages"][0] == {"role": "system", "content": f"You are terse.\n\n{OUTPUT_SHAPER}"}
        assert chats[0]["messages"][1:] == chat[1:]
        responses = shaped.fake.bodies("/v1/responses")
        assert (
            responses[0]["instructions"] == responses[1]["instructions"] == f"Codex rules.\n\n{OUTPUT_SHAPER}"
        )
        sent = shaped.fake.bodies("/v1/messages")
        assert sent[0]["system"] == sent[1]["system"] == [*system, {"type": "text", "text": OUTPUT_SHAPER}]
        requests = kit.proxy_requests(shaped, 7)  # one ledger beside both stores: the unshaped one's too
        assert sorted("output shaper" in e.reason for e in requests) == [False] + [True] * 6
    finally:
        kit.stop(shaped)


@pytest.mark.parametrize("coding", ["zstd", "gzip"])
def test_a_compressed_request_body_is_read_and_compressed(kit: Any, stack: Any, coding: str) -> None:
    """Codex signed in with ChatGPT sends its requests zstd-encoded: the proxy reads them, compresses
    the conversation and sends it on as plain JSON; a body that does not decode goes on as it came."""
    import gzip
    import json

    import zstandard
    from headroom.integration import MARKER_RE

    body = json.dumps({"model": "m", "messages": kit.chat_messages(kit.app_log(seed=23))}).encode()
    packed = zstandard.ZstdCompressor().compress(body) if coding == "zstd" else gzip.compress(body)
    stack.fake.script = [kit.Text("ok"), kit.Text("ok")]
    with httpx.Client(base_url=stack.proxy.url) as client:
        headers = {
            "authorization": "Bearer k",
            "content-type": "application/json",
            "content-encoding": coding,
        }
        assert client.post("/v1/chat/completions", content=packed, headers=headers).status_code == 200
        _, sent_headers, sent = stack.fake.received[-1]
        assert "content-encoding" not in sent_headers
        assert MARKER_RE.search(sent["messages"][2]["content"])
        broken = packed[: len(packed) // 2]
        client.post("/v1/chat/completions", content=broken, headers=headers)
    _, sent_headers, raw = stack.fake.received[-1]
    assert sent_headers["content-encoding"] == coding  # unread: the client's bytes and headers as they came
    assert isinstance(raw, str)  # the fake could not parse it either
