"""Deterministic detectors over an agent's tool calls: each finding says what to tell the agent, with
the calls that show it and an estimate of the tokens they wasted.

A detector reads one session's calls in order (``Session``) and adds to the findings of its project
(the session's working directory). Tokens are estimated at four characters a token, over the failed
calls' input and output (what the model wrote and read for nothing); the estimate is labelled so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .transcripts import Call

SHELL_TOOLS = frozenset({"Bash", "shell", "local_shell", "exec_command", "shell_command"})
RETRIES = 3  # the same failing call this many times in a row is a retry loop
EXCERPT = 240  # characters of a call's input or output quoted as evidence
NEXT_CALLS = 5  # a command that worked within this many calls after a missing one replaced it

_NOT_FOUND = re.compile(
    r"(?:^|\n)(?:\S*sh: (?:(?:line )?\d+: )?)?"
    r"(?:command not found: ([\w.+-]+)|([\w.+-]+): (?:command )?not found)"
    r"|'([\w.+-]+)' is not recognized as an internal or external command"
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One call that shows a finding, as the transcript has it."""

    session: str
    file: str
    line: int
    time: str | None
    tool: str
    call: str  # the call's input, cut to EXCERPT characters
    output: str  # the result's text, cut to EXCERPT characters


@dataclass
class Finding:
    """What to tell the agent about one project, and why."""

    kind: str  # ``missing_command``, ``retry_loop``
    project: str  # the working directory of the sessions it comes from ("" when unknown)
    key: str  # what it is about (the command, the call) — one finding per (kind, project, key)
    instruction: str
    evidence: list[Evidence] = field(default_factory=list)
    occurrences: int = 0
    sessions: set[str] = field(default_factory=set)
    tokens_wasted: int = 0  # estimated: four characters a token

    def add(self, call: Call, keep: int = 5) -> None:
        self.occurrences += 1
        self.sessions.add(call.session)
        self.tokens_wasted += (len(command_text(call)) + len(call.output or "")) // 4
        if len(self.evidence) < keep:
            self.evidence.append(evidence(call))


def command_text(call: Call) -> str:
    """A call's input as one line of text: a shell command as typed, else compact JSON."""
    value: Any = call.input
    if isinstance(value, dict):
        value = value.get("command", value.get("cmd", value))
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        if len(value) == 3 and value[:2] in (["bash", "-lc"], ["bash", "-c"], ["sh", "-c"]):
            return str(value[2])
        return " ".join(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def evidence(call: Call) -> Evidence:
    return Evidence(call.session, str(call.file), call.line, call.time, call.tool,
                    command_text(call)[:EXCERPT], (call.output or "")[:EXCERPT])  # fmt: skip


def _instead(call: Call, failed: Call, missing: str) -> bool:
    """A shell call that succeeded at what ``failed`` tried without the ``missing`` command: its
    words after the first share one with the failed command's (``npm test`` for ``pnpm test``)."""
    if call.tool not in SHELL_TOOLS or call.is_error or call.output is None:
        return False
    words, tried = command_text(call).split(), command_text(failed).split()
    return missing not in words and bool(set(words[1:]) & set(tried[1:]))


def _replacement(call: Call, missing: str) -> str:
    """What to use instead of ``missing``: a command of the same name with a version or a prefix
    (``python3`` for ``python``), else the whole command that worked (120 characters at most)."""
    text = command_text(call)
    words = (w for w in text.split() if w != missing and len(w) > 1)
    variant = next((w for w in words if w.startswith(missing) or missing.startswith(w)), None)
    return variant if variant is not None else text[:120]


def missing_command(output: str) -> str | None:
    """The command a shell said it could not find, or None."""
    found = _NOT_FOUND.search(output[:2000])
    if found is None:
        return None
    return next(group for group in found.groups() if group)


class Findings:
    """The findings of every session fed to it, by (kind, project, key)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, str], Finding] = {}

    def finding(self, kind: str, project: str, key: str, instruction: str) -> Finding:
        entry = self.found.get((kind, project, key))
        if entry is None:
            entry = self.found[(kind, project, key)] = Finding(kind, project, key, instruction)
        return entry

    def session(self, calls: Iterable[Call]) -> None:
        """One session's calls, in order."""
        history = list(calls)
        self._missing(history)
        self._retries(history)

    def _missing(self, history: list[Call]) -> None:
        for index, call in enumerate(history):
            if call.tool not in SHELL_TOOLS or call.output is None or not call.is_error:
                continue
            name = missing_command(call.output)
            if name is None:
                continue
            window = history[index + 1 : index + 1 + NEXT_CALLS]
            instead = next((c for c in window if _instead(c, call, name)), None)
            advice = f"`{name}` is not installed here"
            if instead is not None:
                advice += f"; use `{_replacement(instead, name)}` instead"
            entry = self.finding("missing_command", call.cwd or "", name, advice + ".")
            if instead is not None and "instead" not in entry.instruction:
                entry.instruction = advice + "."
            entry.add(call)

    def _retries(self, history: list[Call]) -> None:
        run: list[Call] = []
        for call in [*history, None]:
            same = (call is not None and call.is_error and run and call.tool == run[-1].tool
                    and command_text(call) == command_text(run[-1]))  # fmt: skip
            if same and call is not None:
                run.append(call)
                continue
            if len(run) >= RETRIES:
                first = run[0]
                error = (first.output or "").strip().split("\n", 1)[0][:120]
                text = command_text(first)[:120]
                entry = self.finding("retry_loop", first.cwd or "", f"{first.tool} {text}",
                                     f"`{text}` ({first.tool}) fails with \"{error}\": do not retry it"
                                     " unchanged; change the call or ask.")  # fmt: skip
                for failed in run[1:]:  # the first try was fair; the repeats were the waste
                    entry.add(failed)
            run = [call] if call is not None and call.is_error else []
