"""A LangChain v1 agent with Headroom: one line of middleware, the same answers, far fewer tokens.

The agent reads a 2,000-line service log. With ``HeadroomMiddleware`` the model reads a compressed
log with a retrieve marker, then calls ``headroom_retrieve`` for exactly the lines it needs.

Run: uv run python examples/langchain_agent.py
With OPENAI_API_KEY set (and ``pip install langchain-openai``) a real model drives the agent.
"""

import os
import random
import re
from typing import Any

import headroom
from headroom_langchain import HeadroomMiddleware
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from pydantic import Field

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


@tool
def read_logs(service: str) -> str:
    """Read the application log of a service."""
    return LOG


class ScriptedModel(GenericFakeChatModel):
    """Stands in for an LLM: reads the log, retrieves the payment errors, answers."""

    seen: list[int] = Field(default_factory=list)  # tokens of each request the model received

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(sum(count(m.text) for m in messages))
        results = [m for m in messages if isinstance(m, ToolMessage)]
        ref = re.search(r"headroom_retrieve ref=(\w+)", results[-1].text) if results else None
        if not results:
            reply = AIMessage("", tool_calls=[{"name": "read_logs", "args": {"service": "api"}, "id": "c1"}])
        elif ref and len(results) == 1:
            args = {"ref": ref[1], "query": "card_declined"}
            reply = AIMessage("", tool_calls=[{"name": "headroom_retrieve", "args": args, "id": "c2"}])
        else:
            failed = results[-1].text.count("ERROR payment")
            reply = AIMessage(f"{failed} payments failed with card_declined")
        return ChatResult(generations=[ChatGeneration(message=reply)])


def model() -> Any:
    if os.environ.get("OPENAI_API_KEY"):
        from langchain.chat_models import init_chat_model  # needs `pip install langchain-openai`

        return init_chat_model("openai:gpt-4o-mini")
    return ScriptedModel(messages=iter([]))


question = {"messages": [{"role": "user", "content": "Why are payments failing?"}]}
for middleware in ([], [HeadroomMiddleware()]):
    llm = model()
    agent = create_agent(llm, tools=[read_logs], middleware=middleware)
    answer = agent.invoke(question)["messages"][-1].text
    label = "with Headroom   " if middleware else "without Headroom"
    read = f" (the model read {sum(llm.seen):,} tokens)" if isinstance(llm, ScriptedModel) else ""
    print(f"{label}: {answer}{read}")
