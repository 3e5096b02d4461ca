"""What the agent went on to act on, and whether the compressed requests still showed it.

Judged on a replayed session, request by request (plain and compressed messages side by side, and the
answer the model gave to each request):

- used facts: the distinctive tokens of a tool result (identifiers and paths of 6+ characters, numbers
  of 3+ digits) that appeared nowhere earlier in the conversation. Each time a model step within
  ``WINDOW`` steps of the result uses one (in its text or a tool call's input) that the assistant had
  not written itself since the result, the use is visible when the result, as that step's request
  carried it, shows the token. Uses in tool calls are counted apart as well.
- edit anchors: every edit call (``Edit``/``MultiEdit`` ``old_string``, ``str_replace`` ``old_str``)
  whose lines all occur in an earlier tool result (line-number prefixes ignored; the latest such result
  is its source): visible when all of them occur in that result as the edit's request carried it.
- error results (``is_error``, or a non-zero ``Exit code``): their error lines (the lines that name an
  error, else the last line) visible in every request that carries the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

WINDOW = 10  # model steps after a result in which a use of its facts is counted
EDIT_TOOLS = ("Edit", "MultiEdit", "str_replace_based_edit_tool", "str_replace_editor", "edit_file")
_FACT = re.compile(r"(?:[\w.~-]*/)+[\w.~-]+|[A-Za-z_]\w{5,}|\b\d{3,}\b")
_NUMBERED = re.compile(r"^ *\d+(?:→|\t)", re.M)
_EXIT = re.compile(r"^Exit code (\d+)", re.M)
_ERROR_LINE = re.compile(
    r"(?i)error|exception|traceback|fail|fatal|panic|denied|not found|no such|cannot|invalid|exit code"
)


def facts(text: str) -> set[str]:
    """The distinctive tokens of ``text``."""
    return {m for m in _FACT.findall(text) if len(m) >= 6 or m.isdigit()}


def result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def unnumbered(text: str) -> str:
    """``text`` without ``cat -n`` / Claude Code ``N→`` line-number prefixes."""
    return _NUMBERED.sub("", text)


def error_lines(text: str) -> list[str]:
    """The lines of an error result that must stay visible: those naming an error, else the last."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    named = [line for line in lines if _ERROR_LINE.search(line)]
    return named or lines[-1:]


def is_error(block: dict[str, Any], text: str) -> bool:
    if block.get("is_error") is True:
        return True
    match = _EXIT.match(text)
    return match is not None and match.group(1) != "0"


def blocks_of(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def edit_anchors(block: dict[str, Any]) -> Iterator[list[str]]:
    """The non-blank ``old_string`` lines of each edit an assistant ``tool_use`` block makes."""
    if block.get("type") != "tool_use" or block.get("name") not in EDIT_TOOLS:
        return
    arguments = block.get("input") if isinstance(block.get("input"), dict) else {}
    edits = arguments.get("edits") if isinstance(arguments.get("edits"), list) else [arguments]
    for edit in edits:
        if not isinstance(edit, dict):
            continue
        old = edit.get("old_string", edit.get("old_str"))
        if isinstance(old, str):
            lines = [line.strip() for line in old.splitlines() if line.strip()]
            if lines:
                yield lines


@dataclass
class _Result:
    step: int
    where: tuple[int, int]  # message index, block index
    tool: str
    facts: set[str]
    written: set[str] = field(default_factory=set)
    error: list[str] | None = None
    error_hidden: bool = False


@dataclass
class Tally:
    """Judged counts, in total or for one tool: [visible, all] pairs."""

    uses: list[int] = field(default_factory=lambda: [0, 0])
    call_uses: list[int] = field(default_factory=lambda: [0, 0])
    anchors: list[int] = field(default_factory=lambda: [0, 0])
    errors: list[int] = field(default_factory=lambda: [0, 0])

    def add(self, other: Tally) -> None:
        for mine, theirs in ((self.uses, other.uses), (self.call_uses, other.call_uses),
                             (self.anchors, other.anchors), (self.errors, other.errors)):  # fmt: skip
            mine[0] += theirs[0]
            mine[1] += theirs[1]


class Judge:
    """Feed it every request of one session in order (``step``), then read ``total`` and ``by_tool``."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.results: list[_Result] = []
        self.names: dict[str, str] = {}
        self.carried = 0  # messages the previous request carried
        self.total = Tally()
        self.by_tool: dict[str, Tally] = {}
        self.misses: list[str] = []  # what was hidden, for reading (anchors and errors)

    def _tally(self, tool: str) -> Tally:
        return self.by_tool.setdefault(tool, Tally())

    def step(
        self, number: int, plain: list[dict[str, Any]], sent: list[dict[str, Any]], answer: list[Any]
    ) -> None:
        """Request ``number``: its messages as recorded and as compressed, and the model's answer."""
        self._read_new(number, plain)
        shown: dict[tuple[int, int], str] = {}

        def shown_text(where: tuple[int, int]) -> str:
            if where not in shown:
                blocks = blocks_of(sent[where[0]]) if where[0] < len(sent) else []
                shown[where] = result_text(blocks[where[1]]) if where[1] < len(blocks) else ""
            return shown[where]

        for result in self.results:
            if result.error is not None and not result.error_hidden:
                text = shown_text(result.where)
                result.error_hidden = not all(line in text for line in result.error)
                if result.error_hidden:
                    self.misses.append(
                        f"error of {result.tool} at step {number}: "
                        f"{next(line for line in result.error if line not in text)[:80]!r}"
                    )
        said, called = set(), set()
        for block in answer:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                said |= facts(str(block.get("text", "")))
            elif block.get("type") == "tool_use":
                called |= facts(json.dumps(block.get("input"), ensure_ascii=False))
        used = said | called
        for result in self.results:
            if number - result.step >= WINDOW:
                continue
            uses = (result.facts & used) - result.written
            if uses:
                visible = facts(shown_text(result.where))
                tally = self._tally(result.tool)
                for fact in uses:
                    seen = fact in visible
                    for counts in (tally.uses, self.total.uses):
                        counts[0] += seen
                        counts[1] += 1
                    if fact in called:
                        for counts in (tally.call_uses, self.total.call_uses):
                            counts[0] += seen
                            counts[1] += 1
            result.written |= result.facts & used
        for block in answer:
            if isinstance(block, dict):
                for lines in edit_anchors(block):
                    self._anchor(lines, plain, shown_text)

    def _anchor(self, lines: list[str], plain: list[dict[str, Any]], shown_text: Any) -> None:
        for result in reversed(self.results):
            message, index = result.where
            original = unnumbered(result_text(blocks_of(plain[message])[index]))
            if all(line in original for line in lines):
                shown = unnumbered(shown_text(result.where))
                seen = all(line in shown for line in lines)
                if not seen:
                    self.misses.append(
                        f"anchor from {result.tool} of step {result.step}: "
                        f"{next(line for line in lines if line not in shown)[:80]!r}"
                    )
                for counts in (self._tally(result.tool).anchors, self.total.anchors):
                    counts[0] += seen
                    counts[1] += 1
                return

    def _read_new(self, number: int, plain: list[dict[str, Any]]) -> None:
        for message_index in range(self.carried, len(plain)):
            message = plain[message_index]
            content = message.get("content")
            if isinstance(content, str):
                self.seen |= facts(content)
                continue
            for block_index, block in enumerate(blocks_of(message)):
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "tool_use":
                    self.names[str(block.get("id"))] = str(block.get("name"))
                if block.get("type") == "tool_result":
                    text = result_text(block)
                    found = facts(text)
                    tool = self.names.get(str(block.get("tool_use_id")), "?")
                    result = _Result(number, (message_index, block_index), tool, found - self.seen)
                    if is_error(block, text):
                        result.error = error_lines(text)
                    self.results.append(result)
                    self.seen |= found
                else:
                    self.seen |= facts(json.dumps(block, ensure_ascii=False))
        self.carried = len(plain)

    def finish(self) -> None:
        """Count the error results (after the last request)."""
        for result in self.results:
            if result.error is not None:
                for counts in (self._tally(result.tool).errors, self.total.errors):
                    counts[0] += not result.error_hidden
                    counts[1] += 1
