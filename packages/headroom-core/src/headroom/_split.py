"""Mixed content: split a text into parts that each have one kind, so each gets its own compressor.

Two shapes are recognised: prose or Markdown with fenced blocks (the fence lines stay as they are,
the prose between them is a part of the whole's kind, each fenced body is routed by its info string
or by detection), and a log carrying
pretty-printed JSON payloads (each payload becomes a ``json`` part, the log lines around it ``log``
parts). Parts are exact slices of the text: joined, they give the text back byte for byte.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ._detect import Detected, detect, language_from_path
from ._types import Kind

_FENCE_LINE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$", re.MULTILINE)
_JSON_OPENER = re.compile(r"^[ \t]*[\[{][ \t]*\r?$", re.MULTILINE)
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


def _fences(text: str) -> Iterator[tuple[re.Match[str], re.Match[str]]]:
    """Each fenced block as (opening line, closing line): the closing line is the first later one with
    the same indent and fence and nothing after it, with at least one line between them; an opening
    line that is never closed is plain text. One pass over the fence lines (an unclosed fence does not
    make every later one scan to the end)."""
    lines = list(_FENCE_LINE.finditer(text))
    closers: dict[tuple[str, str], list[int]] = {}
    for number, line in enumerate(lines):
        if not line["info"].strip(" \t"):
            closers.setdefault((line["indent"], line["fence"]), []).append(number)
    position = number = 0
    while number < len(lines):
        opening = lines[number]
        number += 1
        if opening.start() < position or opening.end() >= len(text):
            continue
        same = closers.get((opening["indent"], opening["fence"]), [])
        index = bisect.bisect_left(same, number)
        while index < len(same) and lines[same[index]].start() <= opening.end() + 1:
            index += 1  # an empty block does not close: the body is at least one line
        if index == len(same):
            continue
        closing = lines[same[index]]
        yield opening, closing
        position, number = closing.end(), same[index] + 1


def _split_fences(text: str, kind: Kind) -> list[Part] | None:
    """Fenced bodies routed by their info string; the text between them keeps the whole's ``kind``;
    fence lines are kept as they are."""
    parts: list[Part] = []
    position = 0
    for opening, closing in _fences(text):
        body_start, body_end = opening.end() + 1, closing.start()
        parts.append(Part(text[position : opening.start()], kind))
        parts.append(Part(text[opening.start() : body_start], None))
        found = _fenced_kind(opening["info"], text[body_start:body_end])
        parts.append(Part(text[body_start:body_end], found.kind, found.language))
        parts.append(Part(text[body_end : closing.end()], None))
        position = closing.end()
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


def _split_payloads(text: str) -> list[Part] | None:
    parts: list[Part] = []
    position = 0
    for opener in _JSON_OPENER.finditer(text):
        if opener.start() < position:
            continue
        start = text.index(opener.group().strip()[0], opener.start())
        end = _json_end(text, start)
        if end is None or text.count("\n", start, end) < _MIN_JSON_LINES:
            continue
        try:
            json.loads(text[start:end])
        except (ValueError, RecursionError):
            continue
        line_start = opener.start()
        if line_start > position:
            parts.append(Part(text[position:line_start], "log"))
        parts.append(Part(text[line_start:end], "json"))
        position = end
    if not parts:
        return None
    if position < len(text):
        parts.append(Part(text[position:], "log"))
    return parts


def split_mixed(text: str, kind: Kind) -> list[Part] | None:
    """The parts of ``text`` when it mixes kinds, else None. ``kind`` is what detection said."""
    if kind in ("text", "log") and ("```" in text or "~~~" in text):
        fenced = _split_fences(text, kind)  # explicit structure wins, whatever kind dominates the text
        if fenced is not None:
            return fenced
    if kind == "log" and _JSON_OPENER.search(text):
        return _split_payloads(text)
    return None
