"""Refs and the omission marker: the one grammar and the one regex every part of headroom uses.

A ref is a content address: the first 96 bits of SHA-256 over the original (UTF-8, lone surrogates
passed through), as 24 lowercase hex characters. A marker tells the model what was left out and where
it is kept::

    [… 1834 lines omitted; headroom_retrieve ref=3f2a9c0e1b7d4a5c6e8f9a0b]   (retrievable)
    [… 1834 lines omitted; ref=3f2a9c0e1b7d4a5c6e8f9a0b]                     (lossy: tool not offered)

Text that matches ``MARKER_RE`` is only treated as ours when the store holds its ref; anything else
that merely looks like a marker is ordinary text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

REF_LENGTH = 24
TOOL_NAME = "headroom_retrieve"

_REF_RE = re.compile(r"[0-9a-fA-F]{24}")

MARKER_RE = re.compile(
    r"\[… (?P<count>\d+) (?P<unit>[a-z][a-z ]*?) omitted; (?:(?P<tool>headroom_retrieve) )?"
    r"ref=(?P<ref>[0-9a-fA-F]{24})\]"
)


def make_ref(original: str) -> str:
    """The ref of ``original``: the same text always gets the same ref."""
    data = original.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:REF_LENGTH]


def normalize_ref(ref: str) -> str | None:
    """``ref`` in canonical lower case, or None when it is not a well-formed ref."""
    candidate = ref.strip()
    if len(candidate) != REF_LENGTH or not _REF_RE.fullmatch(candidate):
        return None
    return candidate.lower()


def marker_refs(text: str) -> list[str]:
    """Every ref named by a marker in ``text``, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MARKER_RE.finditer(text):
        seen.setdefault(match["ref"].lower(), None)
    return list(seen)


@dataclass(frozen=True)
class Marker:
    """Renders markers for one original: bound to its ref and to whether the model can retrieve."""

    ref: str
    retrievable: bool

    def __call__(self, count: int, unit: str) -> str:
        """A marker saying ``count`` ``unit`` (e.g. ``lines``, ``records``, ``hits``) were omitted."""
        tool = f"{TOOL_NAME} " if self.retrievable else ""
        return f"[… {count} {unit} omitted; {tool}ref={self.ref}]"
