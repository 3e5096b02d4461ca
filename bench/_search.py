"""Search benchmark: ``grep -rn`` output, with fixed queries and with none (QUALITY.md, search row).

Queries are identifier-like words found in 1-10% of the hit lines, five of them spread evenly over that
range, chosen from the data alone so every run and every engine sees the same ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._core import Check, Context, Kind, Section, read_text, round_trip_check, share, summarize
from ._engine import Measurement
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, fmt_pct, head_cells, mark, plain, tail_cells
from ._retrieval import check_line_retrieval, split_lines

HIT = re.compile(r"^([^:\n]+):(\d+):(.*)$")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
RATIO_TARGET = 4.0


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str


def parse_hits(text: str) -> list[Hit]:
    """The ``path:line:text`` lines of grep output (other lines are ignored)."""
    hits = []
    for line in split_lines(text):
        match = HIT.match(line)
        if match:
            hits.append(Hit(match.group(1), int(match.group(2)), match.group(3)))
    return hits


def pick_queries(
    hits: list[Hit], count: int = 5, low: float = 0.01, high: float = 0.10
) -> list[tuple[str, float]]:
    """``count`` words whose line frequency is in [low, high], evenly spaced by (frequency, word).

    Frequency is the share of hit lines whose text contains the word, case-insensitively; words that
    differ only in case are one candidate (the first in sort order).
    """
    if not hits:
        return []
    folded = [hit.text.lower() for hit in hits]
    words = {word for hit in hits for word in WORD.findall(hit.text)}
    frequency = {word: sum(1 for text in folded if word.lower() in text) / len(hits) for word in words}
    ranked, seen = [], set()
    for word in sorted(words, key=lambda w: (frequency[w], w)):
        if low <= frequency[word] <= high and word.lower() not in seen:
            seen.add(word.lower())
            ranked.append((word, frequency[word]))
    if len(ranked) <= count:
        return ranked
    return [ranked[round(i * (len(ranked) - 1) / (count - 1))] for i in range(count)]


@dataclass(frozen=True)
class SearchCoverage:
    """File paths present, and hits visible: matching hits with a term, files with a visible hit without."""

    paths: tuple[int, int]
    hits: tuple[int, int]

    @property
    def complete(self) -> bool:
        return self.paths[0] == self.paths[1] and self.hits[0] == self.hits[1]


def search_coverage(hits: list[Hit], output: str, term: str | None) -> SearchCoverage:
    """Judge ``output``: every path present, and every matching hit (or one hit per file) visible."""
    files = list(dict.fromkeys(hit.path for hit in hits))
    present = sum(1 for path in files if path in output)
    if term is not None:
        relevant = [hit for hit in hits if term.lower() in hit.text.lower()]
        shown = sum(1 for hit in relevant if hit.text.strip() in output)
        return SearchCoverage((present, len(files)), (shown, len(relevant)))
    with_visible = {hit.path for hit in hits if hit.text.strip() in output}
    return SearchCoverage((present, len(files)), (len(with_visible), len(files)))


def _retrieval(ctx: Context, m: Measurement, text: str, term: str | None) -> tuple[bool | None, str]:
    if term is None:
        return None, "-"
    if m.ref is None:
        return (None, "n/a") if m.text == text else (False, "no ref")
    try:
        check = check_line_retrieval(ctx.engine.retrieve(m.ref, query=term), term, split_lines(text))
    except Exception as exc:  # a failing retrieve is a failed check, reported on the row
        return False, f"{type(exc).__name__}: {exc}"
    shown = f"{len(check.shown)}/{check.matched}"
    return check.passed, shown if check.passed else f"{shown} {check.reason}"


def run(ctx: Context) -> Section:
    """Compress each grep output with no query and with each fixed query, and judge every output."""
    section = Section(
        "search",
        "search: grep -rn output, no query and fixed queries",
        ["file", "query", "freq", *HEAD_COLUMNS, "paths", "hits visible", "retrieve", *TAIL_COLUMNS],
    )
    rows: list[dict[str, object]] = []
    groups: dict[str, list[Measurement]] = {"no query": [], "queries": []}
    verdicts: dict[str, list[bool]] = {"no query": [], "queries": []}
    for path in sorted((ctx.data_dir / "tool_outputs").glob("grep_*.txt")):
        text = read_text(path)
        hits = parse_hits(text)
        queries = pick_queries(hits)
        ctx.say(f"search: {path.name}, queries {[q for q, _ in queries]}")
        section.notes.append(
            f"queries for {path.name}: " + ", ".join(f"{q} ({fmt_pct(f)})" for q, f in queries)
        )
        for term, frequency in [(None, None), *queries]:
            m = ctx.measure("search", path.name, text, term)
            coverage = search_coverage(hits, m.text, term)
            retrieved, shown = _retrieval(ctx, m, text, term)
            group = "no query" if term is None else "queries"
            groups[group].append(m)
            verdicts[group].append(coverage.complete and retrieved is not False)
            rows.append(
                {
                    **m.as_json(),
                    "frequency": frequency,
                    "paths_present": coverage.paths[0],
                    "paths_total": coverage.paths[1],
                    "hits_visible": coverage.hits[0],
                    "hits_total": coverage.hits[1],
                    "retrieval_passed": retrieved,
                    "retrieval": shown,
                }
            )
            section.rows.append(
                [
                    plain(path.name),
                    plain(term) if term else "-",
                    fmt_pct(frequency) if frequency is not None else "-",
                    *head_cells(summarize([m]), RATIO_TARGET),
                    mark(fmt_frac(*coverage.paths), coverage.paths[0] == coverage.paths[1]),
                    mark(fmt_frac(*coverage.hits), coverage.hits[0] == coverage.hits[1]),
                    plain(shown) if retrieved is None else mark(plain(shown), retrieved),
                    *tail_cells(summarize([m])),
                ]
            )
    summaries: dict[str, object] = {}
    for label, measured in groups.items():
        if not measured:
            continue
        total = summarize(measured)
        value = total.ratio or 0.0
        passed = sum(verdicts[label])
        section.rows.append(
            ["[bold]all[/]", label, "", *head_cells(total, RATIO_TARGET), "", "", "", *tail_cells(total)]
        )
        summaries[label] = {
            **total.as_json(),
            "complete_cases": passed,
            "complete_share": share(passed, len(measured)),
        }
        section.checks += [
            Check(f"search ratio >= 4x ({label})", value >= RATIO_TARGET, f"{value:.1f}x"),
            Check(
                f"search paths present, hits visible, retrieval exact ({label})",
                passed == len(measured),
                f"{passed}/{len(measured)} cases",
            ),
        ]
    section.checks.append(round_trip_check("search", summarize(groups["no query"] + groups["queries"])))
    section.data = {"summary": summaries, "cases": rows}
    return section


KIND = Kind("search", run)
