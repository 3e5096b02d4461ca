"""headroom_retrieve_tool(): the retrieve tool as a LangChain tool, sync and async, never raising."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from headroom import Config, ConfigError, Headroom
from headroom_langchain import headroom_retrieve_tool
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool


def test_the_definition_is_the_cores_own(lc_headroom: Headroom) -> None:
    tool = headroom_retrieve_tool(headroom=lc_headroom)
    assert isinstance(tool, BaseTool)
    assert convert_to_openai_tool(tool) == lc_headroom.retrieve_tool("openai")


def test_retrieves_the_original_and_matching_lines(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log()
    ref = lc_headroom.compress_text(log).ref
    assert ref is not None
    tool = headroom_retrieve_tool(headroom=lc_headroom)
    assert tool.invoke({"ref": ref}) == log
    assert tool.invoke({"ref": ref.upper(), "query": "payment card_declined"}) == kit.expected_retrieval(
        log, "payment card_declined"
    )
    assert asyncio.run(tool.ainvoke({"ref": ref, "query": "timeout acquiring"})) == kit.expected_retrieval(
        log, "timeout acquiring"
    )
    message = tool.invoke(
        {"type": "tool_call", "name": "headroom_retrieve", "args": {"ref": ref}, "id": "c9"}
    )
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "c9"
    assert message.text == log


@pytest.mark.parametrize(
    ("arguments", "answer"),
    [
        ({"ref": "0123456789abcdef01234567"}, "is unknown or has expired; call the original tool again"),
        ({"ref": "not-a-ref"}, "is unknown or has expired"),
        ({}, "needs a ref"),
        ({"ref": 42}, "needs a ref"),
        ({"ref": "0123456789abcdef01234567", "query": "x", "extra": True}, "is unknown or has expired"),
    ],
)
def test_bad_calls_get_a_message_for_the_model(
    lc_headroom: Headroom, arguments: dict[str, Any], answer: str
) -> None:
    tool = headroom_retrieve_tool(headroom=lc_headroom)
    assert answer in tool.invoke(arguments)
    assert answer in asyncio.run(tool.ainvoke(arguments))


def test_a_store_that_is_down_is_a_message_too(tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    tool = headroom_retrieve_tool(config=Config(store=f"sqlite:///{blocker}/store.db", ledger=False))
    assert "call the original tool again" in tool.invoke({"ref": "0123456789abcdef01234567"})


def test_headroom_and_config_together_is_a_clear_error(lc_headroom: Headroom) -> None:
    with pytest.raises(ConfigError, match="not both"):
        headroom_retrieve_tool(headroom=lc_headroom, config=Config())
