"""Server-sent events: an incremental parser for the upstream's stream, and the encoder for ours.

The proxy reads events as they arrive (never the whole stream), so a retrieval call can be noticed in
the parsed data of an event, not in byte substrings, and everything before it has already reached the
client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class Event:
    """One SSE event: ``event`` name (Anthropic and Responses name theirs), raw ``data``."""

    data: str
    event: str | None = None

    def json(self) -> Any:
        """The data parsed as JSON, or None (``[DONE]``, comments, anything else)."""
        try:
            return orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return None

    def encode(self) -> bytes:
        head = f"event: {self.event}\n" if self.event else ""
        lines = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"{head}{lines}\n".encode()


def event(data: Any, name: str | None = None) -> Event:
    """An event carrying ``data`` as compact JSON."""
    return Event(orjson.dumps(data).decode(), name)


async def events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """The events of a byte stream, each as soon as its blank line arrives."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while True:
            end = _boundary(buffer)
            if end is None:
                break
            raw, buffer = buffer[: end[0]], buffer[end[1] :]
            parsed = _parse(raw.decode("utf-8", "replace"))
            if parsed is not None:
                yield parsed
    if buffer.strip():
        parsed = _parse(buffer.decode("utf-8", "replace"))
        if parsed is not None:
            yield parsed


def _boundary(buffer: bytes) -> tuple[int, int] | None:
    """Where the first complete event ends: (end of its text, start of the rest)."""
    found = [(i, i + len(sep)) for sep in (b"\r\n\r\n", b"\n\n", b"\r\r") if (i := buffer.find(sep)) >= 0]
    return min(found) if found else None


def _parse(raw: str) -> Event | None:
    name: str | None = None
    data: list[str] = []
    for line in raw.splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data and name is None:
        return None
    return Event("\n".join(data), name)
