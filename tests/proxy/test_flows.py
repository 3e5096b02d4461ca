"""The proxy between the official SDKs and a fake upstream: compression, the retrieve loop, streams."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic
import openai
import pytest
from headroom.integration import MARKER_RE

from .conftest import USAGE, sdk

QUERY = "payment card_declined"
REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{24})")  # also Kit.REF


def retrieve(kit: Any, query: str | None = QUERY, **more: Any) -> Any:
    """A scripted model turn: call headroom_retrieve with the ref found in the request."""

    def reply(body: dict[str, Any]) -> Any:
        found = REF.search(json.dumps(body.get("messages") or body.get("input")))
        assert found, "the upstream request carries no retrieve marker"
        arguments = {"ref": found[1], **({"query": query} if query else {}), **more}
        return kit.Calls([("headroom_retrieve", arguments)])

    return reply


def tool_names(body: dict[str, Any]) -> list[str]:
    return [(t.get("function") or t).get("name") for t in body.get("tools") or []]


def check_upstream(stack: Any, path: str, log: str, texts: Any) -> None:
    """The first upstream request carried the compressed log; the second the retrieval's answer."""
    first, second = stack.fake.bodies(path)[:2]
    sent = texts(first)
    assert MARKER_RE.search(sent)
    count = stack.headroom.tokenizer().count
    assert count(sent) * 20 < count(log)
    assert tool_names(first)[-1] == "headroom_retrieve"  # appended last
    assert tool_names(second) == tool_names(first)
    lines = [line for line in log.splitlines() if all(w in line.lower() for w in QUERY.split())]
    assert lines
    assert all(line in json.dumps(second) for line in lines)  # the original lines went back up


def chat_tool_text(body: dict[str, Any]) -> str:
    return body["messages"][2]["content"]


def test_chat_completions(kit: Any, stack: Any) -> None:
    log = kit.app_log()
    stack.fake.script = [retrieve(kit), kit.Text("Card declines at the gateway.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=kit.chat_messages(log))
    completion = reply.parse()
    assert completion.choices[0].message.content == "Card declines at the gateway."
    assert not completion.choices[0].message.tool_calls  # the retrieval round is invisible
    assert completion.usage is not None
    assert completion.usage.total_tokens == 220  # both rounds' usage
    assert int(reply.headers["x-headroom-tokens-after"]) < int(reply.headers["x-headroom-tokens-before"])
    check_upstream(stack, "/v1/chat/completions", log, chat_tool_text)
    headers = stack.fake.received[0][1]
    assert headers["authorization"] == "Bearer sk-test"  # authentication passes through untouched


def test_a_line_range_and_a_page_reach_the_model(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=5)
    lines = log.splitlines()
    stack.fake.script = [
        retrieve(kit, None, lines="40-44"),
        retrieve(kit, QUERY, offset=1),
        kit.Text("Seen."),
    ]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    completion = client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    assert completion.choices[0].message.content == "Seen."
    bodies = stack.fake.bodies("/v1/chat/completions")
    schema = next(t for t in bodies[0]["tools"] if t["function"]["name"] == "headroom_retrieve")
    assert {"offset", "lines"} <= set(schema["function"]["parameters"]["properties"])
    ranged = bodies[1]["messages"][-1]["content"]
    assert ranged.splitlines() == ["[headroom_retrieve: lines 40-44 of 2000]", *(
        f"{n}\t{lines[n - 1]}" for n in range(40, 45))]  # fmt: skip
    paged = bodies[2]["messages"][-1]["content"]
    assert paged.splitlines()[1:] == kit.expected_retrieval(log, QUERY).splitlines()[2:]


def test_chat_completions_streaming(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=2)
    stack.fake.script = [retrieve(kit), kit.Text("Card declines at the gateway.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log), stream=True,
                                                 stream_options={"include_usage": True}))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "Card declines at the gateway."
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert {c.id for c in chunks} == {"chatcmpl-1"}
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 220
    check_upstream(stack, "/v1/chat/completions", log, chat_tool_text)


def test_anthropic_messages(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=3)
    stack.fake.script = [retrieve(kit), kit.Text("Card declines.")]
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="sk-ant", max_retries=0)
    message = client.messages.create(model="claude-x", max_tokens=100, messages=kit.anthropic_messages(log))
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Card declines."  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (200, 20)
    check_upstream(stack, "/v1/messages", log, lambda body: body["messages"][2]["content"][0]["content"])
    headers = stack.fake.received[0][1]
    assert "sk-ant" in (headers.get("x-api-key") or headers.get("authorization", ""))  # untouched
    assert "anthropic-version" in headers


def test_anthropic_messages_streaming(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=4)
    stack.fake.script = [retrieve(kit), kit.Text("Card declines.")]
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="sk-ant", max_retries=0)
    with client.messages.stream(
        model="claude-x", max_tokens=100, messages=kit.anthropic_messages(log)
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds.count("message_start") == 1
    assert kinds.count("message_stop") == 1
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == "Card declines."  # type: ignore[union-attr]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (200, 20)
    check_upstream(stack, "/v1/messages", log, lambda body: body["messages"][2]["content"][0]["content"])


def test_anthropic_streaming_keeps_thinking_and_its_signature_across_a_retrieval(
    kit: Any, stack: Any
) -> None:
    """Claude Code streams with thinking on: the follow-up request after our retrieval must carry the
    thinking block exactly, signature included, or the provider rejects it and the turn is lost."""
    from .conftest import SIGNATURE

    log = kit.app_log(seed=14)
    thought = "The log shows declines; I should look at the gateway lines before answering."

    def think_then_retrieve(body: dict[str, Any]) -> Any:
        call = retrieve(kit)(body)
        return kit.Calls(call.calls, thinking=thought)

    stack.fake.script = [think_then_retrieve, kit.Text("Card declines.")]
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="sk-ant", max_retries=0)
    with client.messages.stream(model="claude-x", max_tokens=100, messages=kit.anthropic_messages(log),
                                thinking={"type": "enabled", "budget_tokens": 1024}) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature == SIGNATURE  # type: ignore[union-attr]
    follow_up = stack.fake.received[1][2]
    turn = follow_up["messages"][-2]
    assert turn["role"] == "assistant"
    assert turn["content"][0] == {"type": "thinking", "thinking": thought, "signature": SIGNATURE}
    assert turn["content"][1]["type"] == "tool_use"
    assert turn["content"][1]["name"] == "headroom_retrieve"


def test_responses(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=5)
    stack.fake.script = [retrieve(kit), kit.Text("Card declines.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    response = client.responses.create(model="gpt-4o", input=kit.responses_input(log))
    assert response.output_text == "Card declines."
    assert [o.type for o in response.output] == ["message"]
    assert response.usage is not None
    assert response.usage.total_tokens == 220
    check_upstream(stack, "/v1/responses", log, lambda body: body["input"][2]["output"])


def test_responses_streaming_and_chaining(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=6)
    stack.fake.script = [retrieve(kit), kit.Text("Card declines."), kit.Text("Thanks.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    with client.responses.stream(model="gpt-4o", input=kit.responses_input(log)) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Card declines."
    assert [o.type for o in final.output] == ["message"]
    check_upstream(stack, "/v1/responses", log, lambda body: body["input"][2]["output"])
    # the client continues from the id it saw; upstream gets the response that holds the whole exchange
    client.responses.create(model="gpt-4o", input="and now?", previous_response_id=final.id)
    assert stack.fake.bodies("/v1/responses")[-1]["previous_response_id"] == "resp_2"
    assert final.id == "resp_1"  # the first round's id, the one the stream began with


def test_the_clients_own_tool_calls_come_back_without_ours(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=7)

    def both(body: dict[str, Any]) -> Any:
        ref = REF.search(json.dumps(body["messages"]))
        assert ref
        return kit.Calls([("headroom_retrieve", {"ref": ref[1]}), ("read_logs", {"service": "db"})])

    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    for stream in (False, True):
        stack.fake.script = [both]
        if stream:
            chunks = list(
                client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log), stream=True)
            )
            calls = [c for chunk in chunks if chunk.choices for c in chunk.choices[0].delta.tool_calls or ()]
            names = [c.function.name for c in calls if c.function and c.function.name]
            assert [c.index for c in calls] == [0] * len(calls)  # renumbered: no gap where ours was
        else:
            message = client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log)).choices[
                0
            ]
            names = [c.function.name for c in message.message.tool_calls or ()]  # type: ignore[union-attr]
            assert message.finish_reason == "tool_calls"
        assert names == ["read_logs"]


def test_a_ref_the_request_never_carried_is_not_answered(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=8)
    other = stack.headroom.compress_text(kit.app_log(seed=99)).ref  # held by the store, not in this request
    stack.fake.script = [kit.Calls([("headroom_retrieve", {"ref": other})]), kit.Text("ok")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    answer = stack.fake.bodies("/v1/chat/completions")[1]["messages"][-1]["content"]
    assert answer == f"ref {other} is unknown or has expired; call the original tool again"


def test_small_requests_pass_through_and_other_paths_are_forwarded(kit: Any, stack: Any) -> None:
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    stack.fake.script = [kit.Text("hi")]
    small = [{"role": "user", "content": "hello"}]
    reply = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=small)
    assert reply.parse().choices[0].message.content == "hi"
    assert "x-headroom-tokens-before" not in reply.headers
    assert stack.fake.bodies("/v1/chat/completions")[-1] == {"model": "gpt-4o", "messages": small}
    assert "tools" not in stack.fake.bodies("/v1/chat/completions")[-1]  # no marker, no retrieve tool
    assert [m.id for m in client.models.list()] == ["gpt-test"]  # any other path, forwarded
    counted = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0).messages.count_tokens(
        model="claude-x", messages=kit.anthropic_messages(kit.app_log()))  # fmt: skip
    sent = stack.fake.bodies("/v1/messages/count_tokens")[-1]
    assert MARKER_RE.search(json.dumps(sent, ensure_ascii=False))  # counted on the compressed body
    assert counted.input_tokens == len(json.dumps(sent)) // 4


def test_bypass_and_the_ledger(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=9)
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0,
                           default_headers={"x-headroom-bypass": "1"})  # fmt: skip
    client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    assert stack.fake.bodies("/v1/chat/completions")[-1]["messages"][2]["content"] == log
    plain = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    stack.fake.script = [retrieve(kit), kit.Text("ok")]
    plain.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    requests = kit.proxy_requests(stack, 2)
    assert [e.outcome for e in requests][-2:] == ["forwarded", "compressed"]
    assert requests[-1].model == "gpt-4o"
    assert requests[-1].reason == "retrieval rounds: 1; cold start"  # the stack's first compression
    assert requests[-1].tokens_after < requests[-1].tokens_before


@pytest.mark.parametrize("stream", [False, True])
def test_responses_with_both_calls_owe_ours_to_the_next_request(kit: Any, stack: Any, stream: bool) -> None:
    log = kit.app_log(seed=10)

    def both(body: dict[str, Any]) -> Any:
        ref = REF.search(json.dumps(body["input"]))
        assert ref
        return kit.Calls(
            [("headroom_retrieve", {"ref": ref[1], "query": QUERY}), ("read_logs", {"service": "db"})]
        )

    stack.fake.script = [both, kit.Text("done")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    if stream:
        with client.responses.stream(model="gpt-4o", input=kit.responses_input(log)) as events:
            first = events.get_final_response()
    else:
        first = client.responses.create(model="gpt-4o", input=kit.responses_input(log))
    calls = [o for o in first.output if o.type == "function_call"]
    assert [c.name for c in calls] == ["read_logs"]  # the client's call, not ours
    output = {"type": "function_call_output", "call_id": calls[0].call_id, "output": "db is fine"}
    client.responses.create(model="gpt-4o", previous_response_id=first.id, input=[output])  # type: ignore[list-item]
    sent = stack.fake.bodies("/v1/responses")[-1]
    assert sent["previous_response_id"] == first.id
    ours, theirs = sent["input"]
    assert ours["type"] == "function_call_output"  # the upstream holds our call: its output goes along
    assert ours["call_id"] != calls[0].call_id
    assert "payment" in ours["output"]
    assert theirs == output


def test_chat_calls_of_ours_in_a_mixed_turn_are_answered_in_the_history(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=11)

    def both(body: dict[str, Any]) -> Any:
        ref = REF.search(json.dumps(body["messages"]))
        assert ref
        return kit.Calls(
            [("headroom_retrieve", {"ref": ref[1], "query": QUERY}), ("read_logs", {"service": "db"})]
        )

    stack.fake.script = [both, kit.Text("done"), kit.Text("again")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    messages = kit.chat_messages(log)
    turn = client.chat.completions.create(model="gpt-4o", messages=messages).choices[0].message
    assert [c.function.name for c in turn.tool_calls or ()] == ["read_logs"]  # type: ignore[union-attr]
    history = [
        *messages,
        turn.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": turn.tool_calls[0].id, "content": "db is fine"},
    ]  # type: ignore[index]
    for _ in range(2):  # the same insertion every time: the prefix stays stable
        client.chat.completions.create(model="gpt-4o", messages=history)
    first, second = stack.fake.bodies("/v1/chat/completions")[-2:]
    assert first["messages"] == second["messages"]
    assistant, ours, theirs = first["messages"][3:6]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["read_logs", "headroom_retrieve"]
    assert ours["role"] == "tool"
    assert ours["tool_call_id"] == assistant["tool_calls"][1]["id"]
    assert "payment" in ours["content"]  # answered, with the original lines
    assert theirs["content"] == "db is fine"


def test_anthropic_calls_of_ours_in_a_mixed_turn_are_answered_in_the_history(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=12)

    def both(body: dict[str, Any]) -> Any:
        ref = REF.search(json.dumps(body["messages"]))
        assert ref
        return kit.Calls(
            [("headroom_retrieve", {"ref": ref[1], "query": QUERY}), ("read_logs", {"service": "db"})]
        )

    stack.fake.script = [both, kit.Text("done")]
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    messages = kit.anthropic_messages(log)
    reply = client.messages.create(model="claude-x", max_tokens=100, messages=messages)  # type: ignore[arg-type]
    uses = [b for b in reply.content if b.type == "tool_use"]
    assert [b.name for b in uses] == ["read_logs"]  # type: ignore[union-attr]
    history = [
        *messages,
        {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "fine"}]},
    ]  # type: ignore[union-attr]
    client.messages.create(model="claude-x", max_tokens=100, messages=history)  # type: ignore[arg-type]
    sent = stack.fake.bodies("/v1/messages")[-1]["messages"]
    assert [b.get("name") for b in sent[3]["content"] if b["type"] == "tool_use"] == [
        "read_logs",
        "headroom_retrieve",
    ]
    ours, theirs = sent[4]["content"]
    assert ours["type"] == "tool_result"
    assert "payment" in ours["content"]
    assert theirs["content"] == "fine"


def both_calls(kit: Any) -> Any:
    """A scripted model turn that calls headroom_retrieve and the client's read_logs together."""

    def reply(body: dict[str, Any]) -> Any:
        ref = REF.search(json.dumps(body.get("messages") or body.get("input")))
        assert ref
        return kit.Calls(
            [("headroom_retrieve", {"ref": ref[1], "query": QUERY}), ("read_logs", {"service": "db"})]
        )

    return reply


@pytest.mark.parametrize("helper", [False, True], ids=["create", "stream-helper"])
def test_chat_streaming_mixed_turn_answers_ours_in_the_history(kit: Any, stack: Any, helper: bool) -> None:
    """Streamed, the client gets its own call; ours is answered in the history it sends next."""
    log = kit.app_log(seed=13)
    stack.fake.script = [both_calls(kit), kit.Text("done"), kit.Text("again")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    messages = kit.chat_messages(log)
    if helper:
        with client.chat.completions.stream(model="gpt-4o", messages=messages) as stream:
            turn = stream.get_final_completion().choices[0].message
        calls = [{"id": c.id, "type": "function", "function": {"name": c.function.name,
                  "arguments": c.function.arguments}} for c in turn.tool_calls or ()]  # fmt: skip
    else:
        chunks = list(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True))
        deltas = [c.choices[0].delta for c in chunks if c.choices]
        heads = [t for d in deltas for t in d.tool_calls or () if t.id]
        arguments = "".join(
            t.function.arguments or "" for d in deltas for t in d.tool_calls or () if t.function
        )
        calls = [{"id": h.id, "type": "function", "function": {"name": h.function.name, "arguments": arguments}}
                 for h in heads if h.function]  # fmt: skip
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert [c["function"]["name"] for c in calls] == ["read_logs"]  # ours never reaches the client
    assert json.loads(calls[0]["function"]["arguments"]) == {"service": "db"}
    history = [
        *messages,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "db is fine"},
    ]
    for _ in range(2):  # the same insertion every time: the prefix stays stable
        client.chat.completions.create(model="gpt-4o", messages=history)  # type: ignore[arg-type]
    first, second = stack.fake.bodies("/v1/chat/completions")[-2:]
    assert first["messages"] == second["messages"]
    assistant, ours, theirs = first["messages"][3:6]
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["read_logs", "headroom_retrieve"]
    assert ours["tool_call_id"] == assistant["tool_calls"][1]["id"]
    assert "payment" in ours["content"]  # answered, with the original lines
    assert theirs["content"] == "db is fine"


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
def test_stateless_responses_mixed_turn_answers_ours_in_the_history(
    kit: Any, stack: Any, streamed: bool
) -> None:
    """``store: false`` (what Codex sends): no previous_response_id, the whole input every time; our
    call and its output go back into the turn that lost them, after the turn's items."""
    log = kit.app_log(seed=14)
    stack.fake.script = [both_calls(kit), kit.Text("done"), kit.Text("again")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="k", max_retries=0)
    items = kit.responses_input(log)
    if streamed:
        with client.responses.stream(model="gpt-4o", input=items, store=False) as stream:
            first = stream.get_final_response()
    else:
        first = client.responses.create(model="gpt-4o", input=items, store=False)
    output = [o.model_dump(exclude_none=True) for o in first.output]
    assert [o["name"] for o in output if o["type"] == "function_call"] == ["read_logs"]
    result = {"type": "function_call_output", "call_id": output[-1]["call_id"], "output": "db is fine"}
    history = [*items, *output, result]
    for _ in range(2):
        client.responses.create(model="gpt-4o", input=history, store=False)  # type: ignore[arg-type]
    one, two = stack.fake.bodies("/v1/responses")[-2:]
    assert one["input"] == two["input"]  # the same insertion every time: the prefix stays stable
    assert "previous_response_id" not in one
    theirs, ours, answer, their_output = one["input"][3:]
    assert theirs["name"] == "read_logs"
    assert ours["type"] == "function_call"
    assert ours["name"] == "headroom_retrieve"
    assert answer == {"type": "function_call_output", "call_id": ours["call_id"], "output": answer["output"]}
    assert "payment" in answer["output"]
    assert their_output == result


@pytest.mark.parametrize("deferred", [False, True])
def test_an_mcp_clients_retrieve_tool_listed_in_full_stands_for_ours(
    kit: Any, stack: Any, deferred: bool
) -> None:
    """Claude Code under ``wrap`` lists the proxy's MCP tools (``mcp__headroom__headroom_retrieve``):
    the proxy then adds no ``headroom_retrieve`` of its own, so the model sees one retrieve tool; a
    deferred one (tool search: the model must look it up first) does not count."""
    log = kit.app_log(seed=5)
    stack.fake.script = [kit.Text("Card declines.")]
    mcp_tool = {"name": "mcp__headroom__headroom_retrieve", "description": "Retrieve an original.",
                "input_schema": {"type": "object", "properties": {"ref": {"type": "string"}}}}  # fmt: skip
    if deferred:
        mcp_tool["defer_loading"] = True
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="sk-ant", max_retries=0)
    client.messages.create(model="claude-x", max_tokens=100, messages=kit.anthropic_messages(log),
                           tools=[mcp_tool])  # fmt: skip
    (first,) = stack.fake.bodies("/v1/messages")
    assert MARKER_RE.search(json.dumps(first["messages"], ensure_ascii=False))  # a retrieve tool is needed
    expected = ["mcp__headroom__headroom_retrieve", *(["headroom_retrieve"] if deferred else [])]
    assert tool_names(first) == expected


@pytest.mark.parametrize("stream", [False, True])
def test_each_request_records_the_prompt_as_the_provider_billed_it(
    kit: Any, stack: Any, stream: bool
) -> None:
    """The usage of the response (relayed as it came, or answered after a retrieval round) goes to the
    request's ledger event, for the money figures: Anthropic's cache reads and writes, OpenAI's
    cached tokens; a retrieval round's prompt is billed again, so it counts twice."""
    log = kit.app_log(seed=21)
    anthropic_client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    openai_client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    done = len(kit.proxy_requests(stack, 0))

    def ask_anthropic() -> None:
        messages = kit.anthropic_messages(log)
        if stream:
            with anthropic_client.messages.stream(
                model="claude-x", max_tokens=50, messages=messages
            ) as events:
                events.get_final_message()
        else:
            anthropic_client.messages.create(model="claude-x", max_tokens=50, messages=messages)

    def ask_openai() -> None:
        if stream:
            list(openai_client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log), stream=True,
                                                       stream_options={"include_usage": True}))  # fmt: skip
        else:
            openai_client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))

    ask_anthropic()  # answered at once: relayed as it came
    stack.fake.script = [retrieve(kit), kit.Text("ok")]
    ask_anthropic()  # one retrieval round: two prompts billed
    ask_openai()
    *_, plain, rounds, chat = kit.proxy_requests(stack, done + 3)
    prompt, read, written, cached = USAGE["prompt"], USAGE["read"], USAGE["written"], USAGE["cached"]
    assert (plain.usage_uncached, plain.usage_cache_read, plain.usage_write_5m, plain.usage_write_1h) == (
        prompt, read, written, 0)  # fmt: skip
    assert (rounds.usage_uncached, rounds.usage_cache_read, rounds.usage_write_5m) == (
        2 * prompt,
        2 * read,
        2 * written,
    )
    assert (chat.usage_uncached, chat.usage_cache_read, chat.usage_write_5m) == (prompt - cached, cached, 0)
