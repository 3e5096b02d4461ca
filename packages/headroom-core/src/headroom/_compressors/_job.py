"""What a compressor is given (``Job``) and what it is (``Compressor``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._markers import Marker


@dataclass(frozen=True, kw_only=True)
class Job:
    """What a compressor is asked to do.

    Attributes:
        text: the original.
        query: what the model is looking for (often the user turn), or None.
        budget: share of tokens to keep (0 < budget <= 1), or None for the kind's default.
        marker: renders the omission marker for this original.
        language: the language of code, when known.
    """

    text: str
    query: str | None = None
    budget: float | None = None
    marker: Marker
    language: str | None = None


Compressor = Callable[[Job], "str | None"]
