"""``GET /metrics``: the proxy's counters in the Prometheus text format, parsed by prometheus-client."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
from headroom.integration import Event
from headroom_proxy._metrics import MAX_MODELS, Metrics
from prometheus_client.parser import text_string_to_metric_families

from .conftest import USAGE, sdk


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_requests_blocks_and_billed_tokens_are_counted(kit: Any, stack: Any) -> None:
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    for seed in (31, 32):
        client.messages.create(
            model="claude-x", max_tokens=50, messages=kit.anthropic_messages(kit.app_log(seed=seed))
        )
    reply = httpx.get(f"{stack.proxy.url}/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    found = samples(reply.text)
    request = (("event", "request"), ("kind", "anthropic"), ("model", "claude-x"), ("outcome", "compressed"),
               ("source", "proxy"))  # fmt: skip
    assert found[("headroom_events_total", request)] == 2
    assert found[("headroom_tokens_before_total", request)] > found[("headroom_tokens_after_total", request)]
    billed = {part: found[("headroom_prompt_tokens_billed_total", (("model", "claude-x"), ("part", part)))]
              for part in ("uncached", "cache_read", "cache_write_5m")}  # fmt: skip
    assert billed == {"uncached": 2 * USAGE["prompt"], "cache_read": 2 * USAGE["read"],
                      "cache_write_5m": 2 * USAGE["written"]}  # fmt: skip
    blocks = sum(v for (name, labels), v in found.items()
                 if name == "headroom_events_total" and ("event", "compress") in labels)  # fmt: skip
    assert blocks >= 2  # the log block of each request, at least
    seconds = (
        "headroom_event_seconds_count",
        (("event", "request"), ("kind", "anthropic"), ("source", "proxy")),
    )
    assert found[seconds] == 2
    assert found[("headroom_ttfb_added_seconds_count", (("kind", "anthropic"),))] == 2


def test_model_labels_are_bounded() -> None:
    metrics = Metrics()
    for n in range(MAX_MODELS + 50):
        metrics.observe(
            Event(event="request", source="proxy", outcome="forwarded", model=f"m{n}" + "x" * 100)
        )
    models = {labels[2][1] for (name, labels), _ in samples(metrics.render().decode()).items()
              if name == "headroom_events_total"}  # fmt: skip
    assert len(models) == MAX_MODELS + 1
    assert "other" in models
    assert max(len(m) for m in models) <= 64
