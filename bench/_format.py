"""Cell formatting shared by every table: numbers as people read them, green or red against a target."""

from __future__ import annotations

import math

from rich.markup import escape

from ._core import Summary


def plain(text: str) -> str:
    """``text`` shown literally in a table (file names and queries may contain ``[``)."""
    return escape(text)


def mark(text: str, ok: bool | None) -> str:
    """``text`` in green when a target is met, red when missed, unstyled when there is no target."""
    if ok is None:
        return text
    return f"[green]{text}[/]" if ok else f"[bold red]{text}[/]"


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}x"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def fmt_frac(covered: int, total: int) -> str:
    return f"{covered}/{total}"


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def fmt_round_trip(passed: int, with_ref: int) -> str:
    """Round-trips as ``passed/with-ref``; ``-`` when no case returned a ref."""
    return mark(fmt_frac(passed, with_ref), passed == with_ref) if with_ref else "-"


HEAD_COLUMNS = ["cases", "tokens in", "tokens out", "ratio"]
TAIL_COLUMNS = ["round-trip", "ms", "encode ms", "x encode"]


def head_cells(group: Summary, ratio_target: float | None = None) -> list[str]:
    """Cells under ``HEAD_COLUMNS``; the ratio is marked against ``ratio_target`` when given."""
    value = group.ratio
    ok = None if ratio_target is None else value is not None and value >= ratio_target
    return [str(group.cases), fmt_int(group.tokens_in), fmt_int(group.tokens_out), mark(fmt_ratio(value), ok)]


def tail_cells(group: Summary, x_target: float | None = 3.0) -> list[str]:
    """Cells under ``TAIL_COLUMNS``: round-trips, summed median ms, summed encode ms and their ratio."""
    x = group.x_encode
    ok = None if x_target is None or math.isnan(x) else x <= x_target
    trips = fmt_round_trip(group.round_trips, group.with_ref)
    if group.errors:
        trips += f" [bold red]{group.errors} error(s)[/]"
    return [
        trips,
        fmt_ms(group.ms),
        fmt_ms(group.encode_ms),
        mark(f"{x:.2f}" if not math.isnan(x) else "-", ok),
    ]
