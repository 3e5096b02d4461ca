"""``headroom learn``'s transcript readers on files written here in both agents' formats: where they
are found (config dirs moved by the environment), sub-agents, truncated lines, unknown records."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from headroom._learn.transcripts import MAX_PENDING, Reading, calls, files, roots


def write(path: Path, records: list[Any], tail: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n" + tail)
    return path


def claude_turn(n: int, name: str, arguments: dict[str, Any], output: Any, error: bool = False,
                cwd: str = "/work/app") -> list[dict[str, Any]]:  # fmt: skip
    at = f"2026-11-30T10:00:{n:02d}Z"
    use = {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": arguments}
    result = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": output, "is_error": error}
    return [
        {"type": "assistant", "sessionId": "s-1", "cwd": cwd, "timestamp": at, "gitBranch": "main",
         "message": {"role": "assistant", "content": [{"type": "text", "text": "let me look"}, use]}},
        {"type": "user", "sessionId": "s-1", "cwd": cwd, "timestamp": at,
         "message": {"role": "user", "content": [result]}, "toolUseResult": {"stdout": "", "stderr": ""}},
    ]  # fmt: skip


def test_claude_code_transcripts_with_subagents_in_a_moved_config_dir(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere"
    root = roots("claude", {"CLAUDE_CONFIG_DIR": str(config)}, home=tmp_path / "home")
    assert root == config / "projects"
    project = root / "-work-app"
    records = [
        {"type": "summary", "summary": "fixing the build"},
        *claude_turn(1, "Bash", {"command": "pnpm test"}, "bash: pnpm: command not found", error=True),
        {"type": "a-record-from-a-newer-version", "x": 1},
        *claude_turn(2, "Read", {"file_path": "/work/app/big.py"}, [{"type": "text", "text": "1\tdef f():"}]),
        {"type": "assistant", "sessionId": "s-1", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_9", "name": "Bash", "input": {"command": "sleep 100"}}]}},
    ]  # fmt: skip
    main = write(project / "s-1.jsonl", records, tail='{"type": "user", "message": {"role"')  # cut off
    sub = write(project / "s-1" / "subagents" / "agent-a1.jsonl",
                claude_turn(3, "Grep", {"pattern": "TODO"}, "No matches found"))  # fmt: skip
    old = write(project / "agent-77.jsonl", claude_turn(4, "Glob", {"pattern": "*.md"}, "README.md"))
    os.utime(old, (1, 1))
    found = files("claude", root)
    assert found[0] == old  # oldest first
    assert set(found) == {main, sub, old}
    assert files("claude", root, since=1000) == sorted([main, sub], key=lambda p: p.stat().st_mtime)
    reading = Reading()
    got = [c for path in found for c in calls("claude", path, reading)]
    by_tool = {c.tool: c for c in got}
    bash = next(c for c in got if c.input == {"command": "pnpm test"})
    assert bash.is_error
    assert bash.output == "bash: pnpm: command not found"
    assert (bash.session, bash.cwd, bash.time, bash.line) == ("s-1", "/work/app", "2026-11-30T10:00:01Z", 2)
    assert by_tool["Read"].output == "1\tdef f():"
    assert not by_tool["Read"].is_error
    assert by_tool["Grep"].output == "No matches found"
    unanswered = next(c for c in got if c.input == {"command": "sleep 100"})
    assert unanswered.output is None  # the session ended before its result
    assert (reading.files, reading.malformed, reading.unknown, reading.unanswered) == (3, 1, 1, 1)
    assert reading.by_type == {"a-record-from-a-newer-version": 1}


def test_claude_code_stream_json_lines(tmp_path: Path) -> None:
    """``claude -p --output-format stream-json`` names the session ``session_id``."""
    records = [{"type": "system", "subtype": "init", "cwd": "/root", "session_id": "abc"},
               *({**r, "session_id": "abc"} for r in claude_turn(1, "Bash", {"command": "ls"}, "a\nb"))]  # fmt: skip
    for record in records:
        record.pop("sessionId", None)
    path = write(tmp_path / "run.jsonl", records)
    (call,) = calls("claude", path, Reading())
    assert (call.session, call.tool, call.output) == ("abc", "Bash", "a\nb")


def codex_rollout(tmp_path: Path) -> Path:
    day = tmp_path / ".codex" / "sessions" / "2026" / "11" / "30"
    shell = {
        "output": "error: no such command: `nextest`\n",
        "metadata": {"exit_code": 101, "duration_seconds": 0.1},
    }
    records = [
        {"timestamp": "2026-11-30T09:00:00Z", "type": "session_meta",
         "payload": {"id": "codex-1", "cwd": "/work/rust", "originator": "codex_cli_rs"}},
        {"timestamp": "2026-11-30T09:00:01Z", "type": "turn_context", "payload": {"cwd": "/work/rust/crate"}},
        {"timestamp": "2026-11-30T09:00:02Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_1",
                     "arguments": json.dumps({"command": ["cargo", "nextest", "run"]})}},
        {"timestamp": "2026-11-30T09:00:03Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "call_1", "output": json.dumps(shell)}},
        {"timestamp": "2026-11-30T09:00:04Z", "type": "event_msg", "payload": {"type": "token_count"}},
        {"timestamp": "2026-11-30T09:00:05Z", "type": "response_item",
         "payload": {"type": "custom_tool_call", "name": "apply_patch", "call_id": "call_2",
                     "input": "*** Begin Patch\n*** End Patch"}},
        {"timestamp": "2026-11-30T09:00:06Z", "type": "response_item",
         "payload": {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Exit code: 0\nDone!"}},
        {"timestamp": "2026-11-30T09:00:07Z", "type": "response_item",
         "payload": {"type": "function_call", "name": "shell", "call_id": "call_3",
                     "arguments": json.dumps({"command": ["cargo", "test"]})}},
        {"timestamp": "2026-11-30T09:00:08Z", "type": "response_item",
         "payload": {"type": "function_call_output", "call_id": "call_3", "output": "Exit code: 1\nWall time: 2s"}},
        "not json at all",
        {"timestamp": "2026-11-30T09:00:09Z", "type": "some_new_record", "payload": {}},
    ]  # fmt: skip
    write(day / "rollout-2026-11-30T09-00-00-codex-1.jsonl", records)
    write(day / "notes.jsonl", records[:1])  # not a rollout: not read
    return tmp_path / ".codex" / "sessions"


def test_codex_rollouts_under_codex_home_or_the_default(tmp_path: Path) -> None:
    root = codex_rollout(tmp_path)
    assert roots("codex", {}, home=tmp_path) == root
    assert roots("codex", {"CODEX_HOME": str(tmp_path / "c")}, home=tmp_path) == tmp_path / "c" / "sessions"
    (path,) = files("codex", root)
    reading = Reading()
    nextest, patch, test = calls("codex", path, reading)
    assert (nextest.session, nextest.cwd, nextest.tool) == ("codex-1", "/work/rust/crate", "shell")
    assert nextest.input == {"command": ["cargo", "nextest", "run"]}
    assert nextest.is_error
    assert nextest.output == "error: no such command: `nextest`\n"
    assert (patch.tool, patch.input, patch.is_error) == (
        "apply_patch",
        "*** Begin Patch\n*** End Patch",
        False,
    )
    assert test.is_error  # "Exit code: 1"
    assert (reading.malformed, reading.unknown, reading.unanswered) == (1, 1, 0)


def test_a_missing_directory_has_no_transcripts_and_pending_calls_stay_bounded(tmp_path: Path) -> None:
    assert files("codex", tmp_path / "nowhere") == []
    records = [{"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}}]}} for n in range(MAX_PENDING + 10)]  # fmt: skip
    reading = Reading()
    assert len(list(calls("claude", write(tmp_path / "s.jsonl", records), reading))) == MAX_PENDING + 10
    assert reading.unanswered == MAX_PENDING + 10
