"""Headroom in real Agno agents (hook, toolkit, compression manager); only the model is scripted."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agno.agent import Agent
from agno.tools.function import ToolResult
from headroom import Headroom
from headroom.integration import MARKER_RE
from headroom_agno import HeadroomCompressionManager, HeadroomHook, HeadroomTools, with_headroom

QUESTION = "Why are payments failing?"
QUERY = "payment card_declined"


def log_tool(text: str) -> Any:
    def read_logs(service: str) -> str:
        """Read a service's application log.

        Args:
            service: the service name.
        """
        return text

    return read_logs


def flow(kit: Any, *, retrieve: bool = True) -> Any:
    steps = [kit.call(("read_logs", {"service": "payments"}))]
    if retrieve:
        steps.append(kit.retrieve_from_last_result(QUERY))
    return kit.ScriptedModel(script=[*steps, kit.answer("Card declines at the gateway.")])


def tokens(hr: Headroom, model: Any) -> int:
    count = hr.tokenizer().count
    return sum(count(m.content) for seen in model.seen for m in seen)


def check_flow(
    kit: Any, hr: Headroom, model: Any, run: Any, log: str, compressed_in_state: bool = True
) -> None:
    assert all("headroom_retrieve" in names for names in model.offered)
    seen = [m for m in model.seen[1] if m.role == "tool"][-1]
    marker = MARKER_RE.search(seen.content)
    assert marker is not None
    assert marker["tool"] == "headroom_retrieve"
    assert hr.tokenizer().count(seen.content) * 20 < hr.tokenizer().count(log)
    retrieved = [m for m in model.seen[2] if m.role == "tool"][-1]
    assert retrieved.tool == "headroom_retrieve"
    assert retrieved.content == kit.expected_retrieval(log, QUERY)  # exactly the matching original lines
    assert run.content == "Card declines at the gateway."
    stored = [m for m in run.messages if m.role == "tool"]
    assert stored[1].content == retrieved.content  # never compressed again
    if compressed_in_state:
        assert stored[0].content == seen.content
    assert hr.ledger is not None
    hr.ledger.flush()
    events = hr.ledger.events(source="agno")
    assert any(e.event == "compress" and e.outcome == "compressed" for e in events)
    assert any(e.event == "retrieve" and e.outcome == "found" for e in events)


def test_the_hook_flow_with_run(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log()
    hook = HeadroomHook(headroom=agno_hr)
    model = flow(kit)
    agent = Agent(model=model, tools=[log_tool(log), HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    run = agent.run(QUESTION)
    check_flow(kit, agno_hr, model, run, log)

    baseline = flow(kit, retrieve=False)
    Agent(model=baseline, tools=[log_tool(log)], telemetry=False).run(QUESTION)
    assert tokens(agno_hr, baseline) >= 5 * tokens(agno_hr, model)


def test_the_hook_flow_with_arun(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=3)
    hook = HeadroomHook(headroom=agno_hr)
    model = flow(kit)
    agent = Agent(model=model, tools=[log_tool(log), HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    run = asyncio.run(agent.arun(QUESTION))
    check_flow(kit, agno_hr, model, run, log)


def test_an_async_tool_in_an_async_run(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=4)

    async def read_logs(service: str) -> str:
        """Read a service's application log.

        Args:
            service: the service name.
        """
        await asyncio.sleep(0)
        return log

    hook = HeadroomHook(headroom=agno_hr)
    model = flow(kit)
    agent = Agent(model=model, tools=[read_logs, HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    run = asyncio.run(agent.arun(QUESTION))
    check_flow(kit, agno_hr, model, run, log)


def test_the_hook_flow_streaming(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=5)
    hook = HeadroomHook(headroom=agno_hr)
    model = flow(kit)
    agent = Agent(model=model, tools=[log_tool(log), HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    from agno.run.agent import RunOutput

    events = list(agent.run(QUESTION, stream=True, yield_run_output=True))
    assert model.streamed == 3  # every model call streamed
    assert any(type(e).__name__ == "RunContentEvent" for e in events)
    run = events[-1]
    assert isinstance(run, RunOutput)
    check_flow(kit, agno_hr, model, run, log)


def test_the_compression_manager_flow(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=6)
    model = flow(kit)
    manager = HeadroomCompressionManager(headroom=agno_hr)
    agent = Agent(model=model, tools=[log_tool(log), HeadroomTools(headroom=agno_hr)], compression_manager=manager,
                  telemetry=False)  # fmt: skip
    run = agent.run(QUESTION)
    check_flow(kit, agno_hr, model, run, log, compressed_in_state=False)
    stored = [m for m in run.messages if m.role == "tool"]
    assert stored[0].content == log  # Agno keeps the original in content ...
    assert MARKER_RE.search(stored[0].compressed_content)  # ... and sends our text
    assert stored[1].compressed_content == stored[1].content  # retrieved content passes through
    assert manager.stats["tool_results_compressed"] == 1


def test_the_compression_manager_with_arun_and_without_the_tool(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=7)
    model = flow(kit, retrieve=False)
    manager = HeadroomCompressionManager(headroom=agno_hr)
    agent = Agent(model=model, tools=[log_tool(log)], compression_manager=manager, telemetry=False)
    asyncio.run(agent.arun(QUESTION))
    seen = [m for m in model.seen[1] if m.role == "tool"][-1].content
    marker = MARKER_RE.search(seen)
    assert marker is not None
    assert marker["tool"] is None  # no retrieve tool offered: the marker invites no call


def test_a_tool_that_raises(kit: Any, agno_hr: Headroom) -> None:
    def charge(order: str) -> str:
        """Charge an order.

        Args:
            order: the order id.
        """
        raise ValueError("card_declined: insufficient funds on ord_123")

    hook = HeadroomHook(headroom=agno_hr)
    model = kit.ScriptedModel(script=[kit.call(("charge", {"order": "ord_123"})), kit.answer("it failed")])
    agent = Agent(model=model, tools=[charge, HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    run = agent.run("charge it")
    error = [m for m in model.seen[1] if m.role == "tool"][-1]
    assert error.content == "card_declined: insufficient funds on ord_123"  # verbatim
    assert run.content == "it failed"


def test_an_unknown_ref(kit: Any, agno_hr: Headroom) -> None:
    hook = HeadroomHook(headroom=agno_hr)
    model = kit.ScriptedModel(script=[kit.call(("headroom_retrieve", {"ref": "0123456789abcdef01234567"})),
                                      kit.answer("ok")])  # fmt: skip
    agent = Agent(model=model, tools=[HeadroomTools(hook)], tool_hooks=[hook], telemetry=False)
    run = agent.run(QUESTION)
    answer = [m for m in model.seen[1] if m.role == "tool"][-1]
    assert (
        answer.content
        == "ref 0123456789abcdef01234567 is unknown or has expired; call the original tool again"
    )
    assert run.content == "ok"


def test_several_tools_in_one_turn_and_non_string_results(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=8)
    records = json.loads(kit.api_records())

    def list_orders(page: int) -> dict[str, Any]:
        """List orders.

        Args:
            page: the page.
        """
        return records

    def snapshot(service: str) -> ToolResult:
        """A log snapshot.

        Args:
            service: the service.
        """
        return ToolResult(content=log, metadata={"lines": 2000})

    def status(service: str) -> dict[str, str]:
        """A small status.

        Args:
            service: the service.
        """
        return {"service": service, "state": "ok"}

    hook = HeadroomHook(headroom=agno_hr)
    model = kit.ScriptedModel(script=[
        kit.call(("list_orders", {"page": 1}), ("snapshot", {"service": "a"}), ("status", {"service": "a"})),
        kit.answer("done"),
    ])  # fmt: skip
    agent = Agent(model=model, tools=[list_orders, snapshot, status, HeadroomTools(hook)], tool_hooks=[hook],
                  telemetry=False)  # fmt: skip
    agent.run("Which orders failed?")
    seen = {m.tool: m.content for m in model.seen[1] if m.role == "tool"}
    assert MARKER_RE.search(seen["list_orders"])
    assert all(o in seen["list_orders"] for o in ("ord_10041", "ord_10177", "ord_10263"))
    assert MARKER_RE.search(seen["snapshot"])
    assert seen["status"] == "{'service': 'a', 'state': 'ok'}"  # too small: Agno shows it as always
    ref = MARKER_RE.search(seen["list_orders"])["ref"]
    assert json.loads(agno_hr.retrieve(ref)) == records


def test_knowledge_search_results_are_compressed_with_the_search_query(kit: Any, agno_hr: Headroom) -> None:
    filler = [
        f"The billing process in region {j} is reviewed every week by the platform team." for j in range(60)
    ]
    answer = "Refunds above 500 euros need approval from the finance lead, Dana Okafor."
    chunks = [" ".join(filler[i : i + 30]) for i in range(0, 60, 30)]
    chunks[1] = chunks[1].replace("region 44 is", f"region 44 is. {answer} The process in region 44 is")

    def retriever(
        agent: Any, query: str, num_documents: int | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        return [
            {"name": f"handbook-{i}", "content": chunk * 3, "meta_data": {"page": i}}
            for i, chunk in enumerate(chunks)
        ]

    hook = HeadroomHook(headroom=agno_hr)
    model = kit.ScriptedModel(script=[
        kit.call(("search_knowledge_base", {"query": "refund approval above 500 euros"})), kit.answer("Dana"),
    ])  # fmt: skip
    agent = Agent(model=model, knowledge_retriever=retriever, search_knowledge=True, tools=[HeadroomTools(hook)],
                  tool_hooks=[hook], telemetry=False)  # fmt: skip
    agent.run("Who signs off big refunds?")
    seen = [m for m in model.seen[1] if m.role == "tool"][-1]
    assert seen.tool == "search_knowledge_base"
    assert answer in seen.content  # the search query picked the sentence, not the user's wording
    assert MARKER_RE.search(seen.content)
    assert agno_hr.tokenizer().count(seen.content) * 4 < sum(agno_hr.tokenizer().count(c * 3) for c in chunks)


def test_with_headroom_attaches_both(kit: Any) -> None:
    log = kit.app_log(seed=9)
    model = flow(kit)
    agent = with_headroom(Agent(model=model, tools=[log_tool(log)], telemetry=False))
    run = agent.run(QUESTION)
    assert run.content == "Card declines at the gateway."
    hooks = [h for h in agent.tool_hooks or [] if isinstance(h, HeadroomHook)]
    assert len(hooks) == 1
    assert [m for m in model.seen[2] if m.role == "tool"][-1].content == kit.expected_retrieval(log, QUERY)
    hooks[0].headroom.close()


def test_without_the_toolkit_markers_invite_no_call(kit: Any, agno_hr: Headroom) -> None:
    log = kit.app_log(seed=10)
    hook = HeadroomHook(headroom=agno_hr)
    model = flow(kit, retrieve=False)
    Agent(model=model, tools=[log_tool(log)], tool_hooks=[hook], telemetry=False).run(QUESTION)
    seen = [m for m in model.seen[1] if m.role == "tool"][-1].content
    marker = MARKER_RE.search(seen)
    assert marker is not None
    assert marker["tool"] is None
    assert agno_hr.retrieve(marker["ref"]) == log  # still recoverable by the application


def test_the_compression_manager_with_freshness_ages_results(kit: Any, store_url: str) -> None:
    from headroom import Config

    logs = [kit.app_log(lines=400, seed=s) for s in range(5)]

    def read_logs(service: str) -> str:
        """Read a service's application log.

        Args:
            service: the service number.
        """
        return logs[int(service)]

    model = kit.ScriptedModel(script=[*[kit.call(("read_logs", {"service": str(i)})) for i in range(5)],
                                      kit.answer("done")])  # fmt: skip
    config = Config(
        store=store_url, fresh_turns=2, fresh_batch=1, fresh_batch_tokens=0, fresh_max_tokens=10**6
    )
    hr = Headroom(config, source="agno")
    manager = HeadroomCompressionManager(headroom=hr)
    agent = Agent(model=model, tools=[read_logs], compression_manager=manager, telemetry=False)
    run = agent.run(QUESTION)
    assert [m.content for m in model.seen[1] if m.role == "tool"] == logs[:1]  # the newest result, whole
    last = [m.content for m in model.seen[-1] if m.role == "tool"]
    assert last[-2:] == logs[-2:]  # the last two turns' results whole ...
    assert all(
        MARKER_RE.search(text) and len(text) * 5 < len(logs[0]) for text in last[:-2]
    )  # ... older aged
    assert [m.content for m in run.messages if m.role == "tool"] == logs  # Agno keeps every original
    hr.close()


def test_the_hook_with_freshness_sends_fresh_results_whole(kit: Any, store_url: str) -> None:
    from headroom import Config

    small, big = kit.app_log(lines=60, seed=1), kit.app_log(lines=2000, seed=2)
    hr = Headroom(Config(store=store_url, fresh_turns=5, fresh_max_tokens=5_000), source="agno")
    hook = HeadroomHook(headroom=hr)
    for log, whole in ((small, True), (big, False)):  # over fresh_max_tokens: compressed at once
        model = flow(kit, retrieve=False)
        Agent(model=model, tools=[log_tool(log)], tool_hooks=[hook], telemetry=False).run(QUESTION)
        seen = [m for m in model.seen[1] if m.role == "tool"][-1].content
        assert (seen == log) is whole
        assert bool(MARKER_RE.search(seen)) is not whole
    hr.close()
