"""Agno: a real ``Agent`` with ``HeadroomHook`` and ``HeadroomTools`` (see ``_adapters`` for the flow),
and the same flow with ``HeadroomCompressionManager`` instead of the hook."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ._adapters import QUESTION, Adapter, Flow, run_adapter, time_core
from ._core import Context, Section

os.environ.setdefault("AGNO_TELEMETRY", "false")  # every Agent below also passes telemetry=False


def _model(steps: list[Any]) -> Any:
    """A scripted Agno ``Model`` (Agno ships none) that records what a provider would be sent."""
    from agno.models.base import Model
    from agno.models.response import ModelResponse

    @dataclass
    class Scripted(Model):
        id: str = "scripted"
        name: str = "Scripted"
        provider: str = "bench"
        script: list[Any] = field(default_factory=list)
        seen: list[list[Any]] = field(default_factory=list)

        def invoke(self, messages: list[Any], *args: Any, compress_tool_results: bool = False,
                   **kwargs: Any) -> ModelResponse:  # fmt: skip
            sent = [(m.role, m.tool_name, str(m.get_content(use_compressed_content=compress_tool_results)))
                    for m in messages]  # fmt: skip
            self.seen.append(sent)
            step = self.script[len(self.seen) - 1]
            return step(sent) if callable(step) else step

        async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.invoke(*args, **kwargs)

        def invoke_stream(self, *args: Any, **kwargs: Any) -> Any:
            yield self.invoke(*args, **kwargs)

        async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> Any:
            yield self.invoke(*args, **kwargs)

        def _parse_provider_response(self, response: Any, **kwargs: Any) -> Any:
            return response

        def _parse_provider_response_delta(self, response: Any) -> Any:
            return response

    return Scripted(script=steps)


def _call(name: str, args: dict[str, Any], n: int) -> Any:
    from agno.models.response import ModelResponse

    call = {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return ModelResponse(role="assistant", content="", tool_calls=[call])


def _engine(store: str) -> Any:
    from headroom import Config, Headroom

    return Headroom(Config(store=store, ledger=False), source="agno")


def _flow(output: str, query: str | None, store: str | None, manager: bool) -> Flow:
    from agno.agent import Agent
    from agno.models.response import ModelResponse
    from headroom.integration import MARKER_RE
    from headroom_agno import HeadroomCompressionManager, HeadroomHook, HeadroomTools

    def read_output(source: str) -> str:
        """Read the tool output.

        Args:
            source: where from.
        """
        return output

    def retrieve(seen: list[Any]) -> Any:
        marker = MARKER_RE.search([content for role, _, content in seen if role == "tool"][-1])
        if marker is None:
            return ModelResponse(role="assistant", content="nothing to retrieve")
        return _call("headroom_retrieve", {"ref": marker["ref"], "query": query}, 2)

    steps: list[Any] = [
        _call("read_output", {"source": "x"}, 1),
        ModelResponse(role="assistant", content="ok"),
    ]
    hr = _engine(store) if store else None
    extra: dict[str, Any] = {}
    tools: list[Any] = [read_output]
    if hr is not None:
        if query:
            steps.insert(1, retrieve)
        hook = HeadroomHook(headroom=hr)
        tools.append(HeadroomTools(hook))
        extra = (
            {"compression_manager": HeadroomCompressionManager(headroom=hr)}
            if manager
            else {"tool_hooks": [hook]}
        )
    model = _model(steps)
    run = Agent(model=model, tools=tools, telemetry=False, **extra).run(QUESTION.format(query or "errors"))
    if hr is not None:
        hr.close()
    retrieved = [c for role, _, c in model.seen[2] if role == "tool"][-1] if len(model.seen) > 2 else None
    stored = [m for m in run.messages or [] if m.role == "tool"]
    kept = hr is None or (
        stored[0].content == output if manager else MARKER_RE.search(str(stored[0].content)) is not None
    )
    return Flow([content for seen in model.seen for _, _, content in seen], retrieved, kept)


def _overhead(output: str, store: str) -> tuple[float, float]:
    from headroom_agno import HeadroomHook

    hr = _engine(store)
    hr.compress_text("warm up: open the store " * 200, query="store")
    core = time_core(hr)
    hook = HeadroomHook(headroom=hr)
    started = time.perf_counter()
    hook("read_output", lambda **_: output, {"source": "x"})
    total = (time.perf_counter() - started) * 1000
    hr.close()
    return total, sum(core)


def _manager_overhead(output: str, store: str) -> tuple[float, float]:
    from agno.models.message import Message
    from headroom_agno import HeadroomCompressionManager

    hr = _engine(store)
    hr.compress_text("warm up: open the store " * 200, query="store")
    core, run = time_core(hr), time_core(hr, "compress")  # the freshness rule reads the whole run
    manager = HeadroomCompressionManager(headroom=hr)
    result = Message(role="tool", content=output, tool_name="read_output", tool_call_id="call_1")
    messages = [Message(role="user", content="any errors?"), result]
    started = time.perf_counter()
    manager.should_compress(messages, [])
    manager.compress(messages)
    total = (time.perf_counter() - started) * 1000
    hr.close()
    return total, sum(core) + sum(run)


HOOK = Adapter("agno", "agno: Agent + HeadroomHook + HeadroomTools (scripted model)",
               lambda output, query, store: _flow(output, query, store, manager=False), _overhead,
               "tool message holds the compressed text")  # fmt: skip
MANAGER = Adapter("agno-manager", "agno: Agent + HeadroomCompressionManager + HeadroomTools (scripted model)",
                  lambda output, query, store: _flow(output, query, store, manager=True), _manager_overhead,
                  "Message.content keeps the original")  # fmt: skip


def run_agno(ctx: Context) -> Section:
    return run_adapter(ctx, HOOK)


def run_agno_manager(ctx: Context) -> Section:
    return run_adapter(ctx, MANAGER)
