"""LangChain: a real ``create_agent`` with ``HeadroomMiddleware`` (see ``_adapters`` for the flow), and
``wrap_model_call`` on a 40-message thread (memo warm, as on every later step): total and the share
outside the core."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from ._adapters import QUESTION, RUNS, Adapter, Flow, run_adapter, time_core
from ._core import Context, Section
from ._format import fmt_ms


def _scripted(steps: list[Any]) -> Any:
    """A GenericFakeChatModel that binds tools and records what it reads; steps may read the messages."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.outputs import ChatGeneration, ChatResult
    from pydantic import Field

    class Scripted(GenericFakeChatModel):
        seen: list[list[Any]] = Field(default_factory=list)

        def bind_tools(self, tools: Any, **kwargs: Any) -> Scripted:
            return self

        def _generate(self, messages: list[Any], *args: Any, **kwargs: Any) -> ChatResult:
            self.seen.append(list(messages))
            step = next(self.messages)
            message = step(messages) if callable(step) else step
            return ChatResult(generations=[ChatGeneration(message=message)])

    return Scripted(messages=iter(steps))


def _engine(store: str) -> Any:
    from headroom import Config, Headroom

    return Headroom(Config(store=store, ledger=False), source="langchain")


def _run(output: str, query: str | None, store: str | None) -> Flow:
    from headroom.integration import MARKER_RE
    from headroom_langchain import HeadroomMiddleware
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    @tool
    def read_output(source: str) -> str:
        """Read the tool output."""
        return output

    def retrieve(messages: list[Any]) -> AIMessage:
        marker = MARKER_RE.search(messages[-1].text)
        if marker is None:
            return AIMessage("nothing to retrieve")
        args = {"ref": marker["ref"], "query": query}
        return AIMessage("", tool_calls=[{"name": "headroom_retrieve", "args": args, "id": "call_2"}])

    call = AIMessage("", tool_calls=[{"name": "read_output", "args": {"source": "x"}, "id": "call_1"}])
    steps: list[Any] = [call, AIMessage("answered")]
    hr = _engine(store) if store else None
    if hr is not None and query:
        steps.insert(1, retrieve)
    model = _scripted(steps)
    middleware = [HeadroomMiddleware(headroom=hr)] if hr is not None else []
    state = create_agent(model, tools=[read_output], middleware=middleware).invoke(
        {"messages": [{"role": "user", "content": QUESTION.format(query or "errors")}]}
    )
    if hr is not None:
        hr.close()
    retrieved = model.seen[2][-1].text if len(model.seen) > 2 else None
    seen = [m.text for messages in model.seen for m in messages]
    kept = state["messages"][2]  # the artifact holds the original, or (freshness on) the content is it
    return Flow(seen, retrieved, output in (kept.artifact, kept.content) if hr is not None else True)


def _overhead(output: str, store: str) -> tuple[float, float]:
    from headroom_langchain import HeadroomMiddleware
    from langchain.agents.middleware.types import ToolCallRequest
    from langchain_core.messages import HumanMessage, ToolMessage

    hr = _engine(store)
    hr.compress_text("warm up: open the store " * 200, query="store")
    core = time_core(hr)
    middleware = HeadroomMiddleware(headroom=hr)
    call = {"name": "read_output", "args": {"source": "x"}, "id": "call_1", "type": "tool_call"}
    request = ToolCallRequest(tool_call=call, tool=None, state={"messages": [HumanMessage("any errors?")]},
                              runtime=None)  # type: ignore[arg-type]  # fmt: skip
    result = ToolMessage(output, tool_call_id="call_1", name="read_output")
    started = time.perf_counter()
    middleware.wrap_tool_call(request, lambda _: result)
    total = (time.perf_counter() - started) * 1000
    hr.close()
    return total, sum(core)


def _view_overhead(outputs: list[str], store: str) -> tuple[float, float]:
    """``wrap_model_call`` on a 40-message thread, memo warm: (median total ms, median ms outside core)."""
    from headroom_langchain import HeadroomMiddleware
    from langchain.agents.middleware import ModelRequest
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    hr = _engine(store)
    messages: list[Any] = []
    for i in range(13):
        messages += [
            HumanMessage(f"step {i}: what failed?"),
            AIMessage("", tool_calls=[{"name": "read_output", "args": {"i": i}, "id": f"c{i}"}]),
            ToolMessage(outputs[i % len(outputs)], tool_call_id=f"c{i}", name="read_output"),
        ]
    messages.append(HumanMessage("summarise"))
    middleware = HeadroomMiddleware(headroom=hr)
    request = ModelRequest(model=_scripted([]), messages=messages)
    middleware.wrap_model_call(request, lambda r: r)  # compress once; later steps hit the memo
    totals, outside = [], []
    core = time_core(hr, "compress")
    for _ in range(RUNS):
        core.clear()
        started = time.perf_counter()
        middleware.wrap_model_call(request, lambda r: r)
        total = (time.perf_counter() - started) * 1000
        totals.append(total)
        outside.append(total - sum(core))
    hr.close()
    return statistics.median(totals), statistics.median(outside)


ADAPTER = Adapter("langchain", "langchain: create_agent + HeadroomMiddleware (scripted model)",
                  _run, _overhead, "the state keeps the original")  # fmt: skip


def run_langchain(ctx: Context) -> Section:
    from ._adapters import cases

    section = run_adapter(ctx, ADAPTER)
    with tempfile.TemporaryDirectory(prefix="headroom-langchain-view-") as tmp:
        outputs = [case.output for case in cases(ctx.data_dir)]
        view_ms, outside_ms = _view_overhead(outputs, f"sqlite:///{tmp}/view.db")
    section.notes.append(f"wrap_model_call on a 40-message thread, memo warm: {fmt_ms(view_ms)} ms per "
                         f"model call, {fmt_ms(outside_ms)} ms of it outside the core")  # fmt: skip
    section.data.update({"view_ms": view_ms, "view_outside_ms": outside_ms})
    return section
