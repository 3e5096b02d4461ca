"""What every store shares: the ``Original`` value, the ``Store`` interface, and the byte encoding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Original:
    """A stored original and the kind of content it is (``json``, ``log``, ...)."""

    text: str
    kind: str


@dataclass(frozen=True)
class StoreInfo:
    """What ``headroom store info`` shows."""

    location: str
    entries: int
    bytes: int
    oldest: float | None  # unix time of the oldest entry, None when empty


class Store(Protocol):
    """Keeps originals by ref. Methods raise ``StoreError`` when the backend fails."""

    def put(self, ref: str, original: Original) -> None:
        """Keep ``original`` under ``ref``; refreshes its age when already present."""

    def get(self, ref: str) -> Original | None:
        """The original under ``ref``, or None when unknown or expired."""

    def contains(self, ref: str) -> bool:
        """Whether ``ref`` is held (without refreshing it)."""

    def info(self) -> StoreInfo:
        """Size, entry count and oldest entry."""

    def clear(self) -> int:
        """Delete every original; returns how many there were."""

    def close(self) -> None:
        """Release connections."""


def encode_original(text: str) -> bytes:
    """Bytes that decode back to exactly ``text``, lone surrogates included."""
    return text.encode("utf-8", "surrogatepass")


def decode_original(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")
