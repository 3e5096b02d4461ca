"""``GET /stats`` and ``GET /stats/history`` on the running proxy: the figures of ``headroom stats``."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
from headroom_proxy._ratelimits import RateLimits, windows
from starlette.datastructures import Headers

from .conftest import sdk


def test_stats_and_history_are_the_ledgers_figures(kit: Any, stack: Any) -> None:
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    for seed in (41, 42):
        client.messages.create(
            model="claude-x", max_tokens=50, messages=kit.anthropic_messages(kit.app_log(seed=seed))
        )
    kit.proxy_requests(stack, 2)  # written
    stats = httpx.get(f"{stack.proxy.url}/stats").json()
    assert stats.pop("rate_limits") == []  # the fake sent no rate-limit headers
    assert stats == stack.headroom.stats(panels=True)
    assert (
        sum(g["saved"] for g in stats.pop("panels")["by"]["kind"])
        == stats["tokens_before"] - stats["tokens_after"]
    )
    assert stats["requests"]["count"] >= 2
    assert stats["money"]["without_usage"] + stats["money"]["unpriced"] >= 2  # claude-x has no price
    history = httpx.get(f"{stack.proxy.url}/stats/history", params={"bucket": "day", "since": "1h"}).json()
    assert history["bucket"] == "day"
    [today] = history["series"]
    assert today["start"] % 86_400 == 0
    assert today["requests"] == stats["requests"]["count"]
    assert (today["tokens_before"], today["tokens_after"]) == (stats["tokens_before"], stats["tokens_after"])
    assert httpx.get(f"{stack.proxy.url}/stats", params={"source": "agno"}).json()["events"] == 0


def test_bad_parameters_are_a_clear_400(stack: Any) -> None:
    for path, params in (("/stats", {"since": "yesterday-ish"}), ("/stats/history", {"bucket": "minute"})):
        reply = httpx.get(f"{stack.proxy.url}{path}", params=params)
        assert reply.status_code == 400
        error = reply.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "\n" not in error["message"]


def test_rate_limit_windows_come_from_response_headers_per_credential(stack: Any) -> None:
    stack.fake.reply_headers.update({
        "anthropic-ratelimit-input-tokens-limit": "400000",
        "anthropic-ratelimit-input-tokens-remaining": "399000",
        "anthropic-ratelimit-input-tokens-reset": "2026-12-03T20:40:00Z",
        "anthropic-ratelimit-requests-remaining": "49",
        "x-ratelimit-remaining-tokens": "149000",
        "x-ratelimit-reset-tokens": "6m0s",
        "x-codex-primary-used-percent": "12",
        "x-codex-secondary-window-minutes": "10080",
        "x-request-id": "not a limit",
    })  # fmt: skip
    for key in ("key-one", "key-two"):
        client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key=key, max_retries=0)
        client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    chat = sdk(openai.OpenAI, base_url=f"{stack.proxy.url}/v1", api_key="key-three", max_retries=0)
    chat.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "hi"}])
    reports = httpx.get(f"{stack.proxy.url}/stats").json()["rate_limits"]
    assert [r["provider"] for r in reports] == ["openai", "anthropic", "anthropic"]  # the latest first
    assert len({r["credential"] for r in reports}) == 3  # two API keys of one provider never merge
    latest = reports[0]["windows"]
    assert latest["input-tokens"] == {
        "limit": "400000",
        "remaining": "399000",
        "reset": "2026-12-03T20:40:00Z",
    }
    assert latest["requests"] == {"remaining": "49"}
    assert latest["tokens"] == {"remaining": "149000", "reset": "6m0s"}
    assert latest["primary"] == {"used-percent": "12"}
    assert latest["secondary"] == {"window-minutes": "10080"}
    assert "id" not in latest


def test_rate_limits_ignore_other_headers_and_stay_bounded() -> None:
    assert windows({"x-ratelimit-bogus": "1", "anthropic-ratelimit-": "2", "content-type": "x"}) == {}
    limits = RateLimits()
    limits.observe("openai", Headers({"authorization": "Bearer abc"}), {"content-type": "application/json"})
    assert limits.snapshot() == []
    for n in range(100):
        key = Headers({"authorization": f"Bearer key-{n}"})
        limits.observe("openai", key, {"x-ratelimit-remaining-requests": str(n)})
    kept = limits.snapshot()
    assert len(kept) == 64
    assert kept[0]["windows"] == {"requests": {"remaining": "99"}}


@pytest.mark.parametrize("stream", [False, True])
def test_the_time_to_first_byte_added_is_ours_not_the_providers(kit: Any, stack: Any, stream: bool) -> None:
    """Every upstream answer waits 0.25 s (the provider's own time): a request answered in one round
    adds only the proxy's time. One whose first answer was a retrieval call adds the second round's
    wait too when not streamed (the client's one response came after it); a stream's events before the
    call go out as they come, so its first byte does not wait for the round."""
    stack.fake.delay = 0.25
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)

    def ask(seed: int) -> None:
        messages = kit.anthropic_messages(kit.app_log(seed=seed))
        if stream:
            with client.messages.stream(model="claude-x", max_tokens=50, messages=messages) as events:
                events.get_final_message()
        else:
            client.messages.create(model="claude-x", max_tokens=50, messages=messages)

    def retrieve(body: dict[str, Any]) -> Any:
        (ref,) = kit.REF.findall(json.dumps(body["messages"]))
        return kit.Calls([("headroom_retrieve", {"ref": ref})])

    ask(51)
    stack.fake.script = [retrieve, kit.Text("found it")]
    ask(52)
    plain, retrieved = kit.proxy_requests(stack, 2)[-2:]
    assert retrieved.reason.startswith("retrieval rounds: 1")
    assert plain.ttfb_ms is not None
    assert retrieved.ttfb_ms is not None
    assert plain.ms <= plain.ttfb_ms < 250  # our own time is in it, the provider's wait is not
    if stream:
        assert retrieved.ttfb_ms < 250
    else:
        assert retrieved.ttfb_ms >= 250  # the retrieval round's upstream wait came before the first byte
    found = httpx.get(f"{stack.proxy.url}/stats").json()["requests"]
    assert found["ttfb_count"] == 1  # the first (cold) request is reported apart
    assert found["ttfb_max_ms"] == round(retrieved.ttfb_ms, 3)


CODEX_LIMITS = {"type": "codex.rate_limits", "plan_type": "pro",
                "rate_limits": {"allowed": True, "limit_reached": False,
                                "primary": {"used_percent": 7, "window_minutes": 300, "reset_after_seconds": 13168},
                                "secondary": {"used_percent": 29, "window_minutes": 10080, "reset_at": 1779820580}},
                "code_review_rate_limits": None}  # fmt: skip


@pytest.mark.parametrize("compressed", [False, True])
def test_codex_stream_rate_limit_events_are_read_as_they_pass(kit: Any, stack: Any, compressed: bool) -> None:
    """Codex's ``codex.rate_limits`` stream event reaches the client and ``/stats``, whether the
    stream is relayed as it comes (nothing compressed) or read event by event (a retrieval is possible)."""
    stack.fake.stream_prelude = [("codex.rate_limits", CODEX_LIMITS)]
    text = kit.app_log(seed=61) if compressed else "a short output"
    body = {"model": "gpt-5-codex", "stream": True, "input": kit.responses_input(text)}
    headers = {"authorization": "Bearer codex-token", "chatgpt-account-id": "acct-1"}
    with httpx.stream(
        "POST", f"{stack.openai_url}/responses", json=body, headers=headers, timeout=30
    ) as reply:
        streamed = b"".join(reply.iter_raw()).decode()
    assert "codex.rate_limits" in streamed  # passed on to the client
    assert ("x-headroom-tokens-before" in reply.headers) is compressed
    kit.proxy_requests(stack, 1)
    (entry,) = httpx.get(f"{stack.proxy.url}/stats").json()["rate_limits"]
    assert entry["provider"] == "openai"
    assert entry["windows"] == {
        "primary": {"used-percent": "7", "window-minutes": "300", "reset-after-seconds": "13168"},
        "secondary": {"used-percent": "29", "window-minutes": "10080", "reset-at": "1779820580"},
    }
