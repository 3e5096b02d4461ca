"""Recommendations for ``headroom perf``, each drawn from a number the report also shows.

A recommendation names the figure that triggered it and one thing to try, so a user can judge it
against the table above it. Shares of a handful of events are noise, so most rules wait for a
minimum number of blocks.
"""

from __future__ import annotations

from .events import BAD_INPUT, FAILED, LOW_SAVING, STORE_FAILED, TOO_SMALL
from .report import SLOW_MS, Perf, RouteRow

MIN_BLOCKS = 10  # shares of fewer blocks than this are not advice
TOO_SMALL_SHARE = 50.0  # % of blocks under min_tokens worth a remark
LOW_SAVING_SHARE = 30.0  # % of blocks whose saving was too low worth a remark
RETRIEVAL_RATE = 25.0  # % of a kind's compressed blocks retrieved: compressed too hard
MIN_RETRIEVAL_BLOCKS = 5  # compressed blocks of a kind before its retrieval rate counts


def _rule(row: RouteRow) -> str:
    return f" ({row.reasons[0][0]})" if row.reasons else ""


def recommendations(perf: Perf) -> list[str]:
    """What the numbers of ``perf`` suggest, most important first; empty when nothing stands out."""
    out: list[str] = []
    routes = {row.outcome: row for row in perf.routing}
    blocks = sum(row.count for row in perf.routing)

    def count(outcome: str) -> int:
        row = routes.get(outcome)
        return row.count if row is not None else 0

    if count(FAILED):
        out.append(f"{count(FAILED):,} compressions failed and passed through unchanged: the log "
                   "(logger 'headroom') has the traceback; please report it")  # fmt: skip
    if count(STORE_FAILED):
        out.append(f"{count(STORE_FAILED):,} originals could not be stored, so those blocks were sent "
                   "uncompressed: check `headroom store info`, free disk space and permissions")  # fmt: skip
    if perf.budget.over_budget:
        out.append(f"{perf.budget.over_budget:,} requests were over max_context_tokens even after older "
                   "tool results were stubbed: raise HEADROOM_MAX_CONTEXT_TOKENS or lower "
                   "HEADROOM_KEEP_LAST_TURNS")  # fmt: skip
    for kind in perf.retrievals.by_kind:
        if kind.compressed_blocks >= MIN_RETRIEVAL_BLOCKS and kind.rate_pct >= RETRIEVAL_RATE:
            out.append(f"{kind.group} blocks are retrieved {kind.rate_pct:.0f}% of the time: consider a "
                       "larger budget or excluding their tool (HEADROOM_EXCLUDE_TOOLS)")  # fmt: skip
    for tool in perf.retrievals.by_tool:
        if (tool.group != "unknown" and tool.compressed_blocks >= MIN_RETRIEVAL_BLOCKS
                and tool.rate_pct >= RETRIEVAL_RATE):  # fmt: skip
            out.append(f"{tool.group} results are retrieved {tool.rate_pct:.0f}% of the time: consider "
                       f"HEADROOM_EXCLUDE_TOOLS={tool.group}")  # fmt: skip
    if perf.retrievals.not_found:
        out.append(f"{perf.retrievals.not_found:,} retrievals asked for unknown or expired refs: raise "
                   "HEADROOM_TTL_SECONDS or HEADROOM_MAX_STORE_BYTES, or share one store between "
                   "processes")  # fmt: skip
    if perf.overhead.over_500ms:
        slowest = max(perf.compressors, key=lambda c: c.avg_ms, default=None)
        which = f"; the slowest compressor on average is {slowest.compressor}" if slowest else ""
        out.append(f"{perf.overhead.over_500ms:,} compressions took over {SLOW_MS:.0f} ms (max "
                   f"{perf.overhead.max_ms:,.0f} ms){which}")  # fmt: skip
    if blocks >= MIN_BLOCKS:
        small = routes.get(TOO_SMALL)
        if small is not None and small.share_pct >= TOO_SMALL_SHARE:
            out.append(f"{small.share_pct:.0f}% of blocks were under the size threshold{_rule(small)}: "
                       "they pass through at no cost; savings come from the larger blocks")  # fmt: skip
        low = routes.get(LOW_SAVING)
        if low is not None and low.share_pct >= LOW_SAVING_SHARE:
            out.append(f"{low.share_pct:.0f}% of blocks were left unchanged because the saving was too "
                       f"low{_rule(low)}: a lower HEADROOM_MIN_SAVING keeps smaller savings")  # fmt: skip
    if count(BAD_INPUT):
        out.append(f"{count(BAD_INPUT):,} blocks could not be parsed safely (nested too deeply) and "
                   "passed through unchanged")  # fmt: skip
    unpriced = [m for m in perf.models if m.list_price_saved_usd is None and m.saved > 0]
    if any(m.model is None for m in unpriced):
        out.append("some blocks were compressed without a model name, so their savings have no price: "
                   "pass model= to compress()")  # fmt: skip
    names = sorted(m.model for m in unpriced if m.model is not None)
    if names:
        out.append(f"no list price for {', '.join(names[:5])}: add them to a HEADROOM_PRICES file to "
                   "count their savings in dollars")  # fmt: skip
    return out
