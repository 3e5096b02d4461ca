"""Which parts of an error result must stay verbatim: its last traceback, else its last lines, and the
other lines that name an error (up to ``MAX_ERROR_LINES`` of them).

The conversation policy compresses an error result gently: only what lies between these parts, with a
larger budget, so the model always reads the errors it has to act on.
"""

from __future__ import annotations

import re

_ERROR_TAIL_LINES = 40
_CRASH_TAIL_LINES = 5  # an output that ends this close after a traceback crashed with it
_CHAIN_GAP_LINES = 3  # lines between two tracebacks of one chained exception
# a literal first (no "^"), so the regex engine skips ahead in C: over 4 MB of log 1 ms, not 31 ms; the
# match must start a line (checked after)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):[ \t]*\r?$", re.M)
_EXIT_CODE = re.compile(
    r"(?i)\b(?:exit(?:ed)?(?:\s+with)?\s+(?:code|status)|exit_?code|return_?code)\b"
    r"[\"']?\s*[:=]?\s*[\"']?(-?[1-9]\d*)"
)
_EXIT_SCAN_CHARS = 2_000  # shells and tool runners report exit codes at the start or the end
MAX_ERROR_LINES = 20  # more lines naming an error than this: a log of errors, its compressor keeps them
_NAMES_ERROR = re.compile(
    r"(?i)\b(?:error|errors|exception|fatal|panic|failed|failure|denied|cannot|can't|invalid|"
    r"not found|no such file|undefined|segmentation fault)\b|\w+(?:Error|Exception):"
)


def _traceback_end(text: str, position: int) -> int:
    """Where the traceback whose header ends at ``position`` ends: after its exception line. Reads
    line by line from there (never a copy of the rest of the text: a log may hold thousands)."""
    cursor, first = position, True
    while cursor < len(text):
        newline = text.find("\n", cursor)
        end = len(text) if newline < 0 else newline + 1
        line = text[cursor:end]
        cursor = end
        if first and not line.strip():
            first = False  # the rest of the header line
            continue
        first = False
        if line.strip() and not line[:1].isspace():
            break  # the exception line ends the traceback
    return cursor


def _last_traceback(text: str) -> tuple[int, int] | None:
    """The last traceback, with the ones chained to it ("During handling of the above exception")."""
    spans = [
        (m.start(), _traceback_end(text, m.end()))
        for m in _TRACEBACK.finditer(text)
        if m.start() == 0 or text[m.start() - 1] == "\n"
    ]
    if not spans:
        return None
    start, end = spans[-1]
    for earlier_start, earlier_end in reversed(spans[:-1]):
        if text[earlier_end:start].strip().count("\n") > _CHAIN_GAP_LINES:
            break
        start = earlier_start
    return start, end


def error_region(text: str, flagged: bool) -> tuple[int, int] | None:
    """The part of an error result that must stay verbatim: its last traceback, else its last lines.

    A result is an error when it is flagged (``is_error``), reports a non-zero exit code, or ends in
    a traceback (at most a few lines follow it: the command crashed). Tracebacks in the middle of a
    log are the log's own content: the log compressor keeps those, so such a result is no error and
    gets its full compression.
    """
    head, tail = text[:_EXIT_SCAN_CHARS], text[-_EXIT_SCAN_CHARS:]
    failed = flagged or bool(_EXIT_CODE.search(head) or _EXIT_CODE.search(tail))
    traceback = _last_traceback(text)
    if traceback is not None:
        start, end = traceback
        if failed or text[end:].strip().count("\n") < _CRASH_TAIL_LINES:
            return start, end
        return None
    if failed:
        start = len(text)
        for _ in range(_ERROR_TAIL_LINES):
            found = text.rfind("\n", 0, max(start - 1, 0))
            if found < 0:
                return 0, len(text)
            start = found + 1
        return start, len(text)
    return None


def error_line_spans(text: str) -> list[tuple[int, int]]:
    """The spans of the lines of ``text`` that name an error, or none when there are more than
    ``MAX_ERROR_LINES`` (a log full of them: its compressor keeps errors by itself)."""
    spans: list[tuple[int, int]] = []
    for match in _NAMES_ERROR.finditer(text):
        start = text.rfind("\n", 0, match.start()) + 1
        if spans and start < spans[-1][1]:
            continue  # the same line again
        newline = text.find("\n", match.end())
        spans.append((start, len(text) if newline < 0 else newline + 1))
        if len(spans) > MAX_ERROR_LINES:
            return []
    return spans
