from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from headroom import Config, ConfigError, Headroom
from headroom._markers import MARKER_RE


def big_log(word: str = "served", lines: int = 400) -> str:
    return (
        "\n".join(
            f"2026-03-01 10:{i // 60:02d}:{i % 60:02d} INFO app: request {i} {word}" for i in range(lines)
        )
        + "\n"
    )


def openai_conversation(result: str, tool: str = "read_logs") -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Why did request 217 fail?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": tool, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": result},
    ]  # fmt: skip


def test_openai_tool_results_are_compressed_in_a_new_list(hr: Headroom) -> None:
    messages = openai_conversation(big_log())
    before = copy.deepcopy(messages)
    result = hr.compress(messages)
    assert messages == before  # the caller's objects are untouched
    assert result.messages is not messages
    assert result.messages[:3] == messages[:3]
    assert result.messages[1] is messages[1]
    tool = result.messages[3]
    assert tool["tool_call_id"] == "call_1"
    assert MARKER_RE.search(tool["content"])
    assert result.tokens_after < result.tokens_before
    assert len(result.refs) == 1
    assert hr.retrieve(result.refs[0]) == big_log()


def test_the_query_defaults_to_the_user_turn_before_the_result(hr: Headroom) -> None:
    messages = openai_conversation(big_log())
    content = hr.compress(messages).messages[3]["content"]
    assert "2026-03-01 10:03:37 INFO app: request 217 served" in content


def test_anthropic_tool_results_with_string_and_list_content(hr: Headroom) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Look at the logs"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "tu_1", "name": "logs", "input": {}},
            {"type": "tool_use", "id": "tu_2", "name": "screenshot", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": big_log()},
            {"type": "tool_result", "tool_use_id": "tu_2", "content": [{"type": "text", "text": big_log("ok")}, image]},
        ]},
    ]  # fmt: skip
    before = copy.deepcopy(messages)
    out = hr.compress(messages).messages
    assert messages == before
    first, second = out[2]["content"]
    assert MARKER_RE.search(first["content"])
    assert MARKER_RE.search(second["content"][0]["text"])
    assert second["content"][1] is image
    assert first["tool_use_id"] == "tu_1"
    assert second["type"] == "tool_result"


def test_tool_filters_and_the_retrieve_tool_itself(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0, exclude_tools=("secret_*",)))
    assert hr.compress(openai_conversation(big_log(), tool="secret_dump")).messages[3]["content"] == big_log()
    assert (
        hr.compress(openai_conversation(big_log(), tool="headroom_retrieve")).messages[3]["content"]
        == big_log()
    )
    only = Headroom(Config(store=store_url, min_tokens=0, include_tools=("grep",)))
    assert only.compress(openai_conversation(big_log(), tool="read_logs")).messages[3]["content"] == big_log()


def test_responses_api_items(hr: Headroom) -> None:
    items = [
        {"role": "user", "content": "check the logs"},
        {"type": "function_call", "call_id": "c1", "name": "logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": big_log()},
    ]
    out = hr.compress(items).messages
    assert MARKER_RE.search(out[2]["output"])
    assert out[2]["call_id"] == "c1"


def test_a_plain_string(hr: Headroom) -> None:
    result = hr.compress(big_log())
    assert isinstance(result.messages, str)
    assert MARKER_RE.search(result.messages)


def test_unchanged_prefixes_compress_to_the_same_bytes(hr: Headroom) -> None:
    first = hr.compress(openai_conversation(big_log())).messages
    longer = [*openai_conversation(big_log()), {"role": "user", "content": "and request 9?"}]
    second = hr.compress(longer).messages
    assert json.dumps(first) == json.dumps(second[:4])


# --- shapes and unknown fields ---------------------------------------------------------------------------


def test_unknown_fields_and_untouched_blocks_are_preserved(hr: Headroom) -> None:
    thinking = {"type": "thinking", "thinking": "let me look at " + big_log(), "signature": "sig"}
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": big_log()}}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Why did request 217 fail?", "cache_control": {"type": "ephemeral"}}, document]},
        {"role": "assistant", "content": [thinking, {"type": "tool_use", "id": "tu_1", "name": "logs", "input": {"path": "app.log"}}]},
        {"role": "user", "x-custom": 1, "content": [
            {"type": "tool_result", "tool_use_id": "tu_1", "content": big_log(), "cache_control": {"type": "ephemeral"}},
        ]},
    ]  # fmt: skip
    out = hr.compress(messages).messages
    assert out[0] is messages[0]
    assert out[1] is messages[1]  # thinking blocks and documents are never touched
    block = out[2]["content"][0]
    assert out[2]["x-custom"] == 1
    assert block["cache_control"] == {"type": "ephemeral"}
    assert list(block) == ["type", "tool_use_id", "content", "cache_control"]  # key order kept
    assert MARKER_RE.search(block["content"])


def test_chat_parts_legacy_function_role_and_responses_list_output(hr: Headroom) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "Why did request 217 fail?"}]},
        {"role": "function", "name": "read_logs", "content": big_log()},
        {"type": "function_call", "call_id": "c1", "name": "logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1",
         "output": [{"type": "input_text", "text": big_log()}, {"type": "input_image", "image_url": "data:,"}]},
    ]  # fmt: skip
    out = hr.compress(messages).messages
    assert MARKER_RE.search(out[1]["content"])
    assert MARKER_RE.search(out[3]["output"][0]["text"])
    assert out[3]["output"][1] is messages[3]["output"][1]
    assert "request 217 served" in out[3]["output"][0]["text"]


def test_system_prompt_and_assistant_text_are_never_compressed(hr: Headroom) -> None:
    messages = [
        {"role": "system", "content": big_log()},
        {"role": "user", "content": "summarise"},
        {"role": "assistant", "content": big_log()},
    ]
    result = hr.compress(messages, system=big_log())
    assert result.messages == messages
    assert result.system == big_log()
    assert result.tokens_after == result.tokens_before


def test_user_messages_are_compressed_only_when_asked(store_url: str) -> None:
    paste = "Here are the logs:\n\n" + big_log() + "\nWhich request took longest, 217?"
    messages = [{"role": "user", "content": paste}]
    off = Headroom(Config(store=store_url, min_tokens=0))
    assert off.compress(messages).messages[0]["content"] == paste
    on = Headroom(Config(store=store_url, min_tokens=0, compress_user_messages=True))
    content = on.compress(messages).messages[0]["content"]
    assert MARKER_RE.search(content)
    assert "request 217 served" in content  # the paste's own question is the query


def test_not_a_conversation_is_a_clear_error(hr: Headroom) -> None:
    with pytest.raises(ConfigError, match="list of message dicts"):
        hr.compress({"role": "user"})


def test_odd_messages_pass_through(hr: Headroom) -> None:
    messages: list[Any] = [None, 3, "text", {"role": "tool"}, {"role": "tool", "content": None},
                           {"role": "user", "content": [None, {"type": "text"}]}, {"type": "reasoning", "summary": []}]  # fmt: skip
    assert hr.compress(messages).messages == messages


# --- errors ----------------------------------------------------------------------------------------------


TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/worker.py", line 88, in run\n'
    "    result = handler(job)\n"
    '  File "/srv/app/handlers.py", line 12, in handler\n'
    "    return job.payload['id']\n"
    "KeyError: 'id'\n"
)


def test_a_traceback_stays_verbatim_and_the_log_around_it_is_compressed(hr: Headroom) -> None:
    output = big_log() + TRACEBACK + big_log("after")
    out = hr.compress(openai_conversation(output)).messages[3]["content"]
    assert TRACEBACK in out
    assert MARKER_RE.search(out)
    assert len(out) < len(output) / 2


def test_a_log_with_tracebacks_inside_is_no_error_and_compresses_fully(hr: Headroom) -> None:
    output = "".join(big_log(f"w{i}", 150) + TRACEBACK for i in range(6)) + big_log("end", 150)
    result = hr.compress(openai_conversation(output))
    out = result.messages[3]["content"]
    assert TRACEBACK.splitlines()[-1] in out  # the log compressor keeps the stack trace
    assert result.tokens_after * 10 < result.tokens_before  # not held back by the error policy


def test_output_ending_in_a_chained_traceback_keeps_it_whole(hr: Headroom) -> None:
    chained = (
        TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n" + TRACEBACK
    )
    output = big_log() + chained + "exiting\n"
    out = hr.compress(openai_conversation(output)).messages[3]["content"]
    assert chained in out
    assert MARKER_RE.search(out)


def test_error_results_keep_their_last_lines(hr: Headroom) -> None:
    lines = [f"step {i}: compiling module_{i}.c" for i in range(300)]
    tail = [f"error: undefined reference to symbol_{i}" for i in range(10)]
    output = "\n".join([*lines, *tail, "make: *** [all] Error 2", "exit code: 2"])
    anthropic = [
        {"role": "user", "content": "build it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"cmd": "make"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": output, "is_error": True}]},
    ]  # fmt: skip
    out = hr.compress(anthropic).messages[2]["content"][0]["content"]
    assert out.endswith("\n".join(output.splitlines()[-40:]))
    assert MARKER_RE.search(out)
    plain = hr.compress(openai_conversation(output, tool="bash")).messages[3]["content"]
    assert plain.endswith("exit code: 2")  # a non-zero exit code marks the error without is_error


# --- idempotence, memo and prefix stability --------------------------------------------------------------


def test_compressing_twice_changes_nothing(hr: Headroom) -> None:
    once = hr.compress(openai_conversation(big_log()))
    twice = hr.compress(once.messages)
    assert twice.messages == once.messages
    assert twice.tokens_after == once.tokens_after


def test_retrieved_content_is_never_compressed(hr: Headroom) -> None:
    ref = hr.compress(openai_conversation(big_log())).refs[0]
    answer = hr.answer_tool_call({"ref": ref})
    messages = openai_conversation(answer, tool="headroom_retrieve")
    assert hr.compress(messages).messages[3]["content"] == answer


def test_the_memo_answers_resent_history_while_the_store_holds_it(hr: Headroom) -> None:
    messages = openai_conversation(big_log())
    first = hr.compress(messages)
    assert hr.compress(copy.deepcopy(messages)).messages == first.messages
    assert hr.ledger is not None
    hr.ledger.flush()
    assert [e.event for e in hr.ledger.events() if e.memo] == ["compress"]  # the re-sent block
    hr.store.clear()  # the originals are gone: the memo must not hand out dead refs
    again = hr.compress(messages)
    assert again.messages == first.messages
    assert hr.retrieve(again.refs[0]) == big_log()


def test_a_later_turn_never_changes_an_earlier_block(hr: Headroom) -> None:
    base = openai_conversation(big_log())
    first = hr.compress(base).messages
    later = [
        *base,
        {"role": "assistant", "content": "Request 217 was served."},
        {"role": "user", "content": "What about request 42?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_2", "type": "function", "function": {"name": "read_logs", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_2", "content": big_log()},
    ]  # fmt: skip
    second = hr.compress(later).messages
    assert second[:4] == first
    assert "request 42 served" in second[7]["content"]
    assert "request 42 served" not in second[3]["content"]


def test_acompress_leaves_the_event_loop_free(hr: Headroom) -> None:
    async def main() -> tuple[int, Any]:
        ticks = 0
        done = False

        async def ticker() -> None:
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        result = await hr.acompress(openai_conversation(big_log(lines=4000)))
        done = True
        await task
        return ticks, result

    ticks, result = asyncio.run(main())
    assert ticks > 1  # the loop ran other work while the conversation was compressed
    assert MARKER_RE.search(result.messages[3]["content"])


# --- the ledger ----------------------------------------------------------------------------------------


def test_conversation_events_reach_the_ledger(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0, exclude_tools=("secret_*",), max_context_tokens=400,
                         keep_last_turns=1), source="proxy")  # fmt: skip
    messages = [
        *openai_conversation(big_log()),
        *openai_conversation(big_log("kept"), tool="secret_dump")[1:],
    ]
    messages[5]["tool_calls"][0]["id"] = messages[6]["tool_call_id"] = "call_2"
    hr.compress(messages, model="gpt-4o")
    hr.compress(copy.deepcopy(messages), model="gpt-4o")  # the memo answers the first result
    assert hr.ledger is not None
    hr.ledger.flush()
    events = hr.ledger.events()
    assert {e.source for e in events} == {"proxy"}
    assert {e.model for e in events} == {"gpt-4o"}
    compressed = [e for e in events if e.event == "compress" and e.outcome == "compressed"]
    assert [e.memo for e in compressed] == [False, True]
    excluded = [e for e in events if e.outcome == "excluded"]
    assert len(excluded) == 2
    assert "exclude_tools 'secret_*'" in excluded[0].reason
    budget = [e for e in events if e.event == "budget"]
    # the excluded result in the protected last turn alone is over the budget: the older one is stubbed
    assert [e.outcome for e in budget] == ["over_budget", "over_budget"]
    assert budget[0].reason.startswith("1 older tool results stubbed")
    assert budget[0].tokens_before > budget[0].tokens_after > 400
    hr.close()


def test_without_the_retrieve_tool_markers_name_no_tool(hr: Headroom) -> None:
    lossy = hr.compress(openai_conversation(big_log()), retrievable=False)
    content = lossy.messages[3]["content"]
    marker = MARKER_RE.search(content)
    assert marker is not None
    assert marker["tool"] is None
    assert "headroom_retrieve" not in content
    assert hr.retrieve(lossy.refs[0]) == big_log()  # the caller still holds the ref
    retrievable = hr.compress(openai_conversation(big_log()))
    assert "headroom_retrieve ref=" in retrievable.messages[3]["content"]  # not answered from the lossy memo


# --- one tool result, as an adapter's tool hook sees it ---------------------------------------------------


def test_compress_tool_result_by_the_policy(hr: Headroom) -> None:
    log = big_log()
    result = hr.compress_tool_result(log, "read_logs", arguments={"service": "api"}, query="request 217")
    assert MARKER_RE.search(result.messages)
    assert "request 217 served" in result.messages  # the query is used
    assert result.tokens_before == hr.tokenizer().count(log)  # the result's own tokens, not the call's
    assert result.tokens_after == hr.tokenizer().count(result.messages)
    assert hr.retrieve(result.refs[0]) == log
    short = "ok"
    assert hr.compress_tool_result(short, "read_logs").messages is short
    assert hr.compress_tool_result(log, "headroom_retrieve").messages is log


def test_compress_tool_result_with_parts_errors_and_filters(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0, min_saving=0.0, exclude_tools=("secret_*",)))
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    parts = [{"type": "text", "text": big_log()}, image]
    out = hr.compress_tool_result(parts, "snapshot").messages
    assert MARKER_RE.search(out[0]["text"])
    assert out[1] is image
    assert parts[0]["text"] == big_log()  # the caller's parts are untouched
    failure = big_log() + "\n".join(f"error: step {i} failed" for i in range(50))
    kept = hr.compress_tool_result(failure, "make", is_error=True).messages
    assert kept.endswith("\n".join(failure.splitlines()[-40:]))
    assert hr.compress_tool_result(big_log(), "secret_logs").messages == big_log()
    with pytest.raises(ConfigError, match="string or a list"):
        hr.compress_tool_result({"a": 1}, "x")  # type: ignore[arg-type]


def _plain_python() -> str:
    """Functions whose body lines carry no sign of Python a detector could see without the file name."""
    return "".join(f"def step_{n}(state):\n" + "".join(f"    state.append({n * k})\n" for k in range(8)) + "\n"
                   for n in range(40))  # fmt: skip


@pytest.mark.parametrize(
    ("command", "hinted"),
    [
        (["bash", "-lc", "sed -n '1,400p' src/orders.py"], True),  # Codex's shell tool
        ("cd /repo && nl -ba src/orders.py", True),
        ("head -n 400 src/orders.py", True),
        ("cat src/orders.py | grep -v '^#'", False),  # a pipe: not the file as it is
        ("cat src/orders.py src/refunds.py", False),
        ("python src/orders.py", False),
    ],
)
def test_a_shell_command_that_prints_a_file_names_it(hr: Headroom, command: Any, hinted: bool) -> None:
    items = [
        {"role": "user", "content": "read the orders module"},
        {
            "type": "function_call",
            "call_id": "c1",
            "name": "shell",
            "arguments": json.dumps({"command": command}),
        },
        {"type": "function_call_output", "call_id": "c1", "output": _plain_python()},
    ]
    out = hr.compress(items).messages
    assert ("...  # … 8 lines" in out[2]["output"]) is hinted  # compressed as Python only when named


def test_the_ledger_names_each_blocks_tool_and_a_retrievals(tmp_path: Any) -> None:
    """Every tool result's event carries its tool (compressed, excluded or too small), and so does a
    retrieval of its original in the same process: the dashboard splits savings and retrievals by tool."""
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/store.db", fresh_turns=0))
    messages = [
        *openai_conversation(big_log(), tool="Bash"),
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_2", "type": "function", "function": {"name": "Edit", "arguments": "{}"}},
                        {"id": "call_3", "type": "function", "function": {"name": "mcp__x__ping", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_2", "content": big_log("edited")},
        {"role": "tool", "tool_call_id": "call_3", "content": "pong"},
    ]  # fmt: skip
    result = hr.compress(messages, model="gpt-4o")
    (ref,) = result.refs
    hr.retrieve(ref, "request 217")
    single = hr.compress_tool_result(big_log("queued"), "Read")
    hr.retrieve(single.refs[0])
    panels = hr.stats(panels=True)["panels"]
    by_tool = {row["group"]: row for row in panels["by"]["tool"]}  # type: ignore[index]
    assert set(by_tool) == {"Bash", "Edit", "mcp__x__ping", "Read"}
    assert by_tool["Bash"]["saved"] > 0
    assert by_tool["Edit"]["saved"] == by_tool["mcp__x__ping"]["saved"] == 0  # an edit's lines, too small
    retrievals = {row["group"]: row for row in panels["retrievals"]["by_tool"]}  # type: ignore[index]
    assert retrievals["Bash"] == {"group": "Bash", "retrievals": 1, "compressed_blocks": 1, "rate_pct": 100.0}
    assert retrievals["Read"]["retrievals"] == 1
    hr.close()
