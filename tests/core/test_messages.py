from __future__ import annotations

import copy
import json
from typing import Any

from headroom import Config, Headroom
from headroom._markers import MARKER_RE


def big_log(word: str = "served") -> str:
    return (
        "\n".join(
            f"2026-03-01 10:{i // 60:02d}:{i % 60:02d} INFO app: request {i} {word}" for i in range(400)
        )
        + "\n"
    )


def openai_conversation(result: str, tool: str = "read_logs") -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Why did request 217 fail?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": tool, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]  # fmt: skip


def test_openai_tool_results_are_compressed_in_a_new_list(hr: Headroom) -> None:
    messages = openai_conversation(big_log())
    before = copy.deepcopy(messages)
    result = hr.compress(messages)
    assert messages == before  # the caller's objects are untouched
    assert result.messages is not messages
    assert result.messages[:3] == messages[:3]
    assert result.messages[1] is messages[1]
    tool = result.messages[3]
    assert tool["tool_call_id"] == "call_1"
    assert MARKER_RE.search(tool["content"])
    assert result.tokens_after < result.tokens_before
    assert len(result.refs) == 1
    assert hr.retrieve(result.refs[0]) == big_log()


def test_the_query_defaults_to_the_user_turn_before_the_result(hr: Headroom) -> None:
    messages = openai_conversation(big_log())
    content = hr.compress(messages).messages[3]["content"]
    assert "2026-03-01 10:03:37 INFO app: request 217 served" in content


def test_anthropic_tool_results_with_string_and_list_content(hr: Headroom) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Look at the logs"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "tu_1", "name": "logs", "input": {}},
            {"type": "tool_use", "id": "tu_2", "name": "screenshot", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": big_log()},
            {"type": "tool_result", "tool_use_id": "tu_2", "content": [{"type": "text", "text": big_log("ok")}, image]},
        ]},
    ]  # fmt: skip
    before = copy.deepcopy(messages)
    out = hr.compress(messages).messages
    assert messages == before
    first, second = out[2]["content"]
    assert MARKER_RE.search(first["content"])
    assert MARKER_RE.search(second["content"][0]["text"])
    assert second["content"][1] is image
    assert first["tool_use_id"] == "tu_1"
    assert second["type"] == "tool_result"


def test_tool_filters_and_the_retrieve_tool_itself(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0, exclude_tools=("secret_*",)))
    assert hr.compress(openai_conversation(big_log(), tool="secret_dump")).messages[3]["content"] == big_log()
    assert (
        hr.compress(openai_conversation(big_log(), tool="headroom_retrieve")).messages[3]["content"]
        == big_log()
    )
    only = Headroom(Config(store=store_url, min_tokens=0, include_tools=("grep",)))
    assert only.compress(openai_conversation(big_log(), tool="read_logs")).messages[3]["content"] == big_log()


def test_responses_api_items(hr: Headroom) -> None:
    items = [
        {"role": "user", "content": "check the logs"},
        {"type": "function_call", "call_id": "c1", "name": "logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": big_log()},
    ]
    out = hr.compress(items).messages
    assert MARKER_RE.search(out[2]["output"])
    assert out[2]["call_id"] == "c1"


def test_a_plain_string(hr: Headroom) -> None:
    result = hr.compress(big_log())
    assert isinstance(result.messages, str)
    assert MARKER_RE.search(result.messages)


def test_unchanged_prefixes_compress_to_the_same_bytes(hr: Headroom) -> None:
    first = hr.compress(openai_conversation(big_log())).messages
    longer = [*openai_conversation(big_log()), {"role": "user", "content": "and request 9?"}]
    second = hr.compress(longer).messages
    assert json.dumps(first) == json.dumps(second[:4])
