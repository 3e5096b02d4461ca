"""The coding agents' own transcripts, read as the tool calls they made and what came back.

- Claude Code: ``$CLAUDE_CONFIG_DIR/projects/<escaped cwd>/<session>.jsonl`` (default ``~/.claude``),
  sub-agents under ``<session>/subagents/`` and older ``agent-*.jsonl`` beside them; also its
  ``--output-format stream-json`` lines. Records ``user``/``assistant`` carry ``message.content``
  blocks: ``tool_use`` in the assistant's, ``tool_result`` (``is_error``) in the user's.
- Codex: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`` (default ``~/.codex``), lines of
  ``{timestamp, type, payload}``: ``session_meta`` and ``turn_context`` (the cwd), ``response_item``
  (``function_call`` / ``custom_tool_call`` and their ``*_output``), ``event_msg``.

A file is read line by line and a call is given out as soon as its result arrives, so a transcript
of any size is read in constant memory (the calls still waiting for a result are bounded by
``MAX_PENDING``). A line that is not JSON, or a record of a type the reader does not know, is
counted (``Reading``) and skipped, never fatal.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Agent = Literal["claude", "codex"]
AGENTS: tuple[Agent, ...] = ("claude", "codex")
MAX_PENDING = 4096  # calls waiting for their result; past it the oldest is given out without one
MAX_LINE = 64 << 20  # a longer line is skipped unread (counted), whatever it holds

_CLAUDE_TYPES = frozenset({"user", "assistant", "system", "summary", "result", "file-history-snapshot",
                           "queue-operation", "progress", "attachment"})  # fmt: skip
_CODEX_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg", "compacted"})
_CODEX_CALLS = frozenset({"function_call", "custom_tool_call", "local_shell_call"})
_CODEX_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call and its result as a transcript recorded them.

    Attributes:
        agent: ``claude`` or ``codex``.
        session: the session's id (the file's name when the records name none).
        file: the transcript file; ``line``: the call's line in it (1-based).
        time: the call's timestamp as recorded (ISO 8601), None when absent.
        cwd: the working directory the session was in at the call, when recorded.
        tool: the tool's name (``Bash``, ``Read``, ``shell``, ``apply_patch``, an MCP tool...).
        input: the call's arguments (an object; a string when the agent sent one that is not JSON).
        output: the result's text, None when no result was recorded.
        is_error: the agent recorded the result as an error (Claude Code's ``is_error``; for Codex a
            non-zero exit code or ``success: false``).
    """

    agent: Agent
    session: str
    file: Path
    line: int
    time: str | None
    cwd: str | None
    tool: str
    input: Any
    output: str | None = None
    is_error: bool = False


@dataclass
class Reading:
    """What reading transcripts came across besides the calls."""

    files: int = 0
    lines: int = 0
    malformed: int = 0  # not JSON, not an object, or longer than MAX_LINE
    unknown: int = 0  # a record of a type the reader does not know
    unanswered: int = 0  # calls given out without a result
    by_type: dict[str, int] = field(default_factory=dict)  # the unknown types seen, counted


def roots(agent: Agent, env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Where ``agent`` keeps its transcripts: ``$CLAUDE_CONFIG_DIR/projects`` or ``~/.claude/projects``;
    ``$CODEX_HOME/sessions`` or ``~/.codex/sessions``."""
    env = os.environ if env is None else env
    base = home if home is not None else Path.home()
    if agent == "claude":
        return Path(env.get("CLAUDE_CONFIG_DIR") or base / ".claude") / "projects"
    return Path(env.get("CODEX_HOME") or base / ".codex") / "sessions"


def files(agent: Agent, root: Path, since: float | None = None) -> list[Path]:
    """The transcript files of ``agent`` under ``root`` modified at or after ``since`` (unix time),
    oldest first; none when ``root`` does not exist."""
    if not root.is_dir():
        return []
    pattern = "*.jsonl" if agent == "claude" else "rollout-*.jsonl"
    found = []
    for path in root.rglob(pattern):
        try:
            modified = path.stat().st_mtime
        except OSError:
            continue
        if path.is_file() and (since is None or modified >= since):
            found.append((modified, path))
    return [path for _, path in sorted(found)]


def calls(agent: Agent, path: Path, reading: Reading) -> Iterator[Call]:
    """The tool calls in one transcript, each with its result, in the order the results came."""
    reader = _Claude(path, reading) if agent == "claude" else _Codex(path, reading)
    reading.files += 1
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, 1):
                reading.lines += 1
                record = _record(raw, reading)
                if record is not None:
                    yield from reader.feed(record, number)
    except OSError:
        reading.malformed += 1  # a file that went away or cannot be read: what was read counts
    yield from reader.rest()


def _record(raw: bytes, reading: Reading) -> dict[str, Any] | None:
    if len(raw) > MAX_LINE:
        reading.malformed += 1
        return None
    try:
        record = json.loads(raw)
    except ValueError:  # a truncated last line, a stray byte
        reading.malformed += 1 if raw.strip() else 0
        return None
    if not isinstance(record, dict):
        reading.malformed += 1
        return None
    return record


def _text(content: Any) -> str:
    """A tool result's text: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (b.get("text") for b in content if isinstance(b, dict))
        return "\n".join(p for p in parts if isinstance(p, str))
    if isinstance(content, dict):
        return _text(content.get("text") or content.get("content"))
    return ""


class _Reader:
    agent: Agent

    def __init__(self, path: Path, reading: Reading) -> None:
        self.path, self.reading = path, reading
        self.session = path.stem
        self.cwd: str | None = None
        self.pending: dict[str, Call] = {}

    def unknown(self, kind: object) -> None:
        self.reading.unknown += 1
        name = str(kind)[:64]
        if name in self.reading.by_type or len(self.reading.by_type) < 64:
            self.reading.by_type[name] = self.reading.by_type.get(name, 0) + 1

    def call(self, key: object, tool: object, arguments: Any, time: object, line: int) -> Iterator[Call]:
        if not isinstance(key, str) or not isinstance(tool, str):
            return
        if len(self.pending) >= MAX_PENDING:
            yield self._unanswered(self.pending.pop(next(iter(self.pending))))
        when = time if isinstance(time, str) else None
        self.pending[key] = Call(self.agent, self.session, self.path, line, when, self.cwd, tool, arguments)

    def result(self, key: object, output: str, is_error: bool) -> Iterator[Call]:
        started = self.pending.pop(key, None) if isinstance(key, str) else None
        if started is not None:
            yield Call(started.agent, started.session, started.file, started.line, started.time, started.cwd,
                       started.tool, started.input, output, is_error)  # fmt: skip

    def rest(self) -> Iterator[Call]:
        for started in self.pending.values():
            yield self._unanswered(started)
        self.pending.clear()

    def _unanswered(self, started: Call) -> Call:
        self.reading.unanswered += 1
        return started


class _Claude(_Reader):
    agent: Agent = "claude"

    def feed(self, record: dict[str, Any], line: int) -> Iterator[Call]:
        kind = record.get("type")
        if kind not in _CLAUDE_TYPES:
            self.unknown(kind)
            return
        session = record.get("sessionId") or record.get("session_id")
        if isinstance(session, str) and session:
            self.session = session
        if isinstance(record.get("cwd"), str):
            self.cwd = record["cwd"]
        message = record.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict):
                continue
            if kind == "assistant" and block.get("type") == "tool_use":
                yield from self.call(block.get("id"), block.get("name"), block.get("input"),
                                     record.get("timestamp"), line)  # fmt: skip
            elif kind == "user" and block.get("type") == "tool_result":
                yield from self.result(block.get("tool_use_id"), _text(block.get("content")),
                                       block.get("is_error") is True)  # fmt: skip


class _Codex(_Reader):
    agent: Agent = "codex"

    def feed(self, record: dict[str, Any], line: int) -> Iterator[Call]:
        kind, payload = record.get("type"), record.get("payload")
        if kind not in _CODEX_TYPES:
            self.unknown(kind)
            return
        if not isinstance(payload, dict):
            return
        if kind == "session_meta" and isinstance(payload.get("id"), str):
            self.session = payload["id"]
        if kind in ("session_meta", "turn_context") and isinstance(payload.get("cwd"), str):
            self.cwd = payload["cwd"]
        if kind != "response_item":
            return
        item = payload.get("type")
        if item in _CODEX_CALLS:
            arguments = payload.get("arguments", payload.get("input", payload.get("action")))
            if isinstance(arguments, str):
                with contextlib.suppress(ValueError):  # a custom tool's free-form input stays a string
                    arguments = json.loads(arguments)
            name = payload.get("name") or ("local_shell" if item == "local_shell_call" else None)
            yield from self.call(payload.get("call_id"), name, arguments, record.get("timestamp"), line)
        elif item in _CODEX_OUTPUTS:
            output, failed = _codex_output(payload.get("output"))
            yield from self.result(payload.get("call_id"), output, failed)


def _codex_output(output: Any) -> tuple[str, bool]:
    """A Codex call output's text, and whether it failed: the output may be a JSON string of
    ``{"output", "metadata": {"exit_code"}}``, an object with ``content`` and ``success``, or text
    starting ``Exit code: N``."""
    value = output
    if isinstance(output, str) and output.startswith("{"):
        try:
            value = json.loads(output)
        except ValueError:
            value = output
    if isinstance(value, dict):
        metadata = value.get("metadata")
        code = metadata.get("exit_code") if isinstance(metadata, dict) else None
        text = _text(value.get("output") if "output" in value else value.get("content"))
        return text, (isinstance(code, int) and code != 0) or value.get("success") is False
    text = value if isinstance(value, str) else _text(value)
    head = text[:40]
    if head.startswith("Exit code: "):
        code_text = head[len("Exit code: ") :].split("\n", 1)[0].strip()
        return text, code_text not in ("", "0")
    return text, False
