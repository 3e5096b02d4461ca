"""``GET /metrics``: this proxy process's counters and histograms in the Prometheus text format.

Every ledger event the proxy's engine records (``Recorder.listen``) is counted as it happens, by event,
source, model, kind and outcome, so a fleet of proxies is summed by Prometheus, not by us; the ledger
file (shared by the processes of one machine) is never read here. Labels come from requests, so they
are bounded: a model name is cut to 64 characters, and past ``MAX_MODELS`` distinct names a new one is
counted as ``other``.
"""

from __future__ import annotations

import threading

from headroom.integration import Event
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

MAX_MODELS = 200
_LABELS = ("event", "source", "model", "kind", "outcome")
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    """The proxy's registry, fed one event at a time (``observe``)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._models: set[str] = set()
        self._lock = threading.Lock()
        self.events = Counter("headroom_events", "Ledger events: compressions, retrievals, budget steps,"
                              " proxied requests", _LABELS, registry=self.registry)  # fmt: skip
        self.tokens_before = Counter("headroom_tokens_before", "Tokens as given (compress, budget, request)",
                                     _LABELS, registry=self.registry)  # fmt: skip
        self.tokens_after = Counter("headroom_tokens_after", "Tokens the model reads instead", _LABELS,
                                    registry=self.registry)  # fmt: skip
        self.seconds = Histogram("headroom_event_seconds", "Time an event took on the caller's thread (a"
                                 " request: the proxy's own time)", ("event", "source", "kind"),
                                 buckets=_BUCKETS, registry=self.registry)  # fmt: skip
        self.first_byte = Histogram("headroom_ttfb_added_seconds", "Time a proxied request's proxy added"
                                    " to its client's time to first byte", ("kind",), buckets=_BUCKETS,
                                    registry=self.registry)  # fmt: skip
        self.billed = Counter("headroom_prompt_tokens_billed", "Prompt tokens of proxied requests as the"
                              " provider billed them, by part", ("model", "part"),
                              registry=self.registry)  # fmt: skip

    def _model(self, model: str | None) -> str:
        name = (model or "")[:64]
        with self._lock:
            if name in self._models or len(self._models) < MAX_MODELS:
                self._models.add(name)
                return name
        return "other"

    def observe(self, event: Event) -> None:
        model = self._model(event.model)
        labels = (event.event, event.source, model, event.kind or "", event.outcome)
        self.events.labels(*labels).inc()
        self.tokens_before.labels(*labels).inc(max(event.tokens_before, 0))
        self.tokens_after.labels(*labels).inc(max(event.tokens_after, 0))
        self.seconds.labels(event.event, event.source, event.kind or "").observe(max(event.ms, 0.0) / 1000)
        if event.ttfb_ms is not None:
            self.first_byte.labels(event.kind or "").observe(max(event.ttfb_ms, 0.0) / 1000)
        parts = (("uncached", event.usage_uncached), ("cache_read", event.usage_cache_read),
                 ("cache_write_5m", event.usage_write_5m),
                 ("cache_write_1h", event.usage_write_1h))  # fmt: skip
        for part, tokens in parts:
            if tokens:
                self.billed.labels(model, part).inc(tokens)

    def render(self) -> bytes:
        return generate_latest(self.registry)
