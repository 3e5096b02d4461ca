"""Prompt-cache alignment: find what makes the cached prefix (system prompt, tools) change per request.

Providers cache a request's longest unchanged prefix: the tool definitions, then the system prompt,
then the conversation. A timestamp, a request id or a shuffled tool list in that prefix changes it on
every request, so nothing after it is ever served from the cache. This module reports such content
(``find_volatile``), confirms it when two requests differ only there (``PrefixWatch``), and, when
``Config.align_cache`` is on, moves volatile lines of the system prompt to the end of the newest user
turn and puts the tools into one canonical order (``canonical_tools``).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import Any

from .._types import Volatile
from .blocks import Block
from .memo import digest

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
# Most specific first: a timestamp is not also reported as a date and a time.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("timestamp", re.compile(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
    )),
    ("uuid", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("request id", re.compile(
        r"(?i)\b(?:request|req|trace|span|session|correlation|run)[-_ ]?id\b[\"']?\s*[:=]\s*[\"']?[\w.-]{6,}"
        r"|\b(?:req|msg|run|chatcmpl|resp)_[A-Za-z0-9]{10,}\b"
    )),
    ("date", re.compile(
        rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
        rf"|\b(?:{_DAY},?\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b"
        rf"|\b(?:{_DAY},?\s+)?\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\b"
    )),
    ("time", re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b|\b\d{1,2}:\d{2}\s?(?:[AaPp][Mm])\b")),
    ("unix time", re.compile(r"\b1[6-9]\d{8}(?:\d{3})?\b")),
)  # fmt: skip
_SAMPLE_CHARS = 60
_MOVED_NOTE = "[moved here from the system prompt by headroom, to keep the prompt cache stable]"


def find_volatile(text: str, where: str) -> list[Volatile]:
    """Content of ``text`` that is likely to differ from one request to the next, first match per kind."""
    taken: list[tuple[int, int]] = []
    found: list[Volatile] = []
    for what, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            if not any(v.what == what for v in found):
                found.append(Volatile(where=where, what=what, sample=match.group()[:_SAMPLE_CHARS]))
    return found


def _mask(text: str) -> str:
    for what, pattern in _PATTERNS:
        text = pattern.sub(f"<{what}>", text)
    return text


def volatile_lines(text: str) -> tuple[str, list[str]]:
    """``text`` without its volatile lines, and those lines (for moving them out of the prefix)."""
    kept: list[str] = []
    moved: list[str] = []
    for line in text.splitlines(keepends=True):
        (moved if any(p.search(line) for _, p in _PATTERNS) else kept).append(line)
    return "".join(kept), [line.rstrip("\r\n") for line in moved]


def align(blocks: list[Block], new_texts: dict[int, str]) -> None:
    """Move volatile lines of the system prompt to the end of the newest user turn (``new_texts``:
    block index -> the text to send, updated in place)."""
    users = [i for i, b in enumerate(blocks) if b.role == "user" and b.path is not None]
    if not users:
        return
    moved: list[str] = []
    for index, block in enumerate(blocks):
        if block.role == "system" and block.path is not None:
            kept, lines = volatile_lines(new_texts.get(index, block.text))
            if lines:
                new_texts[index] = kept
                moved.extend(lines)
    if moved:
        last = users[-1]
        current = new_texts.get(last, blocks[last].text)
        new_texts[last] = f"{current}\n\n{_MOVED_NOTE}\n" + "\n".join(moved)


def _dumps(value: Any, sort_keys: bool) -> str:
    return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":"), default=str)


def _tool_name(tool: Any) -> str:
    if isinstance(tool, dict):
        name = tool.get("name")
        if not isinstance(name, str) and isinstance(tool.get("function"), dict):
            name = tool["function"].get("name")
        if isinstance(name, str):
            return name
    return ""


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def canonical_tools(tools: list[Any]) -> list[Any]:
    """The tools sorted by name (stable), every object's keys in sorted order."""
    return [_sorted_keys(tool) for tool in sorted(tools, key=_tool_name)]


class PrefixWatch:
    """Remembers recent prefixes to confirm volatility: same content but for the volatile parts."""

    def __init__(self, max_entries: int = 256) -> None:
        self._seen: OrderedDict[bytes, bytes] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def changed(self, stable: str, exact: str) -> bool:
        """Whether a prefix equal to this one up to ``stable`` was seen before with other exact bytes."""
        key, value = digest("prefix", stable), digest(exact)
        with self._lock:
            previous = self._seen.get(key)
            self._seen[key] = value
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        return previous is not None and previous != value

    def check(self, system: list[str], tools: list[Any] | None) -> list[Volatile]:
        """Volatile content of the system prompt and the tools, confirmed where a change was seen.

        Tools that cannot be serialised (nested too deeply, foreign objects) are not checked.
        """
        try:
            return self._check(system, tools)
        except (RecursionError, ValueError, TypeError):
            return self._check(system, None)

    def _check(self, system: list[str], tools: list[Any] | None) -> list[Volatile]:
        found: list[Volatile] = []
        text = "\n".join(system)
        if text:
            system_found = find_volatile(text, "system")
            confirmed = bool(system_found) and self.changed(_mask(text), text)
            found += [
                Volatile(where=v.where, what=v.what, sample=v.sample, confirmed=confirmed)
                for v in system_found
            ]
        if tools:
            for tool in tools:
                found += find_volatile(_dumps(tool, sort_keys=False), f"tool {_tool_name(tool)}".strip())
            if self.changed(_dumps(canonical_tools(tools), sort_keys=True), _dumps(tools, sort_keys=False)):
                found.append(
                    Volatile(
                        where="tools",
                        what="order",
                        sample="tools or keys in a different order",
                        confirmed=True,
                    )
                )
        return found
