"""The framing an agent or a tool puts around a command's output, kept verbatim while the body is
compressed as what it is.

Recognised: Codex's header (``Chunk ID:``, ``Wall time:``, ``Process exited with code N``, ``Original
token count:`` ... ``Output:``), the status line and headers of ``curl -i`` up to the blank line, and
an exit-status line at the end (``[exit status 1]``, ``Exit code: 1``, ``Process exited with code 1``).
The exit code is what an agent reads first, so a framed output always shows it.
"""

from __future__ import annotations

import re

_HEADER_LINES = 12
_FIELD = re.compile(r"[A-Z][A-Za-z0-9 _-]{0,40}: ?\S.*|Process exited with code -?\d+|Exit code:? -?\d+")
_HTTP_STATUS = re.compile(r"HTTP/\d(?:\.\d)? \d{3}\b.*")
_HTTP_FIELD = re.compile(r"[A-Za-z0-9-]+: .*")
_OUTPUT = re.compile(r"Output:\s*")
_EXIT = re.compile(
    r"\[?(?:exit (?:status|code)|Exit (?:status|code)|Process exited with code|Command exited with code)"
    r"[: ]*-?\d+\]?\s*"
)
_TAIL_LINES = 2


def split(text: str) -> tuple[str, str, str] | None:
    """(header, body, footer) of a framed output, joined they give ``text``; None when ``text`` has
    no framing this module knows."""
    head = _header(text)
    body_start = len(head) if head is not None else 0
    end = len(text)
    for _ in range(_TAIL_LINES):
        last = len(text[:end].rstrip("\n"))  # the end of the last line with something on it
        start = text.rfind("\n", 0, last) + 1
        if start <= body_start or not _EXIT.fullmatch(text[start:last]):
            break
        end = start
    if head is None and end == len(text):
        return None
    body = text[body_start:end]
    if not body.strip():
        return None
    return text[:body_start], body, text[end:]


def _header(text: str) -> str | None:
    """The framing lines at the start of ``text`` (their line breaks included), or None."""
    position = 0
    http = False
    for index in range(_HEADER_LINES + 1):
        newline = text.find("\n", position)
        if newline < 0:
            return None
        line = text[position:newline].rstrip("\r")
        if index == 0 and _HTTP_STATUS.fullmatch(line):
            http = True
        elif http:
            if not line:
                return text[: newline + 1]
            if not _HTTP_FIELD.fullmatch(line):
                return None
        elif _OUTPUT.fullmatch(line):
            return text[: newline + 1] if index else None
        elif not _FIELD.fullmatch(line):
            return None
        position = newline + 1
    return None
