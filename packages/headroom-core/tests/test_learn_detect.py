"""``headroom learn``'s detectors: each on a case that must fire and one that must not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from headroom._learn.detect import Findings, command_text, missing_command
from headroom._learn.transcripts import Call

FILE = Path("/t/s.jsonl")


def call(n: int, command: Any, output: str, error: bool = False, tool: str = "Bash",
         session: str = "s1", cwd: str = "/work/app") -> Call:  # fmt: skip
    arguments = {"command": command}
    return Call("claude", session, FILE, n, f"2026-11-30T10:00:{n:02d}Z", cwd, tool, arguments, output, error)


@pytest.mark.parametrize(("output", "name"), [
    ("bash: pnpm: command not found", "pnpm"),
    ("/bin/sh: line 1: rg: command not found\n", "rg"),
    ("zsh: command not found: uv", "uv"),
    ("sh: 1: jq: not found", "jq"),  # dash names the line
    ("'make' is not recognized as an internal or external command", "make"),
    ("error: no such file: build.py", None),
    ("the test checks that 'x: command not found' is printed", None),  # quoted in other output
])  # fmt: skip
def test_missing_commands_are_read_from_shell_errors(output: str, name: str | None) -> None:
    assert missing_command(output) == name


def test_a_missing_command_and_what_worked_instead() -> None:
    findings = Findings()
    findings.session([
        call(1, "pnpm test", "bash: pnpm: command not found", error=True),
        call(2, "ls", "package.json"),
        call(3, "npm test", "12 passing"),
        call(4, "pnpm lint", "bash: pnpm: command not found", error=True),
    ])  # fmt: skip
    findings.session([call(1, "pnpm i", "bash: pnpm: command not found", error=True, session="s2")])
    (found,) = findings.found.values()
    assert (found.kind, found.project, found.key) == ("missing_command", "/work/app", "pnpm")
    assert found.instruction == "`pnpm` is not installed here; use `npm test` instead."  # not `ls`
    assert found.occurrences == 3
    assert found.sessions == {"s1", "s2"}
    assert found.tokens_wasted == sum((len(c) + 29) // 4 for c in ("pnpm test", "pnpm lint", "pnpm i"))
    assert [e.call for e in found.evidence] == ["pnpm test", "pnpm lint", "pnpm i"]
    assert found.evidence[0].output == "bash: pnpm: command not found"


def test_a_versioned_name_that_worked_is_named_alone() -> None:
    findings = Findings()
    findings.session([call(1, "python -m pytest -q", "bash: python: command not found", error=True),
                      call(2, "cd /work/app && python3 -m pytest -q", "3 passed")])  # fmt: skip
    (found,) = findings.found.values()
    assert found.instruction == "`python` is not installed here; use `python3` instead."


def test_a_command_that_works_is_no_finding() -> None:
    findings = Findings()
    findings.session([call(1, "pnpm test", "ok: 12 passing"), call(2, "echo 'x: not found'", "x: not found"),
                      call(3, "make", "make: *** [test] Error 1", error=True)])  # fmt: skip
    assert not findings.found  # a call that succeeded printing it, an error of another kind


def test_a_retry_loop_is_the_same_failing_call_three_times_in_a_row() -> None:
    findings = Findings()
    failing = "curl -sf http://localhost:9/health"
    findings.session([
        call(1, failing, "curl: (7) Failed to connect to localhost port 9", error=True),
        call(2, failing, "curl: (7) Failed to connect to localhost port 9", error=True),
        call(3, failing, "curl: (7) Failed to connect to localhost port 9", error=True),
        call(4, "ls", "a"),
        call(5, "make", "make: *** [test] Error 1", error=True),
        call(6, "make", "make: *** [test] Error 1", error=True),  # twice: not a loop
    ])  # fmt: skip
    (found,) = findings.found.values()
    assert found.kind == "retry_loop"
    assert found.occurrences == 2  # the repeats, not the first try
    assert [e.line for e in found.evidence] == [2, 3]
    assert "do not retry it unchanged" in found.instruction
    assert "Failed to connect to localhost port 9" in found.instruction


def test_codex_commands_read_as_typed() -> None:
    shell = Call("codex", "c", FILE, 1, None, None, "shell", {"command": ["bash", "-lc", "cargo test"]})
    assert command_text(shell) == "cargo test"
    argv = Call("codex", "c", FILE, 1, None, None, "shell", {"command": ["cargo", "nextest", "run"]})
    assert command_text(argv) == "cargo nextest run"
