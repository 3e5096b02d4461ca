"""``GET /stats`` and ``GET /stats/history`` on the running proxy: the figures of ``headroom stats``."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx

from .conftest import sdk


def test_stats_and_history_are_the_ledgers_figures(kit: Any, stack: Any) -> None:
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    for seed in (41, 42):
        client.messages.create(
            model="claude-x", max_tokens=50, messages=kit.anthropic_messages(kit.app_log(seed=seed))
        )
    kit.proxy_requests(stack, 2)  # written
    stats = httpx.get(f"{stack.proxy.url}/stats").json()
    assert stats == stack.headroom.stats()
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
