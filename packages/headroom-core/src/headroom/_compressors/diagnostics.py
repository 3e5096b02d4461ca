"""Compiler, type checker and linter output: every distinct diagnostic once, whole, with its location;
repeats counted, with their locations.

Recognised diagnostic lines: ``path:line[:col]: severity: message`` (gcc, clang, mypy, javac, go vet,
ruff and eslint's unix format), ``path(line,col): error TS2322: message`` (tsc), ``path:line:col: CODE
message`` (ruff, flake8, pylint), and rustc's ``error[E0308]: message`` with its ``--> path:line:col``
line. The lines under a diagnostic (the source line, the caret, ``note:`` and ``help:`` lines) belong
to it. Two diagnostics are the same when their severity, code and message match once the numbers in
parentheses are set aside (``line too long (113 > 110)`` is one rule however long the line); the
first is shown whole and the rest as one line of locations::

    src/app.py:12:80: E501 Line too long (113 > 88)
      [×41 more: src/app.py:30:89, src/app.py:44:90, src/cli.py:7:95, … 38 more]

Every other line (``Compiling``, ``Found 3 errors in 2 files``, ``error: could not compile``) stays as
printed. One marker at the end names the ref of the whole output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._job import Job

_LINE = re.compile(
    r"(?P<loc>[^\s:()]+(?::\d+){1,2}|[^\s:()]+\(\d+,\d+\)):\s*"
    r"(?:(?P<severity>fatal error|error|warning|note|info|hint)(?:\[(?P<code1>[\w-]+)\])?:?\s*"
    r"(?:(?P<code2>TS\d+):\s*)?|(?P<code3>[A-Z]+\d{2,5})\b:?\s*)"
    r"(?P<message>.*)"
)
_RUST = re.compile(r"(?P<severity>error|warning)(?:\[(?P<code>E\d+)\])?: (?P<message>.+)")
_RUST_AT = re.compile(r"\s*--> (?P<loc>\S+:\d+:\d+)")
_CONTEXT = re.compile(r"\s+\S.*|\s*\d*\s*\|.*|\s*[\^~]+.*|\s*(?:note|help|= note|= help)\b.*|\s*")
_IN_PARENS = re.compile(r"\([^()]*\)")  # "(113 > 88)": a measure of this instance, not of the rule
_SHOWN_AGAIN = 20
_MIN_RECORDS = 4


@dataclass
class _Record:
    key: str
    location: str
    lines: list[str]
    again: list[str] = field(default_factory=list)


def compress(job: Job) -> str | None:
    lines = job.text.split("\n")
    items: list[_Record | str] = []
    groups: dict[str, _Record] = {}
    current: _Record | None = None
    count = 0
    for index, line in enumerate(lines):
        found = _header(line, lines[index + 1] if index + 1 < len(lines) else "")
        if found is not None:
            key, location = found
            count += 1
            first = groups.get(key)
            if first is None:
                current = groups[key] = _Record(key, location, [line])
                items.append(current)
            else:
                first.again.append(location)
                current = _Record(key, location, [line])  # its context lines go with it
            continue
        if current is not None and _CONTEXT.fullmatch(line) and line.strip():
            current.lines.append(line)
            continue
        current = None
        items.append(line)
    repeats = sum(len(record.again) for record in groups.values())
    if count < _MIN_RECORDS or repeats == 0:
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
            continue
        out.extend(item.lines)
        if item.again:
            shown = ", ".join(item.again[:_SHOWN_AGAIN])
            more = f", … {len(item.again) - _SHOWN_AGAIN} more" if len(item.again) > _SHOWN_AGAIN else ""
            out.append(f"  [×{len(item.again)} more: {shown}{more}]")
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" + job.marker(repeats, "repeated diagnostics")


def _header(line: str, following: str) -> tuple[str, str] | None:
    """(the diagnostic's key, its location) when ``line`` starts one, else None."""
    match = _LINE.fullmatch(line)
    if match is not None:
        severity = match["severity"] or ""
        code = match["code1"] or match["code2"] or match["code3"] or ""
        if not severity and not code:
            return None
        return f"{severity}|{code}|{_rule(match['message'])}", match["loc"]
    rust = _RUST.fullmatch(line)
    at = _RUST_AT.match(following) if rust is not None else None
    if rust is not None and at is not None:
        return f"{rust['severity']}|{rust['code'] or ''}|{_rule(rust['message'])}", at["loc"]
    return None


def _rule(message: str) -> str:
    """A message with the numbers in its parentheses set aside."""
    return _IN_PARENS.sub(lambda found: re.sub(r"\d+", "#", found.group()), message.strip())
