"""An Agno agent with Headroom: a tool hook and the retrieve toolkit, the same answer, far fewer tokens.

The agent reads a 2,000-line service log. With Headroom the model reads a compressed log with a
retrieve marker, then calls ``headroom_retrieve`` for exactly the lines it needs.

Run: uv run python examples/agno_agent.py
With OPENAI_API_KEY set (and ``pip install openai``) a real model drives the agent.
"""

import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any

import headroom
from agno.agent import Agent
from agno.models.base import Model
from agno.models.response import ModelResponse
from headroom_agno import HeadroomHook, HeadroomTools

rng = random.Random(1)
LINES = [
    "INFO  http: GET /api/orders/{n} 200 {ms}ms",
    "DEBUG cache: hit key=product:{n}",
    "INFO  worker: job {n} finished in {ms}ms",
    "ERROR payment: charge failed for order {n}: card_declined",
]
LOG = "\n".join(
    f"2026-03-14T09:{i // 60 % 60:02d}:{i % 60:02d}Z "
    + rng.choices(LINES, weights=[40, 40, 40, 1])[0].format(n=rng.randint(1000, 9999), ms=rng.randint(3, 90))
    for i in range(2000)
)
count = headroom.default().tokenizer().count


def read_logs(service: str) -> str:
    """Read the application log of a service.

    Args:
        service: the service's name.
    """
    return LOG


def call(name: str, args: dict[str, Any]) -> ModelResponse:
    tool_call = {"id": name, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return ModelResponse(role="assistant", content="", tool_calls=[tool_call])


@dataclass
class ScriptedModel(Model):
    """Stands in for an LLM (Agno ships none): reads the log, retrieves the payment errors, answers."""

    id: str = "scripted"
    seen: list[int] = field(default_factory=list)  # tokens of each request the model received

    def invoke(self, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
        self.seen.append(sum(count(str(m.content or "")) for m in messages))
        results = [str(m.content) for m in messages if m.role == "tool"]
        ref = re.search(r"headroom_retrieve ref=(\w+)", results[-1]) if results else None
        if not results:
            return call("read_logs", {"service": "api"})
        if ref and len(results) == 1:
            return call("headroom_retrieve", {"ref": ref[1], "query": "card_declined"})
        failed = results[-1].count("ERROR payment")
        return ModelResponse(role="assistant", content=f"{failed} payments failed with card_declined")

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


def model() -> Model:
    if os.environ.get("OPENAI_API_KEY"):
        from agno.models.openai import OpenAIChat  # needs `pip install openai`

        return OpenAIChat(id="gpt-4o-mini")
    return ScriptedModel()


for with_headroom in (False, True):
    llm = model()
    hook = HeadroomHook()
    extra: dict[str, Any] = {"tool_hooks": [hook]} if with_headroom else {}
    tools: list[Any] = [read_logs, HeadroomTools(hook)] if with_headroom else [read_logs]
    agent = Agent(model=llm, tools=tools, telemetry=False, **extra)
    answer = agent.run("Why are payments failing?").content
    label = "with Headroom   " if with_headroom else "without Headroom"
    read = f" (the model read {sum(llm.seen):,} tokens)" if isinstance(llm, ScriptedModel) else ""
    print(f"{label}: {answer}{read}")
