"""One definition of "a line", shared by compressors and retrieval so line numbers always agree.

Lines are split on ``\\n`` only (never on form feeds or Unicode separators that may sit inside a log
line), and one trailing ``\\r`` is dropped from each, so CRLF files number like LF files.
"""

from __future__ import annotations


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their line endings; a final newline adds no empty line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines
