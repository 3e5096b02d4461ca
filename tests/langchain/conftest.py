"""Real LangChain objects for the adapter tests; only the chat model is scripted.

``ScriptedModel`` is a ``GenericFakeChatModel`` that implements ``bind_tools`` (recording the names
it was given) and records every message list it receives. A script step is an ``AIMessage`` or a
function of the messages the model sees (so a step can read a ref out of a compressed result), and
streaming yields real tool-call chunks (the base class would drop them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from headroom import Config, Headroom
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

Step = AIMessage | Callable[[list[BaseMessage]], AIMessage]
REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{24})")


class ScriptedModel(GenericFakeChatModel):
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[list[str]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedModel:
        self.bound.append([convert_to_openai_tool(tool)["function"]["name"] for tool in tools])
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:  # fmt: skip
        self.seen.append(list(messages))
        step = next(self.messages)
        message = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        message = self._generate(messages).generations[0].message
        assert isinstance(message, AIMessage)
        chunks = [
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(message.tool_calls)
        ]
        yield ChatGenerationChunk(message=AIMessageChunk(
            content=message.content, id=message.id, tool_call_chunks=chunks, chunk_position="last"))  # fmt: skip


def scripted(*steps: Step) -> ScriptedModel:
    return ScriptedModel(messages=iter(steps))


def call(name: str, call_id: str = "call_1", **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def retrieve_from_last_result(
    query: str | None, call_id: str = "call_2"
) -> Callable[[list[BaseMessage]], AIMessage]:
    """A step that calls headroom_retrieve with the ref of the newest tool result the model saw."""

    def step(messages: list[BaseMessage]) -> AIMessage:
        result = [m for m in messages if isinstance(m, ToolMessage)][-1]
        found = REF.search(result.text)
        assert found, f"no retrieve marker in what the model saw: {result.text[:300]!r}"
        args = {"ref": found[1], **({"query": query} if query else {})}
        return call("headroom_retrieve", call_id, **args)

    return step


@pytest.fixture
def lc_headroom(store_url: str) -> Iterator[Headroom]:
    """The engine the adapters share in a test: default thresholds, a real SQLite store."""
    # no time budget: a cold first compression on a loaded machine must not pass through unmarked
    instance = Headroom(Config(store=store_url, time_budget=0), source="langchain")
    yield instance
    instance.close()


class Kit:
    """The helpers above, for test modules (``--import-mode=importlib`` cannot import conftest)."""

    ScriptedModel = ScriptedModel
    scripted = staticmethod(scripted)
    call = staticmethod(call)
    retrieve_from_last_result = staticmethod(retrieve_from_last_result)
    REF = REF


@pytest.fixture
def kit(outputs: Any) -> Any:
    """The helpers above and the generated tool outputs of the root conftest, in one namespace."""
    return type("Kit", (Kit, outputs), {})
