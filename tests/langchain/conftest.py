"""Real LangChain objects for the adapter tests; only the chat model is scripted.

``ScriptedModel`` is a ``GenericFakeChatModel`` that implements ``bind_tools`` (recording the names
it was given) and records every message list it receives. A script step is an ``AIMessage`` or a
function of the messages the model sees (so a step can read a ref out of a compressed result), and
streaming yields real tool-call chunks (the base class would drop them).
"""

from __future__ import annotations

import json
import random
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


# --- realistic tool outputs, generated here (tests never read ../shared) -------------------------------

_TEMPLATES = [
    "INFO  http: GET /api/v2/orders/{order} 200 {ms}ms user={user}",
    "INFO  http: POST /api/v2/carts/{cart}/items 201 {ms}ms user={user}",
    "DEBUG cache: hit key=product:{product} ttl={ttl}s",
    "DEBUG cache: miss key=inventory:{product} loading from db",
    "INFO  worker[{worker}]: job {job} finished in {ms}ms",
    "INFO  db.pool: checked out connection {conn} (active={active}, idle={idle})",
    "WARN  http: slow request GET /api/v2/search?q={word} took {slow}ms",
    "INFO  auth: session {session} refreshed for user={user}",
    "DEBUG scheduler: tick {job} queue_depth={active}",
    "INFO  metrics: flushed {active} series to statsd in {ms}ms",
]
_ERRORS = [
    "ERROR payment: charge failed for order {order}: card_declined (gateway=stripe, attempt={attempt})",
    "ERROR db.pool: timeout acquiring connection after 30000ms (active={active}, idle=0)",
]
_TRACE = [
    "ERROR worker[{worker}]: unhandled exception in job {job}",
    "Traceback (most recent call last):",
    '  File "/srv/app/worker.py", line 214, in run',
    "    result = handler(payload)",
    '  File "/srv/app/jobs/invoice.py", line 88, in handle',
    "    total = sum(line.amount for line in invoice.lines)",
    "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'",
]


def app_log(lines: int = 2000, seed: int = 7) -> str:
    """An application log: many templates, timestamps, ids, a few errors and stack traces."""
    rng = random.Random(seed)
    out: list[str] = []
    second = 0
    while len(out) < lines:
        second += rng.randint(0, 2)
        stamp = f"2026-03-14T09:{second // 60 % 60:02d}:{second % 60:02d}.{rng.randint(0, 999):03d}Z"
        values = {
            "order": f"ord_{rng.randint(10**7, 10**8 - 1)}", "cart": f"c{rng.randint(1000, 9999)}",
            "user": f"u{rng.randint(1, 5000)}", "ms": rng.randint(3, 180), "product": rng.randint(1, 900),
            "ttl": rng.choice([30, 60, 300]), "worker": rng.randint(1, 8), "job": f"job-{rng.randint(1, 99999)}",
            "conn": rng.randint(1, 64), "active": rng.randint(1, 40), "idle": rng.randint(0, 20),
            "word": rng.choice(["shoes", "lamp", "desk"]), "slow": rng.randint(900, 4000),
            "session": f"{rng.getrandbits(64):016x}", "attempt": rng.randint(1, 3),
        }  # fmt: skip
        roll = rng.random() if len(out) < lines - 20 else 1.0  # ends in ordinary lines, not a crash
        if roll < 0.004:
            out += [f"{stamp} {line.format(**values)}" if i == 0 else line for i, line in enumerate(_TRACE)]
        elif roll < 0.03:
            out.append(f"{stamp} {rng.choice(_ERRORS).format(**values)}")
        else:
            out.append(f"{stamp} {rng.choice(_TEMPLATES).format(**values)}")
    return "\n".join(out[:lines]) + "\n"


def api_records(count: int = 300, seed: int = 3) -> str:
    """A JSON API response: a page of order records with a few failures and outliers."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        failed = i in (41, 177, 263)
        records.append({
            "id": f"ord_{10_000 + i}", "status": 502 if failed else 200,
            "customer": {"id": f"cus_{rng.randint(1, 900)}", "tier": rng.choice(["free", "pro", "pro", "team"])},
            "amount_cents": 990_000 if i == 123 else rng.randint(500, 20_000), "currency": "EUR",
            "created_at": f"2026-03-{1 + i % 28:02d}T{rng.randint(0, 23):02d}:00:00Z",
            "error": "upstream gateway timeout" if failed else None,
        })  # fmt: skip
    return json.dumps({"object": "list", "data": records, "has_more": False}, indent=2)


def matching_lines(text: str, query: str) -> list[tuple[int, str]]:
    """The (1-based number, line) pairs the contract says ``retrieve(ref, query)`` returns."""
    words = query.lower().split()
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if all(w in line.lower() for w in words)]


def expected_retrieval(text: str, query: str) -> str:
    """The exact text of ``retrieve(ref, query)`` for a query with fewer than 200 matching lines."""
    found = matching_lines(text, query)
    total = len(text.splitlines())
    head = f'[headroom_retrieve: {len(found)} of {total} lines match "{query}"; showing {len(found)}]'
    return "\n".join([head, *(f"{n}\t{line}" for n, line in found)])


@pytest.fixture
def lc_headroom(store_url: str) -> Iterator[Headroom]:
    """The engine the adapters share in a test: default thresholds, a real SQLite store."""
    instance = Headroom(Config(store=store_url), source="langchain")
    yield instance
    instance.close()


class Kit:
    """The helpers above, for test modules (``--import-mode=importlib`` cannot import conftest)."""

    ScriptedModel = ScriptedModel
    scripted = staticmethod(scripted)
    call = staticmethod(call)
    retrieve_from_last_result = staticmethod(retrieve_from_last_result)
    app_log = staticmethod(app_log)
    api_records = staticmethod(api_records)
    matching_lines = staticmethod(matching_lines)
    expected_retrieval = staticmethod(expected_retrieval)
    REF = REF


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
