"""HeadroomRunnable in real LCEL chains: ``prompt | HeadroomRunnable() | model``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from headroom import Config, Headroom
from headroom.integration import MARKER_RE
from headroom_langchain import HeadroomRunnable
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.prompts import ChatPromptTemplate

PROMPT = ChatPromptTemplate.from_messages([
    ("system", "Answer from the log."),
    ("human", "{log}\n\n{question}"),
])  # fmt: skip
QUESTION = "Which payments were declined?"


@pytest.fixture
def chain_hr(store_url: str) -> Iterator[Headroom]:
    """A shared engine for chains: user turns compressed, as a chain's default engine does."""
    instance = Headroom(Config(store=store_url, compress_user_messages=True), source="langchain")
    yield instance
    instance.close()


def answers(kit: Any, n: int) -> Any:
    return kit.scripted(*[AIMessage(f"answer {i}") for i in range(n)])


def check_seen(kit: Any, hr: Headroom, messages: list[Any], log: str, retrievable: bool = False) -> None:
    system, human = messages
    assert isinstance(system, SystemMessage)
    assert system.text == "Answer from the log."
    assert human.text.endswith(f"\n\n{QUESTION}")  # the closing question stays whole
    marker = MARKER_RE.search(human.text)
    assert marker is not None
    assert (marker["tool"] is not None) is retrievable  # no tool is named unless it is bound
    assert hr.tokenizer().count(human.text) * 20 < hr.tokenizer().count(log)
    assert "card_declined" in human.text  # the question's subject is kept
    assert human.response_metadata["headroom"]["refs"] == [marker["ref"]]
    assert hr.retrieve(marker["ref"]) == log  # the caller can still recover the original


def test_invoke_in_a_chain(kit: Any, chain_hr: Headroom) -> None:
    log = kit.app_log()
    model = answers(kit, 1)
    chain = PROMPT | HeadroomRunnable(headroom=chain_hr) | model | StrOutputParser()
    assert chain.invoke({"log": log, "question": QUESTION}) == "answer 0"
    check_seen(kit, chain_hr, model.seen[0], log)


def test_ainvoke_batch_and_stream(kit: Any, chain_hr: Headroom) -> None:
    logs = [kit.app_log(seed=s) for s in (1, 2, 3)]
    model = answers(kit, 6)
    chain = PROMPT | HeadroomRunnable(headroom=chain_hr) | model
    asyncio.run(chain.ainvoke({"log": logs[0], "question": QUESTION}))
    chain.batch([{"log": log, "question": QUESTION} for log in logs[1:]])
    chunks = list(chain.stream({"log": logs[0], "question": QUESTION}))
    assert "".join(str(c.content) for c in chunks) == "answer 3"
    assert asyncio.run(chain.abatch([{"log": logs[1], "question": QUESTION}]))[0].content == "answer 4"
    assert len(model.seen) == 5
    by_start = {log.splitlines()[0]: log for log in logs}
    assert len(by_start) == 3
    for messages in model.seen:  # every call, whichever entry point, saw a compressed prompt
        check_seen(kit, chain_hr, messages, by_start[messages[1].text.splitlines()[0]])


def test_retrievable_when_the_tool_is_bound(kit: Any, chain_hr: Headroom) -> None:
    log = kit.app_log()
    model = answers(kit, 1)
    (PROMPT | HeadroomRunnable(headroom=chain_hr, retrievable=True) | model).invoke(
        {"log": log, "question": QUESTION}
    )
    check_seen(kit, chain_hr, model.seen[0], log, retrievable=True)


def test_the_value_kinds_come_back_as_given(kit: Any, chain_hr: Headroom) -> None:
    log = kit.app_log()
    runnable = HeadroomRunnable(headroom=Headroom(Config(store="memory", compress_user_messages=True)))
    prompt_value = PROMPT.invoke({"log": log, "question": QUESTION})
    assert isinstance(runnable.invoke(prompt_value), ChatPromptValue)
    as_list = runnable.invoke(prompt_value.to_messages())
    assert isinstance(as_list, list)
    assert MARKER_RE.search(as_list[1].text)
    as_tuples = runnable.invoke([("system", "be brief"), ("human", f"{log}\n\n{QUESTION}")])
    assert MARKER_RE.search(as_tuples[1].text)
    text = runnable.invoke(f"{log}\n\n{QUESTION}")
    assert isinstance(text, str)
    assert MARKER_RE.search(text)
    short = [HumanMessage("hello")]
    assert runnable.invoke(short) is short  # nothing to compress: the input itself comes back


def test_tool_messages_in_a_chain(kit: Any, chain_hr: Headroom) -> None:
    log = kit.app_log()
    messages = [
        HumanMessage(QUESTION),
        AIMessage("", tool_calls=[{"name": "read_logs", "args": {}, "id": "c1"}]),
        ToolMessage(log, tool_call_id="c1", name="read_logs"),
    ]
    out = HeadroomRunnable(headroom=chain_hr).invoke(messages)
    assert out[:2] == messages[:2]
    assert out[0] is messages[0]
    assert MARKER_RE.search(out[2].text)
    assert out[2].tool_call_id == "c1"
    assert messages[2].text == log  # the caller's message is untouched


def test_user_turns_follow_the_environment(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_COMPRESS_USER_MESSAGES", "0")
    value = [HumanMessage(f"{kit.app_log()}\n\n{QUESTION}")]
    runnable = HeadroomRunnable()
    assert runnable.invoke(value) is value
    runnable.headroom.close()
