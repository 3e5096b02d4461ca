"""Mixed content: split a text into parts that each have one kind, so each gets its own compressor.

Three shapes are recognised: prose or Markdown with fenced blocks (the fence lines stay as they are,
the prose between them is a part of the whole's kind, each fenced body is routed by its info string
or by detection); a log carrying pretty-printed JSON payloads (each payload becomes a ``json`` part,
the log lines around it ``log`` parts); and one JSON body framed by a few header lines (a label, HTTP
headers, a runner's exit code and timings) and maybe a short footer, kept as they are. Parts are
exact slices of the text: joined, they give the text back byte for byte.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ._detect import Detected, detect, language_from_path
from ._types import Kind

# matched where str.find puts each ``` or ~~~ (a "^" pattern, or one starting with a character class,
# makes the regex engine try every position: 25-160 ms over 4 MB, str.find takes 3); the indent before
# the fence is checked after
_FENCE_LINE = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.MULTILINE)
_INDENT = re.compile(r"[ \t]{0,3}")
# a line holding only "[" or "{": found after a line break (a literal first, so the regex engine skips
# to each line break in C instead of trying every position: 4 MB of log in 1 ms, not 25 ms), or first
_JSON_OPENER = re.compile(r"\n[ \t]*[\[{][ \t]*\r?$", re.MULTILINE)
_FIRST_OPENER = re.compile(r"[ \t]*[\[{][ \t]*\r?$", re.MULTILINE)
_MIN_JSON_LINES = 5
_INFO_KINDS: dict[str, Kind] = {
    "json": "json", "jsonc": "json", "json5": "json", "log": "log", "logs": "log", "diff": "diff",
    "patch": "diff", "html": "html", "grep": "search", "rg": "search",
}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """A slice of the text; ``kind`` None means it is kept exactly as it is."""

    text: str
    kind: Kind | None
    language: str | None = None


def _fenced_kind(info: str, body: str) -> Detected:
    tag = info.strip().split(" ")[0].lower() if info.strip() else ""
    if tag in _INFO_KINDS:
        return Detected(_INFO_KINDS[tag])
    language = language_from_path(f"x.{tag}") if tag else None
    if language is None and tag in {
        "python",
        "javascript",
        "typescript",
        "go",
        "rust",
        "java",
        "cpp",
        "c++",
        "tsx",
    }:
        language = {"c++": "cpp"}.get(tag, tag)
    if language is not None:
        return Detected("code", language)
    return detect(body)


def _fence_lines(text: str) -> list[re.Match[str]]:
    """Every run of three or more backticks or tildes with the rest of its line, in order."""
    found: list[re.Match[str]] = []
    for needle in ("```", "~~~"):
        position = text.find(needle)
        while position >= 0:
            if position == 0 or text[position - 1] != needle[0]:  # a run's start, not its middle
                line = _FENCE_LINE.match(text, position)
                if line is not None:
                    found.append(line)
            position = text.find(needle, position + 3)
    return sorted(found, key=lambda line: line.start())


def _fences(text: str) -> Iterator[tuple[int, int, int, int, str]]:
    """Each fenced block as (start, body start, body end, end, info string): the closing line is the
    first later one with the same indent and fence and nothing after it, with at least one line
    between them; an opening line that is never closed is plain text. A fence is its whole run of
    backticks or tildes. One pass over the fence lines (an unclosed fence does not make every later
    one scan to the end)."""
    lines: list[re.Match[str]] = []
    indents: list[str] = []
    for line in _fence_lines(text):
        start = text.rfind("\n", 0, line.start()) + 1
        if line.start() - start <= 3 and _INDENT.fullmatch(text, start, line.start()):
            lines.append(line)
            indents.append(text[start : line.start()])
    closers: dict[tuple[str, str], list[int]] = {}
    for number, line in enumerate(lines):
        if not line["info"].strip(" \t"):
            closers.setdefault((indents[number], line["fence"]), []).append(number)
    position = number = 0
    while number < len(lines):
        opening, indent = lines[number], indents[number]
        number += 1
        if opening.start() - len(indent) < position or opening.end() >= len(text):
            continue
        same = closers.get((indent, opening["fence"]), [])
        index = bisect.bisect_left(same, number)
        while (
            index < len(same) and lines[same[index]].start() - len(indents[same[index]]) <= opening.end() + 1
        ):
            index += 1  # an empty block does not close: the body is at least one line
        if index == len(same):
            continue
        closing = lines[same[index]]
        closing_start = closing.start() - len(indents[same[index]])
        yield opening.start() - len(indent), opening.end() + 1, closing_start, closing.end(), opening["info"]
        position, number = closing.end(), same[index] + 1


def _split_fences(text: str, kind: Kind) -> list[Part] | None:
    """Fenced bodies routed by their info string; the text between them keeps the whole's ``kind``;
    fence lines are kept as they are."""
    parts: list[Part] = []
    position = 0
    for start, body_start, body_end, end, info in _fences(text):
        parts.append(Part(text[position:start], kind))
        parts.append(Part(text[start:body_start], None))
        found = _fenced_kind(info, text[body_start:body_end])
        parts.append(Part(text[body_start:body_end], found.kind, found.language))
        parts.append(Part(text[body_end:end], None))
        position = end
    if not parts:
        return None
    parts.append(Part(text[position:], kind))
    return [part for part in parts if part.text]


def _json_end(text: str, start: int) -> int | None:
    """The index just past the JSON value opening at ``start`` (brackets balanced outside strings)."""
    depth = 0
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _openers(text: str) -> Iterator[int]:
    """Where each line holding only ``[`` or ``{`` starts."""
    if _FIRST_OPENER.match(text):
        yield 0
    for match in _JSON_OPENER.finditer(text):
        yield match.start() + 1


def _split_payloads(text: str) -> list[Part] | None:
    parts: list[Part] = []
    position = 0
    for line_start in _openers(text):
        if line_start < position:
            continue
        start = line_start
        while text[start] in " \t":
            start += 1
        end = _json_end(text, start)
        if end is None or text.count("\n", start, end) < _MIN_JSON_LINES:
            continue
        try:
            json.loads(text[start:end])
        except (ValueError, RecursionError):
            continue
        if line_start > position:
            parts.append(Part(text[position:line_start], "log"))
        parts.append(Part(text[line_start:end], "json"))
        position = end
    if not parts:
        return None
    if position < len(text):
        parts.append(Part(text[position:], "log"))
    return parts


# header lines an agent or a tool puts before a body (Codex's Chunk ID ... Output:, curl -i)
_FRAME_LINES = 12
_TAIL_LINES = 3
_MIN_BODY_CHARS = 200
_DECODER = json.JSONDecoder()


def _split_framed(text: str) -> list[Part] | None:
    """A short header (a label, HTTP headers, a runner's exit code and timings) before one JSON body,
    maybe a short footer after it: header and footer kept as they are, the body a ``json`` part.
    Reads the first lines in place and decodes in C: a text that is not framed JSON costs little."""
    position = 0
    for _ in range(_FRAME_LINES + 1):
        start = position
        while start < len(text) and text[start] in " \t":
            start += 1
        if text.startswith(("{", "["), start):
            try:
                _, end = _DECODER.raw_decode(text, start)
            except (ValueError, RecursionError):
                return None
            if end - start < _MIN_BODY_CHARS or text[end:].strip().count("\n") >= _TAIL_LINES:
                return None
            parts = [Part(text[:position], None)] if position else []
            parts.append(Part(text[position:end], "json"))
            return [*parts, Part(text[end:], None)] if end < len(text) else parts
        newline = text.find("\n", position)
        if newline < 0:
            return None
        position = newline + 1
    return None


def split_mixed(text: str, kind: Kind) -> list[Part] | None:
    """The parts of ``text`` when it mixes kinds, else None. ``kind`` is what detection said."""
    if kind in ("text", "log") and ("```" in text or "~~~" in text):
        fenced = _split_fences(text, kind)  # explicit structure wins, whatever kind dominates the text
        if fenced is not None:
            return fenced
    if kind == "log":
        return _split_payloads(text)  # None when no line opens a payload
    if kind == "text":
        return _split_framed(text)
    return None
