"""Compressors, one module per kind, each with one entry point ``compress(job) -> str | None``.

A compressor returns the text the model should read, or None when it cannot help (the pipeline then
passes the original through). It never stores anything itself: it only renders markers with
``job.marker``, and the pipeline keeps the original under that marker's ref. Compressors must be pure
functions of the job, so the same input always gives the same bytes (prompt caches depend on it).
Each module is imported on first use (``compressor_for``), so ``import headroom`` loads none of them.
"""

from __future__ import annotations

from importlib import import_module

from .._deadline import shielded
from ._job import Compressor, Job

__all__ = ["Compressor", "Job", "compressor_for"]

_MODULES: dict[str, str] = {
    "code": "code",
    "diff": "diff",
    "git": "git",
    "listing": "listing",
    "tests": "tests",
    "diagnostics": "diagnostics",
    "html": "html",
    "json": "json",
    "log": "log",
    "search": "search",
    "text": "text",
}


KINDS_WITH_COMPRESSOR = tuple(_MODULES)


def compressor_for(kind: str) -> Compressor | None:
    """The compressor of ``kind``, imported on first use; None for kinds that pass through."""
    module = _MODULES.get(kind)
    if module is None:
        return None
    with shielded():  # an import cut short by the time budget would leave its module lock held
        compress: Compressor = import_module(f"{__name__}.{module}").compress
    return compress
