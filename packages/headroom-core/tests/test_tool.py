from __future__ import annotations

import headroom
import pytest
from headroom import ConfigError
from headroom._tool import RetrieveRequest, parse_arguments


def test_openai_chat_completions_shape() -> None:
    tool = headroom.retrieve_tool("openai")
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "headroom_retrieve"
    assert tool["function"]["parameters"]["required"] == ["ref"]
    assert set(tool["function"]["parameters"]["properties"]) == {"ref", "query", "offset", "lines"}


def test_other_shapes_share_one_definition() -> None:
    chat = headroom.retrieve_tool("openai")["function"]
    responses = headroom.retrieve_tool("openai_responses")
    anthropic = headroom.retrieve_tool("anthropic")
    schema = headroom.retrieve_tool("json_schema")
    assert responses["type"] == "function"
    assert responses["name"] == chat["name"]
    assert anthropic["input_schema"] == chat["parameters"] == responses["parameters"] == schema["parameters"]
    assert anthropic["description"] == chat["description"] == schema["description"]
    assert set(schema) == {"name", "description", "parameters"}


def test_callers_get_their_own_copy() -> None:
    tool = headroom.retrieve_tool("anthropic")
    tool["input_schema"]["required"].append("query")
    assert headroom.retrieve_tool("anthropic")["input_schema"]["required"] == ["ref"]


def test_unknown_formats_are_refused() -> None:
    with pytest.raises(ConfigError, match="openai_responses"):
        headroom.retrieve_tool("gemini")


def test_arguments_parse_from_objects_and_json() -> None:
    assert parse_arguments({"ref": "a" * 24, "query": " "}) == RetrieveRequest("a" * 24)
    assert parse_arguments('{"ref": "b", "query": "x y"}') == RetrieveRequest("b", "x y")
    assert parse_arguments({"ref": "c", "offset": "60", "lines": "120-180"}) == RetrieveRequest(
        "c", None, 60, (120, 180)
    )
    assert parse_arguments({"ref": "c", "offset": 2.0, "lines": "7-"}).lines == (7, None)
    assert parse_arguments({"ref": "c", "lines": 7, "offset": None}) == RetrieveRequest("c", None, 0, (7, 7))
    with pytest.raises(ValueError, match="needs a ref"):
        parse_arguments({"query": "x"})
