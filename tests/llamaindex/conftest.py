"""Real LlamaIndex objects for the adapter tests; only the LLM and the embeddings are stand-ins.

- ``BagOfWords``: a deterministic embedding (hashed word counts, normalised) that makes retrieval
  meaningful; ``MockEmbedding`` scores every node alike.
- ``scripted_llm``: LlamaIndex's own ``MockFunctionCallingLLM`` driven by a script of steps; each step
  is a ``ChatMessage`` or a function of the messages the LLM receives, and every message list is kept.
- For query engines, ``MockLLM`` (it echoes the prompt it receives).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from headroom import Config, Headroom
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM

DIMENSIONS = 1024
REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{24})")


def bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) > 2:
            vector[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % DIMENSIONS] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class BagOfWords(BaseEmbedding):
    def _get_text_embedding(self, text: str) -> list[float]:
        return bag_of_words(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return bag_of_words(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return bag_of_words(query)


Step = ChatMessage | Callable[[list[ChatMessage]], ChatMessage]


def scripted_llm(*steps: Step) -> tuple[MockFunctionCallingLLM, list[list[ChatMessage]]]:
    """A function-calling LLM that plays ``steps`` in order; the second value collects what it saw."""
    seen: list[list[ChatMessage]] = []
    script = iter(steps)

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        seen.append(list(messages))
        step = next(script)
        return step(list(messages)) if callable(step) else step

    return MockFunctionCallingLLM(response_generator=respond), seen


def call(name: str, call_id: str = "call_1", **args: Any) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT,
                       blocks=[ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=args)])  # fmt: skip


def answer(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def retrieve_from_last_result(
    query: str | None, call_id: str = "call_2"
) -> Callable[[list[ChatMessage]], ChatMessage]:
    def step(messages: list[ChatMessage]) -> ChatMessage:
        result = [m for m in messages if m.role == MessageRole.TOOL][-1]
        found = REF.search(result.content or "")
        assert found, f"no retrieve marker in what the LLM saw: {(result.content or '')[:300]!r}"
        return call("headroom_retrieve", call_id, ref=found[1], **({"query": query} if query else {}))

    return step


class Kit:
    BagOfWords = BagOfWords
    scripted_llm = staticmethod(scripted_llm)
    call = staticmethod(call)
    answer = staticmethod(answer)
    retrieve_from_last_result = staticmethod(retrieve_from_last_result)
    REF = REF


@pytest.fixture
def kit(outputs: Any) -> Any:
    """The helpers above and the generated tool outputs of the root conftest, in one namespace."""
    return type("Kit", (Kit, outputs), {})


@pytest.fixture
def li_hr(store_url: str) -> Iterator[Headroom]:
    """The engine the LlamaIndex parts share in a test: default thresholds, a real SQLite store."""
    # no time budget: a cold first compression on a loaded machine must not pass through unmarked
    instance = Headroom(Config(store=store_url, time_budget=0), source="llamaindex")
    yield instance
    instance.close()
