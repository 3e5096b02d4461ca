"""JSON benchmark: GitHub API recordings, with and without a query (QUALITY.md, json row).

Ratios are reported against the file as given (pretty-printed) and against compact JSON. Retention is
key-path coverage (every key name of every path still readable) and anomaly retention (``_anomaly``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

from ._anomaly import Retained, columns, missing_from, object_arrays, retained_records
from ._core import Check, Context, Kind, Section, ratio, read_text, round_trip_check, share, summarize
from ._engine import Measurement
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, fmt_ratio, head_cells, mark, plain, tail_cells

COMPACT_TARGET = 3.0


def compact_json(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def key_paths(doc: object) -> dict[str, tuple[str, ...]]:
    """Every key path (array indices collapsed, e.g. ``[].response[].user.login``) and its key names."""
    paths: dict[str, tuple[str, ...]] = {}

    def walk(node: object, shown: str, keys: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{shown}.{key}" if shown else str(key)
                paths.setdefault(path, (*keys, key))
                walk(value, path, (*keys, key))
        elif isinstance(node, list):
            for item in node:
                walk(item, shown + "[]", keys)

    walk(doc, "", ())
    return paths


def key_visible(key: str, output: str) -> bool:
    """A key name appears as a whole word: not touching a word character or a hyphen on either side."""
    return re.search(r"(?<![\w-])" + re.escape(key) + r"(?![\w-])", output) is not None


def key_coverage(doc: object, output: str) -> tuple[int, int, list[str]]:
    """(paths whose every key name appears in ``output``, all paths, the missing paths)."""
    paths = key_paths(doc)
    seen = {key: key_visible(key, output) for keys in paths.values() for key in keys}
    missing = [path for path, keys in paths.items() if not all(seen[key] for key in keys)]
    return len(paths) - len(missing), len(paths), missing


def anomaly_retention(retained: list[Retained], output: str) -> tuple[int, int, list[str]]:
    """(retained records visible in ``output``, retained records, why each invisible one is missing)."""
    missing = []
    for entry in retained:
        why = missing_from(entry, output)
        if why is not None:
            missing.append(f"{entry.path} ({', '.join(entry.reasons)}): {why}")
    return len(retained) - len(missing), len(retained), missing


def _named(record: dict[str, object], key: str) -> tuple[str, str] | None:
    """``record[key]`` when it is a non-empty string, else the first such column whose leaf is ``key``."""
    value = record.get(key)
    if isinstance(value, str) and value:
        return key, value
    for path, leaf_value in columns(record).items():
        if path.rsplit(".", 1)[-1] == key and isinstance(leaf_value, str) and leaf_value:
            return path, leaf_value
    return None


def _missed_summary(missing: list[str]) -> str:
    """How many missed records per reason (``first``, ``rare``, ``outlier``...), and the first one."""
    reasons: Counter[str] = Counter()
    for line in missing:
        found = re.search(r"\(([^)]*)\):", line)
        for reason in found.group(1).split(", ") if found else ["?"]:
            reasons[reason.split(" ", 1)[0].split("=", 1)[0]] += 1
    counts = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
    return f"{len(missing)} records (reasons: {counts}); first: {missing[0][:120]}"


def pick_query(doc: object, file_name: str) -> tuple[str, str] | None:
    """(query, where it came from): the ``title`` (paginate-issues) or ``name`` of the middle record.

    The records are those of the deepest arrays of objects whose records carry that key (a top-level
    key, else a column with that leaf name), all arrays of that depth together, in document order.
    """
    key = "title" if "paginate-issues" in file_name else "name"
    depth, found = -1, []
    for array in object_arrays(doc):
        hits = [(f"{array.path}[{i}]", hit) for i, r in enumerate(array.records) if (hit := _named(r, key))]
        if hits and array.depth > depth:
            depth, found = array.depth, hits
        elif hits and array.depth == depth:
            found += hits
    if not found:
        return None
    where, (path, value) = found[len(found) // 2]
    return value, f"{where}.{path}"


@dataclass(frozen=True)
class _Judged:
    measurement: Measurement
    compact_tokens: int
    keys: tuple[int, int, list[str]]
    anomalies: tuple[int, int, list[str]]


def _judge(
    ctx: Context, name: str, text: str, doc: object, compact_tokens: int, query: str | None
) -> _Judged:
    m = ctx.measure("json", name, text, query)
    keys = key_coverage(doc, m.text)
    anomalies = anomaly_retention(retained_records(doc, query), m.text)
    return _Judged(m, compact_tokens, keys, anomalies)


def _row(judged: _Judged, label: str, query: str | None) -> list[str]:
    m, keys, anomalies = judged.measurement, judged.keys, judged.anomalies
    vs_compact = ratio(judged.compact_tokens, m.tokens_out)
    return [
        plain(label),
        plain(query) if query else "-",
        *head_cells(summarize([m])),
        mark(fmt_ratio(vs_compact), vs_compact is not None and vs_compact >= COMPACT_TARGET),
        mark(fmt_frac(keys[0], keys[1]), keys[0] == keys[1]),
        mark(fmt_frac(anomalies[0], anomalies[1]), anomalies[0] == anomalies[1]),
        *tail_cells(summarize([m])),
    ]


def run(ctx: Context) -> Section:
    """Compress every recording in ``json/`` with no query and with one query, and judge both."""
    section = Section(
        "json",
        "json: GitHub API recordings, no query and with a query",
        ["file", "query", *HEAD_COLUMNS, "vs compact", "key paths", "anomalies", *TAIL_COLUMNS],
    )
    judged: dict[str, list[_Judged]] = {"no query": [], "query": []}
    files: list[dict[str, object]] = []
    for path in sorted((ctx.data_dir / "json").glob("*.json")):
        text = read_text(path)
        doc = json.loads(text)
        compact_tokens = ctx.engine.count(compact_json(doc))
        picked = pick_query(doc, path.name)
        ctx.say(
            f"json: {path.name} (query {picked[0]!r} from {picked[1]})" if picked else f"json: {path.name}"
        )
        if picked:
            section.notes.append(f"query for {path.name}: {picked[0]!r}, the value at {picked[1]}")
        for label, query in (("no query", None), ("query", picked[0] if picked else None)):
            if label == "query" and query is None:
                continue
            result = _judge(ctx, path.name, text, doc, compact_tokens, query)
            judged[label].append(result)
            if result.anomalies[2]:
                section.notes.append(f"{path.name} ({label}) misses {_missed_summary(result.anomalies[2])}")
            section.rows.append(_row(result, path.name, query))
            files.append(
                {
                    **result.measurement.as_json(),
                    "compact_tokens": compact_tokens,
                    "ratio_vs_compact": ratio(compact_tokens, result.measurement.tokens_out),
                    "key_paths_covered": result.keys[0],
                    "key_paths_total": result.keys[1],
                    "key_paths_missing": result.keys[2][:50],
                    "anomalies_visible": result.anomalies[0],
                    "anomalies_total": result.anomalies[1],
                    "anomalies_missing": result.anomalies[2][:50],
                    "query_source": picked[1] if query and picked else None,
                }
            )
    summaries: dict[str, object] = {}
    for label, group in judged.items():
        if not group:
            continue
        total = summarize([j.measurement for j in group])
        compact = sum(j.compact_tokens for j in group)
        vs_compact = ratio(compact, total.tokens_out) or 0.0
        keys = (sum(j.keys[0] for j in group), sum(j.keys[1] for j in group))
        anomalies = (sum(j.anomalies[0] for j in group), sum(j.anomalies[1] for j in group))
        section.rows.append(
            [
                "[bold]all[/]",
                label,
                *head_cells(total),
                mark(fmt_ratio(vs_compact), vs_compact >= COMPACT_TARGET),
                mark(fmt_frac(*keys), keys[0] == keys[1]),
                mark(fmt_frac(*anomalies), anomalies[0] == anomalies[1]),
                *tail_cells(total),
            ]
        )
        summaries[label] = {
            **total.as_json(),
            "compact_tokens": compact,
            "ratio_vs_compact": vs_compact,
            "key_path_coverage": share(*keys),
            "anomaly_retention": share(*anomalies),
        }
        section.checks += [
            Check(
                f"json ratio vs compact >= 3x ({label})", vs_compact >= COMPACT_TARGET, f"{vs_compact:.1f}x"
            ),
            Check(f"json key-path coverage 100% ({label})", keys[0] == keys[1], fmt_frac(*keys)),
            Check(
                f"json anomaly retention 100% ({label})", anomalies[0] == anomalies[1], fmt_frac(*anomalies)
            ),
        ]
    everything = summarize([j.measurement for group in judged.values() for j in group])
    section.checks.append(round_trip_check("json", everything))
    section.data = {"summary": summaries, "files": files}
    return section


KIND = Kind("json", run)
