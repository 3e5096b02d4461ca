"""What the adapter sections share: the cases, the agent-flow table, the overhead timer.

Each adapter section (LangChain, Agno, ...) runs a real agent of its framework with a scripted model on
every case: a tool returns a loghub log (or a GitHub recording); for logs the model then calls
``headroom_retrieve`` with the log section's query word (the rarest word of the most frequent critical
template), then answers. Measured per case:

- every token the model received over the run (all model calls, counted by the bench, o200k_base)
  against the same agent without Headroom (which reads the output whole and answers); target >= 5x;
- the retrieval, judged like the log section's (exact header, every matching line at its number,
  every line of the template);
- the adapter's time beyond the core: one tool result through the adapter's hook minus the time spent
  inside ``Headroom.compress_tool_result`` during it, median over runs with a fresh engine each;
  target < 1 ms.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._core import Check, Context, Section, read_text
from ._format import fmt_int, fmt_ms, mark, plain
from ._log import check_query, parse_structured, pick_query
from ._retrieval import split_lines

RATIO_TARGET = 5.0
OVERHEAD_TARGET_MS = 1.0
RUNS = 9
QUESTION = "What does the output say about {}?"


@dataclass(frozen=True)
class Case:
    name: str
    output: str
    query: str | None  # the word the model retrieves with (logs), None for JSON
    judge: Callable[[str], bool] | None


@dataclass(frozen=True)
class Flow:
    """One agent run: every text the model received, what ``headroom_retrieve`` answered, and whether
    the original is where the adapter promises to keep it."""

    seen: list[str]
    retrieved: str | None
    original_kept: bool


@dataclass(frozen=True)
class Adapter:
    name: str
    title: str
    run: Callable[[str, str | None, str | None], Flow]  # output, query, store URL (None: no Headroom)
    overhead: Callable[[str, str], tuple[float, float]]  # output, store URL -> (total ms, core ms)
    kept: str  # what original_kept checks, for the check's name


def cases(data: Path) -> list[Case]:
    """Every loghub log (with its query word and judge) and every JSON recording."""
    found: list[Case] = []
    for path in sorted((data / "logs").glob("*_2k.log")):
        text = read_text(path)
        lines = split_lines(text)
        query = pick_query(parse_structured(read_text(path.with_name(path.name + "_structured.csv"))), lines)
        if query is None:
            found.append(Case(path.name, text, None, None))
        else:
            judge = lambda got, q=query, raw=lines: check_query(got, q, raw).passed  # noqa: E731
            found.append(Case(path.name, text, query.word, judge))
    found += [Case(p.name, read_text(p), None, None) for p in sorted((data / "json").glob("*.json"))]
    return found


def time_core(hr: Any, method: str = "compress_tool_result") -> list[float]:
    """Time every ``hr.<method>`` call from now on: each call's ms is appended to the returned list."""
    spent: list[float] = []
    inner = getattr(hr, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - started) * 1000)

    setattr(hr, method, timed)
    return spent


def run_adapter(ctx: Context, adapter: Adapter) -> Section:
    section = Section(adapter.name, adapter.title,
                      ["case", "query word", "tokens without", "tokens with", "ratio", "retrieval",
                       "core ms", "overhead ms"], text_columns=2)  # fmt: skip
    count = ctx.engine.count
    totals = [0, 0]
    retrievals: list[bool] = []
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix=f"headroom-{adapter.name}-") as tmp:
        for case in cases(ctx.data_dir):
            ctx.say(f"{adapter.name}: {case.name}")
            with_headroom = adapter.run(case.output, case.query, f"sqlite:///{tmp}/store.db")
            without = adapter.run(case.output, case.query, None)
            tokens = (sum(count(t) for t in without.seen), sum(count(t) for t in with_headroom.seen))
            totals = [totals[0] + tokens[0], totals[1] + tokens[1]]
            verdict = None if case.judge is None else case.judge(with_headroom.retrieved or "")
            if verdict is not None:
                retrievals.append(verdict)
            runs = [adapter.overhead(case.output, f"sqlite:///{tmp}/overhead{i}.db") for i in range(RUNS)]
            core_ms = statistics.median(core for _, core in runs)
            overhead_ms = statistics.median(total - core for total, core in runs)
            ratio = tokens[0] / max(tokens[1], 1)
            rows.append({"case": case.name, "query": case.query, "tokens_without": tokens[0],
                         "tokens_with": tokens[1], "ratio": ratio, "retrieval_passed": verdict,
                         "original_kept": with_headroom.original_kept, "core_ms": core_ms,
                         "overhead_ms": overhead_ms})  # fmt: skip
            section.rows.append([
                plain(case.name), plain(case.query or "-"), fmt_int(tokens[0]), fmt_int(tokens[1]),
                mark(f"{ratio:.1f}x", ratio >= RATIO_TARGET),
                "-" if verdict is None else mark("pass" if verdict else "FAIL", verdict),
                fmt_ms(core_ms), mark(fmt_ms(overhead_ms), overhead_ms < OVERHEAD_TARGET_MS),
            ])  # fmt: skip
    overall = totals[0] / max(totals[1], 1)
    worst = max(float(r["overhead_ms"]) for r in rows)  # type: ignore[arg-type]
    section.rows.append([
        "[bold]all[/]", "", fmt_int(totals[0]), fmt_int(totals[1]),
        mark(f"{overall:.1f}x", overall >= RATIO_TARGET),
        mark(f"{sum(retrievals)}/{len(retrievals)}", all(retrievals)), "",
        mark(f"max {fmt_ms(worst)}", worst < OVERHEAD_TARGET_MS),
    ])  # fmt: skip
    lowest = min(float(r["ratio"]) for r in rows)  # type: ignore[arg-type]
    section.checks += [
        Check(f"{adapter.name} agent flow: tokens the model reads >= 5x fewer", overall >= RATIO_TARGET,
              f"{overall:.1f}x overall, min {lowest:.1f}x"),
        Check(f"{adapter.name} retrieval returns every matching line (loghub)", all(retrievals),
              f"{sum(retrievals)}/{len(retrievals)}"),
        Check(f"{adapter.name} overhead per tool call < 1 ms beyond the core", worst < OVERHEAD_TARGET_MS,
              f"max median {fmt_ms(worst)} ms"),
        Check(f"{adapter.name} {adapter.kept}", all(r["original_kept"] for r in rows), ""),
    ]  # fmt: skip
    section.data = {"cases": rows, "ratio": overall}
    return section
