"""The reports ``headroom stats`` and ``headroom perf`` show: plain dataclasses, computed once.

Each report has an ``as_json`` method, so ``--json`` and the rich tables show the same numbers from
one computation (``perf`` runs the queries, ``advice`` reads a finished report).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SLOW_MS = 500.0  # a compression slower than this is reported as slow


def pct(part: float, whole: float) -> float:
    """``part`` as a percentage of ``whole``, one decimal (0 when ``whole`` is 0)."""
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass(frozen=True)
class ModelRow:
    """Compression events of one model (None: the caller did not say)."""

    model: str | None
    blocks: int
    tokens_before: int
    tokens_after: int
    list_price_saved_usd: float | None  # None: no known list price for this model

    @property
    def saved(self) -> int:
        return self.tokens_before - self.tokens_after

    @property
    def saved_pct(self) -> float:
        return pct(self.saved, self.tokens_before)


@dataclass(frozen=True)
class Stats:
    """The headline of ``headroom stats``.

    Attributes:
        events: compression events (one per block seen, memo hits and skipped blocks included).
        tokens_before: tokens of those blocks as given.
        tokens_after: tokens the models read instead.
        compressed: of those blocks, the ones whose compressed text was used.
        requests: requests through the proxy (whole conversations, not blocks).
        list_price_saved_usd: the saving at list input price over the models with a known price;
            None when no event had one.
        unpriced_tokens_saved: tokens saved for models with no known price (not in the dollars).
        prices_as_of: the date of the price table.
    """

    events: int
    tokens_before: int
    tokens_after: int
    list_price_saved_usd: float | None
    unpriced_tokens_saved: int
    prices_as_of: str
    compressed: int = 0
    requests: Requests = field(default_factory=lambda: Requests())
    money: RequestMoney = field(default_factory=lambda: RequestMoney())

    @property
    def saved_pct(self) -> float:
        return pct(self.tokens_before - self.tokens_after, self.tokens_before)

    def as_json(self) -> dict[str, object]:
        """Exactly the keys ``headroom stats --json`` promises."""
        usd = self.list_price_saved_usd
        return {
            "events": self.events,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "saved_pct": self.saved_pct,
            "list_price_saved_usd": None if usd is None else round(usd, 6),
            "compressed": self.compressed,
            "requests": asdict(self.requests),
            "money": {key: round(value, 6) if isinstance(value, float) else value
                      for key, value in [*asdict(self.money).items(), ("net_saved", self.money.net_saved)]},
        }  # fmt: skip


@dataclass(frozen=True)
class RequestMoney:
    """What compression saved on proxied requests, in USD, by the definitions of ``money``.

    Attributes:
        at_cache_mix: saved on requests whose response reported usage, at each one's own cache mix.
        with_usage: those requests (with a known price).
        at_list_price: saved on requests without usage, at the uncached list price (labelled so).
        without_usage: those requests (with a known price).
        unpriced: requests of models with no known price (in neither figure).
        billed: what the requests with usage were billed for their prompts.
        provider_discount: the provider's own cache discount on them (never part of a saving).
        our_busts, our_bust_usd: requests whose cache missed a prefix we changed, and what the
            re-writes cost (subtracted in ``net_saved``).
        client_busts, client_bust_usd: the same for prefixes the client changed (apart, not ours).
    """

    at_cache_mix: float = 0.0
    with_usage: int = 0
    at_list_price: float = 0.0
    without_usage: int = 0
    unpriced: int = 0
    billed: float = 0.0
    provider_discount: float = 0.0
    our_busts: int = 0
    our_bust_usd: float = 0.0
    client_busts: int = 0
    client_bust_usd: float = 0.0

    @property
    def net_saved(self) -> float:
        """Compression's saving on proxied requests, at the cache mix and at list price, minus the
        re-writes our own changes caused."""
        return self.at_cache_mix + self.at_list_price - self.our_bust_usd


@dataclass(frozen=True)
class Requests:
    """Requests through the proxy: whole conversations (their tokens are not the blocks' sum: a
    conversation's other messages count too), and the proxy's own time per request, before
    forwarding (``p50_ms``, ``p95_ms``, ``max_ms`` over warm requests; a process's first compressing
    request, which loads what the rest reuse, is counted apart as a cold start), and what it added to
    the client's time to first byte (``ttfb_*`` over the ``ttfb_count`` warm requests that measured
    it: its own time, plus any retrieval round run before the client's first byte)."""

    count: int = 0
    compressed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    retrieval_rounds: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    cold_starts: int = 0
    cold_max_ms: float = 0.0
    shaped: int = 0  # requests with the output shaper appended
    ttfb_count: int = 0
    ttfb_p50_ms: float = 0.0
    ttfb_p95_ms: float = 0.0
    ttfb_max_ms: float = 0.0


@dataclass(frozen=True)
class Overhead:
    """Time compression took on the caller's thread (memo hits excluded: nothing ran)."""

    count: int
    avg_ms: float
    p95_ms: float
    max_ms: float
    over_500ms: int


@dataclass(frozen=True)
class CompressorRow:
    """One compressor: how often it ran, how often its output was used, and what that saved."""

    compressor: str
    uses: int
    kept: int
    avg_reduction_pct: float  # mean saving of the blocks whose output was used
    tokens_saved: int
    avg_ms: float


@dataclass(frozen=True)
class RouteRow:
    """One outcome of compression events, its share, and its commonest reasons (reason, count)."""

    outcome: str
    count: int
    share_pct: float
    reasons: list[tuple[str, int]]


@dataclass(frozen=True)
class RetrievalRow:
    """Retrievals of one kind (or one tool's results) against the distinct blocks of that kind (or
    tool) that were compressed."""

    group: str
    retrievals: int
    compressed_blocks: int

    @property
    def rate_pct(self) -> float:
        return pct(self.retrievals, self.compressed_blocks)


@dataclass(frozen=True)
class Retrievals:
    total: int
    found: int
    not_found: int
    with_query: int
    compressed_blocks: int  # distinct refs compressed in the window
    by_kind: list[RetrievalRow]
    by_tool: list[RetrievalRow] = field(default_factory=list)

    @property
    def rate_pct(self) -> float:
        return pct(self.found, self.compressed_blocks)

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "rate_pct": self.rate_pct,
                **{name: [{**asdict(row), "rate_pct": row.rate_pct} for row in rows]
                   for name, rows in (("by_kind", self.by_kind), ("by_tool", self.by_tool))}}  # fmt: skip


@dataclass(frozen=True)
class Budget:
    stubbed: int
    stubbed_tokens_saved: int
    over_budget: int


@dataclass(frozen=True)
class Perf:
    """Everything ``headroom perf`` shows."""

    stats: Stats
    models: list[ModelRow]
    overhead: Overhead
    compressors: list[CompressorRow]
    routing: list[RouteRow]
    memo_hits: int
    retrievals: Retrievals
    budget: Budget
    recommendations: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "stats": self.stats.as_json(),
            "prices_as_of": self.stats.prices_as_of,
            "models": [{**asdict(m), "saved": m.saved, "saved_pct": m.saved_pct} for m in self.models],
            "overhead": asdict(self.overhead),
            "compressors": [asdict(c) for c in self.compressors],
            "routing": [
                {**asdict(r), "reasons": [{"reason": t, "count": n} for t, n in r.reasons]}
                for r in self.routing
            ],
            "memo_hits": self.memo_hits,
            "retrievals": self.retrievals.as_json(),
            "budget": asdict(self.budget),
            "recommendations": self.recommendations,
        }
