"""Exceptions raised by headroom. Every message says what went wrong and what to do about it."""

from __future__ import annotations


class HeadroomError(Exception):
    """Base class of every error headroom raises on purpose."""


class ConfigError(HeadroomError, ValueError):
    """A configuration value (argument or ``HEADROOM_*`` variable) is invalid."""


class StoreError(HeadroomError):
    """The store of originals cannot be opened, read or written."""


class RefNotFound(HeadroomError, KeyError):
    """A ref is unknown to the store or its original has expired.

    The message is written for the model, which sees it as the answer of ``headroom_retrieve``.
    """

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(ref)

    def __str__(self) -> str:
        return f"ref {self.ref} is unknown or has expired; call the original tool again"
