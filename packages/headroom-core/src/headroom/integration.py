"""What adapters, the proxy and other integrations build on: the public extension surface of the core.

``headroom`` is the API for applications; this module is the API for code that plugs Headroom into
something else (a framework adapter, a proxy, an MCP server, a benchmark). Everything here is part of
the contract in ``docs/ARCHITECTURE.md``; nothing outside ``headroom-core`` imports ``headroom._*``.

- The retrieve tool: ``TOOL_NAME``, ``retrieve_tool`` in every ``ToolFormat``, ``parse_arguments`` (a
  ``RetrieveRequest``).
- Refs and markers: ``make_ref``, ``normalize_ref``, ``MARKER_RE``, ``marker_refs``, ``Marker``.
- Conversations as blocks: ``read_blocks`` / ``Block`` (what the policy reads out of a provider's
  messages) and ``worth_compressing`` (whether a request could change at all, without counting a token).
- Stats: ``Recorder`` (``Headroom.events``) and the ledger's ``Event``; a response's billed prompt
  (``usage_of`` -> ``Usage``, and ``BillingPart`` for a cache bust's re-write); token counts with
  ``get_tokenizer`` (the ``Tokenizer`` every figure of Headroom's is counted with).
- The store of originals (``Headroom.store``): ``Store``, ``Original``, ``StoreInfo``.
- Shared deployments: ``scope`` confines originals to one tenant (a credential, a user).
- Cross-agent memory (``Headroom.memory``): ``Memory``, ``Note``, ``Saved``, ``project_of`` and
  ``GLOBAL_SCOPE`` (the scope of notes of no project).
- Adapters: ``adapter_engine`` (the ``headroom=`` / ``config=`` rule) and ``lazy_exports``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ._config import Config
from ._engine import Headroom
from ._errors import ConfigError
from ._markers import MARKER_RE, REF_LENGTH, TOOL_NAME, Marker, make_ref, marker_refs, normalize_ref
from ._memory import GLOBAL as GLOBAL_SCOPE
from ._memory import Memory, Note, Saved, project_of
from ._originals import scope
from ._policy.blocks import Block, Role, read_blocks
from ._policy.conversation import worth_compressing
from ._stats.events import BillingPart, Event, EventType, LedgerOutcome
from ._stats.money import Usage, usage_of
from ._stats.read import parse_since
from ._stats.recorder import Recorder, RequestOutcome
from ._store import Original, Store, StoreInfo
from ._tokens import Tokenizer, get_tokenizer
from ._tool import RetrieveRequest, parse_arguments, retrieve_tool
from ._types import KINDS, SOURCES, TOOL_FORMATS, Kind, Outcome, ResultKind, Source, ToolFormat

__all__ = [
    "GLOBAL_SCOPE",
    "KINDS",
    "MARKER_RE",
    "REF_LENGTH",
    "SOURCES",
    "TOOL_FORMATS",
    "TOOL_NAME",
    "BillingPart",
    "Block",
    "Event",
    "EventType",
    "Kind",
    "LedgerOutcome",
    "Marker",
    "Memory",
    "Note",
    "Original",
    "Outcome",
    "Recorder",
    "RequestOutcome",
    "ResultKind",
    "RetrieveRequest",
    "Role",
    "Saved",
    "Source",
    "Store",
    "StoreInfo",
    "Tokenizer",
    "ToolFormat",
    "Usage",
    "adapter_engine",
    "get_tokenizer",
    "lazy_exports",
    "make_ref",
    "marker_refs",
    "normalize_ref",
    "parse_arguments",
    "parse_since",
    "project_of",
    "read_blocks",
    "retrieve_tool",
    "scope",
    "usage_of",
    "worth_compressing",
]


def adapter_engine(headroom: Headroom | None, config: Config | None, source: Source) -> Headroom:
    """``headroom`` when given (an engine shared with the rest of the application), else a new
    ``Headroom(config, source=source)``: the rule every adapter export follows.

    Raises:
        ConfigError: both were given (a shared engine already has its config).
    """
    if headroom is not None and config is not None:
        raise ConfigError("pass headroom= (a shared engine, which has its own config) or config=, not both")
    return headroom if headroom is not None else Headroom(config, source=source)


def lazy_exports(
    package: str, where: Mapping[str, str], exported: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import each export's module on first use, so
    importing the package does not import its framework.

    Args:
        package: the package's ``__name__``.
        where: export name -> the relative module that defines it.
        exported: the package's ``__all__``.
    """
    namespace = importlib.import_module(package).__dict__

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(exported))

    return getattr_, dir_
