"""Real Agno agents for the adapter tests; only the model is scripted (Agno ships no test model).

``ScriptedModel`` subclasses Agno's abstract ``Model`` (see FRAMEWORKS.md). It records, for every call,
what a real provider adapter would send: each message's ``get_content(use_compressed_content=...)``, as
``OpenAIChat._format_message`` does, and the names of the tools offered. A script step is a
``ModelResponse`` or a function of the recorded messages (so a step can read a ref).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from agno.models.base import Model
from agno.models.message import Message
from agno.models.response import ModelResponse
from headroom import Config, Headroom

REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{24})")


@dataclass
class Seen:
    role: str
    tool: str | None
    content: str


Step = ModelResponse | Callable[[list[Seen]], ModelResponse]


@dataclass
class ScriptedModel(Model):
    id: str = "scripted"
    name: str = "ScriptedModel"
    provider: str = "test"
    script: list[Any] = field(default_factory=list)
    seen: list[list[Seen]] = field(default_factory=list)
    offered: list[list[str]] = field(default_factory=list)
    streamed: int = 0  # calls that came through invoke_stream / ainvoke_stream

    def invoke(self, messages: list[Message], assistant_message: Any = None, response_format: Any = None,
               tools: Any = None, tool_choice: Any = None, run_response: Any = None,
               compress_tool_results: bool = False, **kwargs: Any) -> ModelResponse:  # fmt: skip
        sent = [Seen(m.role, m.tool_name, str(m.get_content(use_compressed_content=compress_tool_results) or ""))
                for m in messages]  # fmt: skip
        self.seen.append(sent)
        self.offered.append([t.get("function", t).get("name") for t in tools or []])
        step = self.script[len(self.seen) - 1]
        return step(sent) if callable(step) else step

    async def ainvoke(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.invoke(*args, **kwargs)

    def invoke_stream(self, *args: Any, **kwargs: Any) -> Iterator[ModelResponse]:
        self.streamed += 1
        yield self.invoke(*args, **kwargs)

    async def ainvoke_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ModelResponse]:
        self.streamed += 1
        yield self.invoke(*args, **kwargs)

    def _parse_provider_response(self, response: Any, **kwargs: Any) -> Any:
        return response

    def _parse_provider_response_delta(self, response: Any) -> Any:
        return response


def call(*calls: tuple[str, dict[str, Any]]) -> ModelResponse:
    tool_calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(calls, 1)
    ]
    return ModelResponse(role="assistant", content="", tool_calls=tool_calls)


def answer(text: str) -> ModelResponse:
    return ModelResponse(role="assistant", content=text)


def retrieve_from_last_result(query: str | None) -> Callable[[list[Seen]], ModelResponse]:
    """A step that calls headroom_retrieve with the ref in the newest tool result the model saw."""

    def step(seen: list[Seen]) -> ModelResponse:
        result = [m for m in seen if m.role == "tool"][-1]
        found = REF.search(result.content)
        assert found, f"no retrieve marker in what the model saw: {result.content[:300]!r}"
        return call(("headroom_retrieve", {"ref": found[1], **({"query": query} if query else {})}))

    return step


class Kit:
    ScriptedModel = ScriptedModel
    call = staticmethod(call)
    answer = staticmethod(answer)
    retrieve_from_last_result = staticmethod(retrieve_from_last_result)
    REF = REF


@pytest.fixture
def agno_hr(store_url: str) -> Iterator[Headroom]:
    """The engine the Agno parts share in a test: default thresholds, a real SQLite store."""
    # no time budget: a cold first compression on a loaded machine must not pass through unmarked
    instance = Headroom(Config(store=store_url, time_budget=0), source="agno")
    yield instance
    instance.close()


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGNO_TELEMETRY", "false")  # every Agent below also passes telemetry=False


@pytest.fixture
def kit(outputs: Any) -> Any:
    """The helpers above and the generated tool outputs of the root conftest, in one namespace."""
    return type("Kit", (Kit, outputs), {})
