"""The session replay's loader and accounting, on transcripts written here in Claude Code's stream-json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from headroom import Config, Headroom

from bench._sessions import READ, WRITE, account, canonical, load_stream_json, provider_billed, replay


def _assistant(message_id: str, block: dict[str, Any], cached: int = 0) -> dict[str, Any]:
    usage = {"input_tokens": 3, "cache_read_input_tokens": cached, "cache_creation_input_tokens": 100}
    return {"type": "assistant", "message": {"id": message_id, "role": "assistant", "content": [block],
                                             "usage": usage}}  # fmt: skip


def _result(call: str, text: str, error: bool = False) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": call, "content": text, "is_error": error}
    return {"type": "user", "message": {"role": "user", "content": [block]}}


def transcript(path: Path, log: str) -> Path:
    records = [
        {"type": "system", "subtype": "init", "tools": ["Bash", "Read"]},
        _assistant("m1", {"type": "text", "text": "Looking."}),
        _assistant(
            "m1", {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "cat app.log"}}
        ),
        _assistant("m1", {"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": "/a.py"}}),
        _result("t2", "     1→import os\n     2→print(os.getcwd())\n"),  # parallel results, out of order
        _result("t1", log),
        _assistant(
            "m2", {"type": "tool_use", "id": "t3", "name": "Bash", "input": {"command": "false"}}, 100
        ),
        _result("t3", "Exit code 1", error=True),
        _assistant("m3", {"type": "text", "text": "Done."}, 200),
        {"type": "result", "subtype": "success"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def _replayed(session: Any) -> Any:
    headroom = Headroom(Config(store="memory", ledger=False))
    try:
        return replay(session, headroom, headroom.tokenizer().count)
    finally:
        headroom.close()


def test_a_transcript_becomes_its_model_calls(tmp_path: Path) -> None:
    session = load_stream_json(transcript(tmp_path / "task-a__run.jsonl", "log line\n"))
    assert session.name == "task-a"
    assert len(session.requests) == 3  # one per distinct message id
    first, second, third = (request.messages for request in session.requests)
    assert [m["role"] for m in first] == ["user"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert [b["type"] for b in second[1]["content"]] == ["text", "tool_use", "tool_use"]  # one call, merged
    assert {b["tool_use_id"] for b in second[2]["content"]} == {"t1", "t2"}  # both results in one turn
    assert canonical(third[: len(second)]) == canonical(second)  # each request extends the one before
    assert third[-1]["content"][0]["is_error"] is True


def test_billing_reads_the_shared_prefix_and_writes_the_rest() -> None:
    sizes = {"a": 10, "b": 20, "c": 40}
    totals = account([["a"], ["a", "b"], ["a", "c"]], sizes.__getitem__)
    assert totals.tokens == 10 + 30 + 50
    assert totals.billed == WRITE * 10 + (READ * 10 + WRITE * 20) + (READ * 10 + WRITE * 40)
    assert totals.stable == 1  # the third request dropped "b": not stable


def test_the_providers_figures_are_priced_the_same_way(tmp_path: Path) -> None:
    session = load_stream_json(transcript(tmp_path / "t__r.jsonl", "x\n"))
    tokens, billed = provider_billed(session.requests)
    assert tokens == 3 * 103 + 100 + 200
    assert billed == 3 * 3 + READ * 300 + WRITE * 300


def test_a_replay_saves_on_a_big_log_and_keeps_every_prefix(tmp_path: Path, outputs: Any) -> None:
    session = load_stream_json(transcript(tmp_path / "t__r.jsonl", outputs.app_log(lines=2_000, seed=4)))
    result = _replayed(session)
    assert result.requests == 3
    assert result.compressed.tokens * 2 < result.plain.tokens
    assert result.compressed.billed * 2 < result.plain.billed
    assert result.compressed.stable == 2  # every request began with the previous one, compressed
    assert len(result.ms) == 3


def test_an_exported_session_becomes_its_model_calls_with_their_times(tmp_path: Path) -> None:
    from bench._sessions import TTL_SECONDS, load_export

    def entry(role: str, stamp: str, body: object) -> str:
        text = body if isinstance(body, str) else json.dumps(body, indent=2)
        return f"### {role}\n> {stamp}\n\n{text}\n\n---\n"

    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "tool_use_id": "t1", "content": "a.py\nb.py"}
    path = tmp_path / "s.md"
    path.write_text(
        "# Session\n\n"
        + entry("User", "12/1/2025, 9:00:00 AM", "plain text, not JSON")
        + entry("Assistant", "12/1/2025, 9:00:05 AM", [{"type": "text", "text": "Listing."}])
        + entry("Assistant", "12/1/2025, 9:00:06 AM", [call])  # one API message, split in two entries
        + entry("User", "12/1/2025, 9:00:07 AM", [result])
        + entry("Assistant", "12/1/2025, 9:20:00 AM", [{"type": "text", "text": "Done."}]),
        encoding="utf-8",
    )
    session = load_export(path)
    assert len(session.requests) == 2
    first, second = session.requests
    assert first.messages == [{"role": "user", "content": [{"type": "text", "text": "plain text, not JSON"}]}]
    assert [b["type"] for b in second.messages[1]["content"]] == ["text", "tool_use"]
    assert second.messages[2]["content"] == [result]
    assert first.at is not None
    assert second.at is not None
    assert second.at - first.at > TTL_SECONDS  # twenty minutes later: the cache is cold
    sizes = dict.fromkeys(canonical(second.messages), 10) | dict.fromkeys(canonical(first.messages), 10)
    cold = account([canonical(first.messages), canonical(second.messages)], sizes.__getitem__,
                   [first.at, second.at])  # fmt: skip
    assert cold.billed == WRITE * 10 + WRITE * 30  # nothing read: the prefix expired


def test_each_tool_result_is_counted_once_under_its_tool(tmp_path: Path, outputs: Any) -> None:
    session = load_stream_json(transcript(tmp_path / "t__r.jsonl", outputs.app_log(lines=2_000, seed=4)))
    result = _replayed(session)
    assert sorted(result.by_tool) == ["Bash", "Read"]
    assert result.by_tool["Bash"][0] == 2  # the log and the failed command, each once
    assert result.by_tool["Read"][0] == 1
    _, tokens, sent = result.by_tool["Bash"]
    assert sent * 2 < tokens  # the log was compressed


def _read_and_edit(shown: str, error_shown: str) -> tuple[list[Any], list[Any], list[Any]]:
    """A Read of a numbered file and a failed command, as sent and as ``shown``; the answer edits."""
    numbered = "     1→def settle(invoice_total):\n     2→    return charge_card(invoice_total, 48213)\n"
    error = "Exit code 1\nTraceback (most recent call last):\nValueError: invoice_total is negative\n"
    calls = {"role": "assistant", "content": [
        {"type": "tool_use", "id": "r1", "name": "Read", "input": {"file_path": "/app/billing.py"}},
        {"type": "tool_use", "id": "b1", "name": "Bash", "input": {"command": "pytest"}}]}  # fmt: skip

    def results(read: str, failed: str) -> dict[str, Any]:
        return {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "r1", "content": read},
            {"type": "tool_result", "tool_use_id": "b1", "content": failed, "is_error": True}]}  # fmt: skip

    prompt = {"role": "user", "content": "fix billing"}
    answer = [{"type": "tool_use", "id": "e1", "name": "Edit", "input": {
        "file_path": "/app/billing.py", "old_string": "    return charge_card(invoice_total, 48213)",
        "new_string": "    return charge_card(abs(invoice_total), 48213)"}}]  # fmt: skip
    return [prompt, calls, results(numbered, error)], [prompt, calls, results(shown, error_shown)], answer


def test_the_judge_counts_what_the_compressed_request_still_shows() -> None:
    from bench._judge import Judge

    plain, sent, answer = _read_and_edit(
        "     1→def settle(invoice_total):\n     2→    return charge_card(invoice_total, 48213)\n",
        "Exit code 1\nTraceback (most recent call last):\nValueError: invoice_total is negative\n",
    )
    judge = Judge()
    judge.step(0, plain, sent, answer)
    judge.finish()
    assert judge.total.uses == [4, 4]  # return, charge_card, invoice_total, 48213: first seen in the Read
    assert judge.total.call_uses == [4, 4]
    assert judge.total.anchors == [1, 1]
    assert judge.total.errors == [1, 1]
    plain, sent, answer = _read_and_edit("     1→def settle(invoice_total):\n[… 1 line omitted]\n",
                                         "Exit code 1\n[… 2 lines omitted]\n")  # fmt: skip
    judge = Judge()
    judge.step(0, plain, sent, answer)
    judge.finish()
    assert judge.total.uses == [1, 4]  # only invoice_total still shows
    assert judge.total.anchors == [0, 1]
    assert judge.total.errors == [0, 1]
    assert len(judge.misses) == 2  # the hidden anchor and the hidden error, for reading


def test_the_identifier_list_variant_shows_every_fact_and_costs_tokens(tmp_path: Path, outputs: Any) -> None:
    from bench._sessions import Gamed

    session = load_stream_json(transcript(tmp_path / "t__r.jsonl", outputs.app_log(lines=2_000, seed=4)))
    headroom = Headroom(Config(store="memory", ledger=False, fresh_turns=0))
    try:
        honest = replay(session, headroom, headroom.tokenizer().count)
        gamed = replay(session, Gamed(headroom), headroom.tokenizer().count)
    finally:
        headroom.close()
    assert gamed.compressed.tokens > honest.compressed.tokens
    assert gamed.compressed.stable == honest.compressed.stable == 2
