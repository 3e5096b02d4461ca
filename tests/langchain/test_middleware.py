"""HeadroomMiddleware inside a real ``create_agent`` graph; only the chat model is scripted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from headroom import Config, Headroom
from headroom.integration import MARKER_RE
from headroom_langchain import HeadroomMiddleware
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

QUESTION = "Why are payments failing?"
QUERY = "payment card_declined"


def seen_tokens(hr: Headroom, seen: list[list[BaseMessage]]) -> int:
    count = hr.tokenizer().count
    return sum(count(m.text) for messages in seen for m in messages)


def log_tool(text: str) -> Any:
    @tool
    def read_logs(service: str) -> str:
        """Read a service's application log."""
        return text

    return read_logs


def user(text: str = QUESTION) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def log_flow(kit: Any) -> Any:
    return kit.scripted(
        kit.call("read_logs", service="payments"),
        kit.retrieve_from_last_result(QUERY),
        AIMessage("Card declines at the gateway: 31 failed charges."),
    )


def check_log_flow(kit: Any, hr: Headroom, model: Any, out: dict[str, Any], log: str) -> None:
    # 2. the model's second input holds the compressed result, with a marker, far smaller
    assert all("headroom_retrieve" in names for names in model.bound)
    compressed = model.seen[1][-1]
    assert isinstance(compressed, ToolMessage)
    assert MARKER_RE.search(compressed.text)
    count = hr.tokenizer().count
    assert count(compressed.text) * 20 < count(log)
    # 3. the retrieval answers exactly the matching original lines, in the contract's format
    retrieved = model.seen[2][-1]
    assert retrieved.name == "headroom_retrieve"
    assert retrieved.text == kit.expected_retrieval(log, QUERY)
    assert len(kit.matching_lines(log, QUERY)) > 10
    # 4. the final state is valid; the artifact holds the original; the ledger has the events
    messages = out["messages"]
    assert [type(m).__name__ for m in messages] == [
        "HumanMessage", "AIMessage", "ToolMessage", "AIMessage", "ToolMessage", "AIMessage",
    ]  # fmt: skip
    assert messages[2].content == compressed.content
    assert messages[2].artifact == log
    assert messages[2].response_metadata["headroom"]["refs"] == [MARKER_RE.search(compressed.text)["ref"]]
    assert messages[4].text == retrieved.text  # retrieved content is never compressed again
    assert messages[-1].text.startswith("Card declines")
    assert hr.ledger is not None
    hr.ledger.flush()
    events = hr.ledger.events(source="langchain")
    assert any(e.event == "compress" and e.outcome == "compressed" for e in events)
    assert any(e.event == "retrieve" and e.outcome == "found" for e in events)


def test_the_agent_flow_with_a_large_log(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log()
    model = log_flow(kit)
    agent = create_agent(model, tools=[log_tool(log)], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    out = agent.invoke(user())
    check_log_flow(kit, lc_headroom, model, out, log)

    # the same agent without the middleware: the model reads the whole log
    baseline = kit.scripted(kit.call("read_logs", service="payments"), AIMessage("Card declines."))
    create_agent(baseline, tools=[log_tool(log)]).invoke(user())
    assert seen_tokens(lc_headroom, baseline.seen) >= 5 * seen_tokens(lc_headroom, model.seen)


def test_the_agent_flow_with_ainvoke(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=11)
    model = log_flow(kit)
    agent = create_agent(model, tools=[log_tool(log)], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    out = asyncio.run(agent.ainvoke(user()))
    check_log_flow(kit, lc_headroom, model, out, log)


@pytest.mark.parametrize("mode", ["updates", "messages"])
def test_the_agent_flow_with_stream(kit: Any, lc_headroom: Headroom, mode: str) -> None:
    log = kit.app_log(seed=5)
    model = log_flow(kit)
    agent = create_agent(model, tools=[log_tool(log)], middleware=[HeadroomMiddleware(headroom=lc_headroom)],
                         checkpointer=InMemorySaver())  # fmt: skip
    config: Any = {"configurable": {"thread_id": f"stream-{mode}"}}
    chunks = list(agent.stream(user(), config, stream_mode=mode))
    assert chunks
    if mode == "messages":  # the model really streamed: token chunks reached the caller
        assert any(type(chunk).__name__ == "AIMessageChunk" for chunk, _ in chunks)
    out = agent.get_state(config).values
    check_log_flow(kit, lc_headroom, model, out, log)


def test_a_json_api_response(kit: Any, lc_headroom: Headroom) -> None:
    records = kit.api_records()

    @tool
    def list_orders(page: int) -> str:
        """List orders."""
        return records

    model = kit.scripted(
        kit.call("list_orders", page=1),
        kit.retrieve_from_last_result("upstream gateway timeout"),
        AIMessage("Three orders failed."),
    )
    agent = create_agent(model, tools=[list_orders], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    out = agent.invoke(user("Which orders failed?"))
    count = lc_headroom.tokenizer().count
    compressed = model.seen[1][-1].text
    assert count(compressed) * 5 < count(records)
    for failed in ("ord_10041", "ord_10177", "ord_10263"):
        assert failed in compressed  # errors are kept in the compressed view
    retrieved = model.seen[2][-1].text
    assert retrieved.startswith('[headroom_retrieve: 3 of 300 records match "upstream gateway timeout"')
    assert all(f in retrieved for f in ("ord_10041", "ord_10177", "ord_10263"))
    assert json.loads(out["messages"][2].artifact) == json.loads(records)


def test_a_tool_that_raises_is_not_swallowed(kit: Any, lc_headroom: Headroom) -> None:
    @tool
    def flaky(x: str) -> str:
        """Fails."""
        raise ValueError("database is locked")

    model = kit.scripted(kit.call("flaky", x="1"), AIMessage("never"))
    agent = create_agent(model, tools=[flaky], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    with pytest.raises(ValueError, match="database is locked"):
        agent.invoke(user())


def test_a_tool_error_keeps_its_error_text(kit: Any, lc_headroom: Headroom) -> None:
    build = "\n".join(f"[{i:04d}] compiling src/module_{i}.c -O2 -Wall" for i in range(1500))
    tail = "\n".join(f"src/module_{i}.c:{i}: error: undefined reference to `symbol_{i}'" for i in range(12))
    failure = f"{build}\n{tail}\nmake: *** [Makefile:31: all] Error 2"

    @tool
    def make(target: str) -> str:
        """Run make."""
        raise ToolException(failure)

    make.handle_tool_error = True
    short = kit.scripted(kit.call("make", target="all"), AIMessage("it failed"))
    agent = create_agent(short, tools=[make], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    out = agent.invoke(user("build it"))
    error = out["messages"][2]
    assert error.status == "error"
    assert error.text.endswith("\n".join(failure.splitlines()[-40:]))  # the error text, verbatim
    assert MARKER_RE.search(error.text)  # only the compile noise before it is compressed
    assert error.artifact == failure


def test_an_unknown_ref_gets_the_not_found_message(kit: Any, lc_headroom: Headroom) -> None:
    model = kit.scripted(kit.call("headroom_retrieve", ref="0123456789abcdef01234567"), AIMessage("ok"))
    agent = create_agent(model, tools=[], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    out = agent.invoke(user())
    answer = out["messages"][2]
    assert (
        answer.text == "ref 0123456789abcdef01234567 is unknown or has expired; call the original tool again"
    )
    assert answer.status != "error"
    assert out["messages"][-1].text == "ok"


def test_non_string_results(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=2)
    image = {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}

    @tool
    def snapshot(service: str) -> list[dict[str, Any]]:
        """A log and a screenshot."""
        return [{"type": "text", "text": log}, image]

    @tool
    def stats(service: str) -> dict[str, Any]:
        """Raw stats as a dict."""
        return json.loads(kit.api_records())

    model = kit.scripted(
        AIMessage("", tool_calls=[{"name": "snapshot", "args": {"service": "a"}, "id": "c1"},
                                  {"name": "stats", "args": {"service": "a"}, "id": "c2"}]),
        AIMessage("done"),
    )  # fmt: skip
    agent = create_agent(
        model, tools=[snapshot, stats], middleware=[HeadroomMiddleware(headroom=lc_headroom)]
    )
    out = agent.invoke(user())
    blocks, as_json = out["messages"][2], out["messages"][3]
    assert isinstance(blocks.content, list)
    assert MARKER_RE.search(blocks.content[0]["text"])
    assert blocks.content[1] == image
    assert blocks.artifact == [{"type": "text", "text": log}, image]
    assert MARKER_RE.search(as_json.text)
    assert json.loads(as_json.artifact) == json.loads(kit.api_records())


def test_a_tool_with_its_own_artifact_keeps_it(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=4)

    @tool(response_format="content_and_artifact")
    def read_logs(service: str) -> tuple[str, dict[str, int]]:
        """Read logs; the artifact carries the line count."""
        return log, {"lines": 2000}

    model = kit.scripted(kit.call("read_logs", service="a"), AIMessage("done"))
    agent = create_agent(model, tools=[read_logs], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    result = agent.invoke(user())["messages"][2]
    assert MARKER_RE.search(result.text)
    assert result.artifact == {"lines": 2000}
    assert result.response_metadata["headroom"]["original"] == log


def test_a_command_result_is_compressed(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=8)

    @tool
    def read_logs(service: str, runtime: Any = None) -> Command[Any]:
        """Read logs and record that they were read."""
        return Command(update={"messages": [ToolMessage(log, tool_call_id="call_1", name="read_logs")]})

    model = kit.scripted(kit.call("read_logs", service="a"), AIMessage("done"))
    agent = create_agent(model, tools=[read_logs], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    result = agent.invoke(user())["messages"][2]
    assert MARKER_RE.search(result.text)
    assert result.artifact == log


def test_excluded_tools_pass_through(kit: Any, store_url: str) -> None:
    log = kit.app_log(seed=9)
    model = kit.scripted(kit.call("read_logs", service="a"), AIMessage("done"))
    middleware = HeadroomMiddleware(config=Config(store=store_url, exclude_tools=("read_*",)))
    out = create_agent(model, tools=[log_tool(log)], middleware=[middleware]).invoke(user())
    assert out["messages"][2].text == log
    assert model.seen[1][-1].text == log


def test_the_model_view_applies_the_budget_without_touching_the_state(kit: Any, store_url: str) -> None:
    results = [f"result {i}: " + " ".join(f"row{i}-{j} value {j * i}" for j in range(400)) for i in range(6)]
    steps: list[Any] = [kit.call("fetch", f"call_{i}", page=i) for i in range(6)]
    model = kit.scripted(*steps, AIMessage("done"))

    @tool
    def fetch(page: int) -> str:
        """Fetch one page."""
        return results[page]

    config = Config(store=store_url, min_tokens=10**9, max_context_tokens=8000, keep_last_turns=2)
    hr = Headroom(config, source="langchain")
    agent = create_agent(model, tools=[fetch], middleware=[HeadroomMiddleware(headroom=hr)])
    out = agent.invoke(user("page through everything"))
    last_view = model.seen[-1]
    stubs = [
        m for m in last_view if isinstance(m, ToolMessage) and "cleared to fit the context budget" in m.text
    ]
    assert stubs  # the model saw stubs for old results ...
    assert all(hr.retrieve(MARKER_RE.search(s.text)["ref"]) in results for s in stubs)
    state_results = [m.text for m in out["messages"] if isinstance(m, ToolMessage)]
    assert state_results == results  # ... while the state keeps every result whole
    count = hr.tokenizer().count
    assert sum(count(m.text) for m in last_view) <= 8000
    hr.close()


def test_a_long_conversation_is_not_recompressed_on_every_step(kit: Any, lc_headroom: Headroom) -> None:
    logs = [kit.app_log(lines=600, seed=s) for s in range(4)]
    model = kit.scripted(
        *[kit.call("read_logs", f"call_{i}", service=str(i)) for i in range(4)], AIMessage("done")
    )

    @tool
    def read_logs(service: str) -> str:
        """Read logs."""
        return logs[int(service)]

    agent = create_agent(model, tools=[read_logs], middleware=[HeadroomMiddleware(headroom=lc_headroom)])
    agent.invoke(user())
    assert lc_headroom.ledger is not None
    lc_headroom.ledger.flush()
    compressions = [e for e in lc_headroom.ledger.events(source="langchain")
                    if e.event == "compress" and e.outcome == "compressed" and not e.memo]  # fmt: skip
    assert len(compressions) == 4  # each result once, at the tool call; every later view is a memo hit


def test_a_checkpointed_thread_outlives_the_store(kit: Any, lc_headroom: Headroom) -> None:
    log = kit.app_log(seed=12)
    first = kit.scripted(kit.call("read_logs", service="a"), AIMessage("read it"))
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "t1"}}
    middleware = HeadroomMiddleware(headroom=lc_headroom)
    create_agent(first, tools=[log_tool(log)], middleware=[middleware], checkpointer=saver).invoke(
        user(), config
    )
    assert lc_headroom.store.clear() > 0  # the store forgot every original (TTL, eviction, a new machine)

    second = kit.scripted(kit.retrieve_from_last_result(QUERY, "call_9"), AIMessage("found them"))
    agent = create_agent(second, tools=[log_tool(log)], middleware=[middleware], checkpointer=saver)
    agent.invoke(user("show me the card declines"), config)
    assert second.seen[1][-1].text == kit.expected_retrieval(log, QUERY)  # restored from the artifact


def test_headroom_and_config_together_is_a_clear_error(lc_headroom: Headroom) -> None:
    from headroom import ConfigError

    with pytest.raises(ConfigError, match="not both"):
        HeadroomMiddleware(headroom=lc_headroom, config=Config())


def test_the_default_engine_tags_events_langchain() -> None:
    middleware = HeadroomMiddleware()
    assert middleware.headroom.source == "langchain"
    assert [t.name for t in middleware.tools] == ["headroom_retrieve"]
    middleware.headroom.close()


def test_with_freshness_the_view_ages_results_and_the_state_keeps_them(kit: Any, store_url: str) -> None:
    logs = [kit.app_log(lines=400, seed=s) for s in range(6)]
    model = kit.scripted(*[kit.call("read_logs", f"call_{i}", service=str(i)) for i in range(6)],
                         AIMessage("done"))  # fmt: skip

    @tool
    def read_logs(service: str) -> str:
        """Read logs."""
        return logs[int(service)]

    config = Config(
        store=store_url, fresh_turns=2, fresh_batch=1, fresh_batch_tokens=0, fresh_max_tokens=10**6
    )
    hr = Headroom(config, source="langchain")
    agent = create_agent(model, tools=[read_logs], middleware=[HeadroomMiddleware(headroom=hr)])
    out = agent.invoke(user())
    assert model.seen[1][-1].text == logs[0]  # the newest result reaches the model whole
    view = [m.text for m in model.seen[-1] if isinstance(m, ToolMessage)]
    assert view[-2:] == logs[-2:]  # the last fresh_turns results are whole ...
    assert all(
        MARKER_RE.search(text) and len(text) * 5 < len(log)
        for text, log in zip(view[:-2], logs, strict=False)
    )
    assert [m.text for m in out["messages"] if isinstance(m, ToolMessage)] == logs  # ... the state keeps all
    hr.close()
