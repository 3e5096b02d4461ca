"""The retrieve tool and wrap_tool in real LlamaIndex agents; only the LLM is scripted.

No ``from __future__ import annotations``: LlamaIndex finds a tool's ``ctx: Context`` parameter by its
real annotation, and one test here has such a tool.
"""

import asyncio
import json
from typing import Any

import pytest
from headroom import Config, ConfigError, Headroom, retrieve_tool
from headroom.integration import MARKER_RE
from headroom_llamaindex import headroom_retrieve_tool, wrap_tool
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.base.llms.types import MessageRole
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context

QUESTION = "Why are payments failing?"
QUERY = "payment card_declined"


def log_tool(log: str) -> FunctionTool:
    def read_logs(service: str) -> str:
        """Read a service's application log."""
        return log

    return FunctionTool.from_defaults(fn=read_logs)


def tool_messages(seen: list[Any]) -> list[Any]:
    return [m for m in seen if m.role == MessageRole.TOOL]


def run(agent: Any) -> Any:
    async def go() -> Any:
        return await agent.run(user_msg=QUESTION, memory=ChatMemoryBuffer.from_defaults())

    return asyncio.run(go())


def test_a_function_agent_retrieves_what_it_needs(kit: Any, li_hr: Headroom) -> None:
    log = kit.app_log()
    llm, seen = kit.scripted_llm(
        kit.call("read_logs", service="payments"),
        kit.retrieve_from_last_result(QUERY),
        kit.answer("Card declines at the gateway."),
    )
    tools = [wrap_tool(log_tool(log), headroom=li_hr), headroom_retrieve_tool(headroom=li_hr)]
    result = run(FunctionAgent(tools=tools, llm=llm))
    assert str(result) == "Card declines at the gateway."
    compressed = tool_messages(seen[1])[-1].content
    marker = MARKER_RE.search(compressed)
    assert marker is not None
    assert marker["tool"] == "headroom_retrieve"
    assert "card_declined" in compressed  # the user's question, read from the agent's context, is the query
    count = li_hr.tokenizer().count
    assert count(compressed) * 20 < count(log)
    assert tool_messages(seen[2])[-1].content == kit.expected_retrieval(log, QUERY)
    assert li_hr.retrieve(marker["ref"]) == log


def test_a_react_agent(kit: Any, li_hr: Headroom) -> None:
    log = kit.app_log(seed=3)

    def react(step: str) -> Any:
        return kit.answer(step)

    def retrieve_step(messages: list[Any]) -> Any:
        observation = [m for m in messages if "Observation" in (m.content or "")][-1].content
        ref = kit.REF.search(observation)
        assert ref, observation[:300]
        return react(f"Thought: I need the payment errors.\nAction: headroom_retrieve\n"
                     f'Action Input: {json.dumps({"ref": ref[1], "query": QUERY})}')  # fmt: skip

    llm, seen = kit.scripted_llm(
        react('Thought: I need the log.\nAction: read_logs\nAction Input: {"service": "payments"}'),
        retrieve_step,
        react("Thought: I can answer.\nAnswer: Card declines."),
    )
    tools = [wrap_tool(log_tool(log), headroom=li_hr), headroom_retrieve_tool(headroom=li_hr)]
    result = run(ReActAgent(tools=tools, llm=llm))
    assert "Card declines." in str(result)
    observations = [m.content or "" for m in seen[2] if "Observation" in (m.content or "")]
    assert kit.expected_retrieval(log, QUERY) in observations[-1]


def test_the_retrieve_tool(kit: Any, li_hr: Headroom) -> None:
    tool = headroom_retrieve_tool(headroom=li_hr)
    spec = retrieve_tool("json_schema")
    assert tool.metadata.name == "headroom_retrieve"
    assert tool.metadata.description == spec["description"]
    parameters = tool.metadata.get_parameters_dict()
    assert parameters["required"] == ["ref"]
    assert (
        parameters["properties"]["ref"]["description"]
        == spec["parameters"]["properties"]["ref"]["description"]
    )
    log = kit.app_log()
    ref = li_hr.compress_text(log).ref
    assert ref is not None
    assert tool.call(ref=ref).content == log
    assert asyncio.run(tool.acall(ref=ref, query=QUERY)).content == kit.expected_retrieval(log, QUERY)
    assert set(parameters["properties"]) == {"ref", "query", "offset", "lines"}
    page = tool.call(ref=ref, query=QUERY, offset=1).content
    assert page.startswith(kit.expected_retrieval(log, QUERY).splitlines()[0].split(";")[0])
    assert page.splitlines()[1:] == kit.expected_retrieval(log, QUERY).splitlines()[2:]
    assert tool.call(ref=ref, lines="1").content.splitlines()[1] == f"1\t{log.splitlines()[0]}"
    assert "unknown or has expired" in tool.call(ref="0123456789abcdef01234567").content
    with pytest.raises(ConfigError, match="not both"):
        headroom_retrieve_tool(headroom=li_hr, config=Config())


def test_wrap_tool_keeps_the_tool_and_its_raw_output(kit: Any, li_hr: Headroom) -> None:
    log = kit.app_log()
    inner = log_tool(log)
    wrapped = wrap_tool(inner, headroom=li_hr)
    assert wrapped.metadata.name == inner.metadata.name
    assert wrapped.metadata.get_parameters_dict() == inner.metadata.get_parameters_dict()
    output = wrapped.call(service="a")
    assert MARKER_RE.search(output.content)
    assert output.raw_output == log  # the application still holds the tool's own value
    small = wrap_tool(FunctionTool.from_defaults(fn=lambda service: "ok", name="status"), headroom=li_hr)
    assert small.call(service="a").content == "ok"


def test_wrap_tool_passes_errors_and_context(kit: Any, li_hr: Headroom) -> None:
    def fails(service: str) -> str:
        """Fails."""
        raise RuntimeError("connection refused")

    llm, seen = kit.scripted_llm(kit.call("fails", service="a"), kit.answer("down"))
    run(FunctionAgent(tools=[wrap_tool(FunctionTool.from_defaults(fn=fails), headroom=li_hr)], llm=llm))
    assert tool_messages(seen[1])[-1].content == "connection refused"  # the error, verbatim

    log = kit.app_log(seed=6)

    async def with_context(ctx: Context, service: str) -> str:
        """Reads the agent's state as well."""
        assert isinstance(ctx, Context)
        return log

    llm, seen = kit.scripted_llm(kit.call("with_context", service="a"), kit.answer("done"))
    tool = wrap_tool(FunctionTool.from_defaults(async_fn=with_context), headroom=li_hr)
    run(FunctionAgent(tools=[tool], llm=llm))
    assert MARKER_RE.search(tool_messages(seen[1])[-1].content)
