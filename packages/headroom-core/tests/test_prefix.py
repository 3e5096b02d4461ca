"""Prompt-cache alignment: volatile content of the system prompt and tools is found, confirmed, moved."""

from __future__ import annotations

from typing import Any

from headroom import Config, Headroom
from headroom._policy.prefix import find_volatile

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "search", "description": "Search the web",
                                      "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "fetch", "description": "Fetch a page",
                                      "parameters": {"type": "object", "properties": {"url": {"type": "string"}}}}},
]  # fmt: skip


def system(now: str) -> str:
    return f"You are a helpful agent.\nCurrent time: {now}\nAlways cite sources."


def test_volatile_patterns() -> None:
    text = (
        "Now: 2026-11-21T10:32:01Z. Today is Saturday, November 21, 2026 at 10:32:01. "
        "Session id: a81bc81b-dead-4e5d-abcd-123456789012, request_id=req_8f7e6d5c4b3a2910."
    )
    whats = {v.what for v in find_volatile(text, "system")}
    assert {"timestamp", "date", "time", "uuid", "request id"} <= whats
    assert find_volatile("You are a helpful agent. Use tools wisely.", "system") == []


def test_a_changing_timestamp_is_reported_and_confirmed(hr: Headroom) -> None:
    first = hr.compress(
        [{"role": "system", "content": system("2026-11-21 10:32:01")}, {"role": "user", "content": "hi"}]
    )
    assert [(v.where, v.what, v.confirmed) for v in first.volatile] == [("system", "timestamp", False)]
    second = hr.compress(
        [{"role": "system", "content": system("2026-11-21 10:33:12")}, {"role": "user", "content": "hi"}]
    )
    assert [(v.what, v.confirmed) for v in second.volatile] == [("timestamp", True)]
    assert second.messages[0]["content"] == system(
        "2026-11-21 10:33:12"
    )  # reported, not moved: off by default


def test_reordered_tools_are_confirmed(hr: Headroom) -> None:
    messages = [{"role": "user", "content": "hi"}]
    assert hr.compress(messages, tools=TOOLS).volatile == ()
    result = hr.compress(messages, tools=list(reversed(TOOLS)))
    assert [(v.where, v.what, v.confirmed) for v in result.volatile] == [("tools", "order", True)]


def test_align_cache_moves_volatile_lines_and_orders_tools(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, align_cache=True))
    results = [
        hr.compress(
            [{"role": "system", "content": system(now)}, {"role": "user", "content": "What is new?"}],
            tools=tools,
        )
        for now, tools in (("2026-11-21 10:32:01", TOOLS), ("2026-11-21 10:40:55", list(reversed(TOOLS))))
    ]
    for result, now in zip(results, ("2026-11-21 10:32:01", "2026-11-21 10:40:55"), strict=True):
        assert result.messages[0]["content"] == "You are a helpful agent.\nAlways cite sources."
        assert result.messages[1]["content"].startswith("What is new?\n\n")
        assert result.messages[1]["content"].endswith(f"Current time: {now}")
    assert results[0].tools == results[1].tools
    assert [t["function"]["name"] for t in results[0].tools] == ["fetch", "search"]


def test_anthropic_system_prompt_is_checked_and_aligned(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, align_cache=True))
    blocks = [{"type": "text", "text": system("2026-11-21 10:32:01"), "cache_control": {"type": "ephemeral"}}]
    result = hr.compress([{"role": "user", "content": [{"type": "text", "text": "hi"}]}], system=blocks)
    assert result.system[0]["text"] == "You are a helpful agent.\nAlways cite sources."
    assert result.system[0]["cache_control"] == {"type": "ephemeral"}
    assert result.messages[0]["content"][0]["text"].endswith("Current time: 2026-11-21 10:32:01")
    assert blocks[0]["text"] == system("2026-11-21 10:32:01")  # the caller's objects are untouched
