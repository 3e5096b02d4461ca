"""The providers' rate-limit windows, as their response headers report them, for ``GET /stats``.

Only what responses carry is read (headers, and Codex's stream event): never a credential file,
never a provider's account API.

- Anthropic: ``anthropic-ratelimit-<window>-<limit|remaining|reset>`` (windows ``requests``,
  ``tokens``, ``input-tokens``, ``output-tokens``; ``reset`` is an RFC 3339 time).
- OpenAI: ``x-ratelimit-<limit|remaining|reset>-<window>`` (``requests``, ``tokens``; ``reset`` a
  duration such as ``6m0s``).
- Codex (ChatGPT sign-in): ``x-codex-<primary|secondary>-<field>`` (``used-percent``,
  ``window-minutes``, ``reset-after-seconds``...), and in a Responses stream the event
  ``codex.rate_limits`` (``rate_limits.primary.used_percent``...; ``stream_windows``), read as it
  passes through with the same window and field names.

``RateLimits`` keeps the latest report per provider and credential, in this process's memory, keyed
by the credential's digest so two API keys' windows never merge. Values are kept as sent (the
providers' formats differ), each cut at 200 characters; at most ``MAX_KEYS`` credentials are kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ._state import credential

MAX_KEYS = 64
_FIELDS = ("limit", "remaining", "reset")
_CODEX = ("x-codex-primary-", "x-codex-secondary-")


def windows(headers: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The rate-limit windows in ``headers``: window name -> field -> value as sent."""
    found: dict[str, dict[str, str]] = {}
    for name, value in headers.items():
        key = name.lower()
        window = field = None
        if key.startswith("anthropic-ratelimit-"):
            window, _, field = key[len("anthropic-ratelimit-") :].rpartition("-")
        elif key.startswith("x-ratelimit-"):
            field, _, window = key[len("x-ratelimit-") :].partition("-")
        elif key.startswith(_CODEX):
            window, _, field = key[len("x-codex-") :].partition("-")
        if window and field and (key.startswith(_CODEX) or field in _FIELDS):
            found.setdefault(window, {})[field] = value[:200]
    return found


_STREAM_GROUPS = (("rate_limits", ""), ("code_review_rate_limits", "code-review-"))


def stream_windows(data: Any) -> dict[str, dict[str, str]]:
    """The windows of a Codex ``codex.rate_limits`` stream event (its parsed data), named as the
    headers name them: ``primary`` -> ``used-percent``, ``window-minutes``, ``reset-after-seconds``,
    ``reset-at``; a code-review group as ``code-review-primary``. Empty for any other event."""
    if not isinstance(data, dict) or data.get("type") != "codex.rate_limits":
        return {}
    found: dict[str, dict[str, str]] = {}
    for group, prefix in _STREAM_GROUPS:
        limits = data.get(group)
        if not isinstance(limits, dict):
            continue
        for window in ("primary", "secondary"):
            fields = limits.get(window)
            if isinstance(fields, dict):
                values = {k.replace("_", "-"): str(v)[:200] for k, v in fields.items()
                          if isinstance(k, str) and isinstance(v, (int, float, str))}  # fmt: skip
                if values:
                    found[f"{prefix}{window}"] = values
    return found


class RateLimits:
    """The latest rate-limit windows seen per (provider, credential digest); thread-safe."""

    def __init__(self) -> None:
        self._latest: OrderedDict[tuple[str, str], dict[str, object]] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, provider: str, request_headers: Any, headers: Mapping[str, str]) -> None:
        """Keep the windows of one response (nothing when it carries none) under the digest of its
        request's credential headers (``_state.credential``)."""
        self.keep(provider, request_headers, windows(headers))

    def keep(self, provider: str, request_headers: Any, found: dict[str, dict[str, str]]) -> None:
        """Keep ``found`` windows (``windows``, ``stream_windows``; nothing when empty) as ``observe``."""
        if not found:
            return
        key = (provider, credential(request_headers)[:12])
        entry: dict[str, object] = {"provider": provider, "credential": key[1] or None,
                                    "seen": round(time.time(), 3), "windows": found}  # fmt: skip
        with self._lock:
            self._latest[key] = entry
            self._latest.move_to_end(key)
            while len(self._latest) > MAX_KEYS:
                self._latest.popitem(last=False)

    def snapshot(self) -> list[dict[str, object]]:
        """Every kept report, the most recent first."""
        with self._lock:
            return list(reversed(self._latest.values()))
