"""The token budget: old tool results become retrievable stubs, in rare large steps, pairs intact."""

from __future__ import annotations

import json
from typing import Any

import pytest
from headroom import Config, Headroom
from headroom._markers import MARKER_RE


def result_text(turn: int, words: int = 250) -> str:
    return f"result of turn {turn}: " + " ".join(f"w{turn}x{i}" for i in range(words))


def conversation(turns: int, words: int = 250) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a careful agent."}]
    for turn in range(turns):
        messages += [
            {"role": "user", "content": f"step {turn}: look again"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{turn}", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": f"call_{turn}", "content": result_text(turn, words)},
        ]  # fmt: skip
    return messages


@pytest.fixture
def budgeted(store_url: str) -> Headroom:
    # min_tokens high: no result is compressed, so only the budget policy changes anything
    return Headroom(Config(store=store_url, min_tokens=10**9, max_context_tokens=8000, keep_last_turns=4))


def pairs_intact(messages: list[dict[str, Any]]) -> bool:
    calls = [c["id"] for m in messages if m.get("tool_calls") for c in m["tool_calls"]]
    results = [m["tool_call_id"] for m in messages if m.get("role") == "tool"]
    return calls == results


def test_under_the_budget_nothing_changes(budgeted: Headroom) -> None:
    messages = conversation(3)
    result = budgeted.compress(messages)
    assert result.messages == messages
    assert (result.stubbed, result.over_budget) == (0, False)


def test_over_the_budget_old_results_become_retrievable_stubs(budgeted: Headroom) -> None:
    messages = conversation(20)
    result = budgeted.compress(messages)
    assert result.tokens_before > 8000 >= result.tokens_after
    assert not result.over_budget
    assert result.stubbed > 0
    assert pairs_intact(result.messages)
    assert result.messages[0] == messages[0]
    assert result.messages[-12:] == messages[-12:]  # the last 4 turns are never touched
    stubs = [
        m for m in result.messages if m.get("role") == "tool" and not m["content"].startswith("result of")
    ]
    assert len(stubs) == result.stubbed
    for stub in stubs:
        match = MARKER_RE.search(stub["content"])
        assert match is not None
        assert "\n" not in stub["content"]
        turn = int(stub["tool_call_id"][5:])
        assert budgeted.retrieve(match["ref"]) == result_text(turn)
    oldest = [int(m["tool_call_id"][5:]) for m in stubs]
    assert oldest == list(range(len(stubs)))  # oldest first


def test_the_budget_moves_in_rare_large_steps(budgeted: Headroom) -> None:
    previous: list[str] | None = None
    changes = 0
    for turns in range(1, 41):
        result = budgeted.compress(conversation(turns))
        assert result.tokens_after <= 8000
        assert pairs_intact(result.messages)
        current = [json.dumps(m, sort_keys=True) for m in result.messages]
        if previous is not None and current[: len(previous)] != previous:
            changes += 1
        previous = current
    # ~1,000 tokens a turn, steps of 3,200: ~10 changes in 33 turns over budget instead of 33
    assert 8 <= changes <= 14


def test_when_the_protected_part_alone_is_too_big(budgeted: Headroom) -> None:
    messages = conversation(6, words=700)  # the last 4 turns alone hold ~11,000 tokens
    result = budgeted.compress(messages)
    assert result.over_budget
    assert result.messages[-12:] == messages[-12:]
    older = [m for m in result.messages[:-12] if m.get("role") == "tool"]
    assert older
    assert all(MARKER_RE.search(m["content"]) for m in older)
    assert pairs_intact(result.messages)


def test_anthropic_results_are_stubbed_inside_their_blocks(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=10**9, max_context_tokens=3000, keep_last_turns=2))
    messages: list[dict[str, Any]] = []
    for turn in range(8):
        messages += [
            {"role": "user", "content": f"step {turn}"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"tu_{turn}", "name": "fetch", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"tu_{turn}", "content": result_text(turn)}]},
        ]  # fmt: skip
    result = hr.compress(messages)
    assert result.stubbed
    assert not result.over_budget
    first = result.messages[2]["content"][0]
    assert first["type"] == "tool_result"
    assert first["tool_use_id"] == "tu_0"
    match = MARKER_RE.search(first["content"])
    assert match is not None
    assert hr.retrieve(match["ref"]) == result_text(0)


def test_retrieve_results_are_never_stubbed(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=10**9, max_context_tokens=3000, keep_last_turns=1))
    messages = conversation(6)
    messages[2]["tool_calls"][0]["function"]["name"] = "headroom_retrieve"
    result = hr.compress(messages)
    assert result.messages[3] == messages[3]


def test_stubs_name_no_tool_when_the_model_cannot_retrieve(budgeted: Headroom) -> None:
    result = budgeted.compress(conversation(20), retrievable=False)
    stubs = [m["content"] for m in result.messages if m.get("role") == "tool" and "cleared" in m["content"]]
    assert stubs
    assert all("headroom_retrieve" not in stub and "ref=" in stub for stub in stubs)
