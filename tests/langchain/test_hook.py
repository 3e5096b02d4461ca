"""compress_messages_hook in a hand-built LangGraph graph, and as create_react_agent's pre_model_hook."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from headroom import Headroom
from headroom.integration import MARKER_RE
from headroom_langchain import compress_messages_hook, headroom_retrieve_tool
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.warnings import LangGraphDeprecatedSinceV10
from typing_extensions import TypedDict

QUERY = "payment card_declined"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    llm_input_messages: list[AnyMessage]


def graph(kit: Any, hr: Headroom, log: str) -> tuple[Any, Any]:
    @tool
    def read_logs(service: str) -> str:
        """Read a service's log."""
        return log

    tools = [read_logs, headroom_retrieve_tool(headroom=hr)]
    model = kit.scripted(
        kit.call("read_logs", service="payments"), kit.retrieve_from_last_result(QUERY), AIMessage("done")
    )
    bound = model.bind_tools(tools)

    def call_model(state: State) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["llm_input_messages"])]}

    builder = StateGraph(State)
    builder.add_node("compress", compress_messages_hook(headroom=hr, retrievable=True))
    builder.add_node("model", call_model)
    builder.add_node("tools", ToolNode(tools))
    builder.add_edge(START, "compress")
    builder.add_edge("compress", "model")
    builder.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    builder.add_edge("tools", "compress")
    return builder.compile(), model


def check(kit: Any, hr: Headroom, model: Any, out: dict[str, Any], log: str) -> None:
    view = model.seen[1][-1]
    assert MARKER_RE.search(view.text)["tool"] == "headroom_retrieve"
    assert hr.tokenizer().count(view.text) * 20 < hr.tokenizer().count(log)
    assert model.seen[2][-1].text == kit.expected_retrieval(log, QUERY)  # never compressed again
    state_results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert state_results[0].text == log  # the state keeps the original; only the model's view shrinks
    assert out["messages"][-1].text == "done"


def test_a_hand_built_graph(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log()
    app, model = graph(kit, lc_headroom, log)
    out = app.invoke({"messages": [HumanMessage("Why are payments failing?")]})
    check(kit, lc_headroom, model, out, log)


def test_a_hand_built_graph_async(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=21)
    app, model = graph(kit, lc_headroom, log)
    out = asyncio.run(app.ainvoke({"messages": [HumanMessage("Why are payments failing?")]}))
    check(kit, lc_headroom, model, out, log)


def test_called_directly(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log()
    messages = [
        HumanMessage("Why are payments failing?"),
        AIMessage("", tool_calls=[{"name": "read_logs", "args": {}, "id": "c1"}]),
        ToolMessage(log, tool_call_id="c1", name="read_logs"),
    ]
    hook = compress_messages_hook(headroom=lc_headroom)
    for state in ({"messages": messages}, messages):
        out = hook(state)["llm_input_messages"]
        marker = MARKER_RE.search(out[2].text)
        assert marker is not None
        assert marker["tool"] is None  # lossy unless told the retrieve tool is bound
    with pytest.raises(TypeError, match="takes a state"):
        hook({"messages": messages}, retrievable=True)


def test_the_default_hook_makes_its_engine_on_first_use(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compress_messages_hook, "_headroom", None)  # this test's store, not another's
    log = kit.app_log()
    out = compress_messages_hook({"messages": [HumanMessage(f"{log}\n\nWhy?")]})
    assert out["llm_input_messages"][0].text.startswith(log[:500])  # user turns: off by default
    engine = compress_messages_hook.headroom
    assert engine.source == "langchain"
    assert compress_messages_hook.headroom is engine
    engine.close()


def test_as_the_pre_model_hook_of_the_deprecated_create_react_agent(kit: Any, lc_headroom: Headroom) -> None:
    from langgraph.prebuilt import create_react_agent

    log = kit.app_log()

    @tool
    def read_logs(service: str) -> str:
        """Read a service's log."""
        return log

    model = kit.scripted(kit.call("read_logs", service="a"), AIMessage("done"))
    hook = compress_messages_hook(headroom=lc_headroom)
    with pytest.warns(LangGraphDeprecatedSinceV10):  # LangGraph's own warning, seen here, not silenced
        agent = create_react_agent(model, [read_logs], pre_model_hook=hook)
    out = agent.invoke({"messages": [HumanMessage("Why are payments failing?")]})
    assert MARKER_RE.search(model.seen[1][-1].text)
    assert out["messages"][2].text == log
