"""Stress: 1, 10 and 50 MB inputs built in memory from the corpus, each compressed once in a fresh process.

A fresh process per input keeps peak-RSS growth honest and one huge case from slowing the next. The
inputs are never written to disk: logs are the loghub files repeated, JSON is an array of the GitHub
recordings' issue objects with varied ids, grep output is the flask hits repeated under varied paths.
Run one case by hand with ``python -m bench._stress --data DIR --kind log --mb 10``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ._core import Check, Section, read_text
from ._format import fmt_int, fmt_ms, fmt_ratio, mark, plain

SIZES_MB = (1, 10, 50)
MB = 1 << 20
TIMEOUT_S = 900
_REPO = Path(__file__).resolve().parent.parent


def _cut(text: str, size: int) -> str:
    """``text`` cut at the first line end at or after ``size`` characters."""
    end = text.find("\n", size)
    return text if end < 0 else text[: end + 1]


def build_log(data_dir: Path, size: int) -> str:
    parts = [read_text(p) for p in sorted((data_dir / "logs").glob("*_2k.log"))]
    block = "".join(part if part.endswith("\n") else part + "\r\n" for part in parts)
    return _cut(block * (size // len(block) + 1), size)


def build_json(data_dir: Path, size: int) -> str:
    doc = json.loads(read_text(data_dir / "json" / "octokit_paginate-issues.raw-fixture.json"))
    issues = [issue for r in doc if isinstance(r.get("response"), list) for issue in r["response"]]
    per_record = len(json.dumps(issues[0], indent=2, ensure_ascii=False)) + 2
    records = []
    for index in range(size // per_record + 1):
        record = copy.deepcopy(issues[index % len(issues)])
        record["id"] = 2_000_000_000 + index
        record["number"] = index + 1
        record["node_id"] = f"I_bench{index:010d}"
        records.append(record)
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def build_search(data_dir: Path, size: int) -> str:
    lines = read_text(data_dir / "tool_outputs" / "grep_rn_flask_def_raise.txt").splitlines(keepends=True)
    out: list[str] = []
    total, copy_index = 0, 0
    while total < size:
        for line in lines:
            out.append(f"pkg{copy_index}/{line}")
            total += len(out[-1])
        copy_index += 1
    return _cut("".join(out), size)


def build_code(data_dir: Path, size: int) -> str:
    """flask's ``app.py`` over and over, its definitions renamed per copy: one big generated Python
    module, whole copies only (a file cut mid-function does not parse, and is not compressed)."""
    source = read_text(data_dir / "code" / "flask_app.py")
    out: list[str] = []
    total, copy_index = 0, 0
    while total < size:
        out.append(re.sub(r"\b(def|class) (\w+)", rf"\1 \2_{copy_index}", source))
        total += len(out[-1])
        copy_index += 1
    return "".join(out)


def build_diff(data_dir: Path, size: int) -> str:
    block = "".join(read_text(p) for p in sorted((data_dir / "diffs").glob("*.txt")))
    return _cut(block * (size // len(block) + 1), size)


def build_html(data_dir: Path, size: int) -> str:
    """The HTML benchmark's generated pages, one after another (seeded, so the same bytes every run)."""
    from ._html import build_page

    out: list[str] = []
    total, seed = 0, 0
    while total < size:
        out.append(build_page("docs" if seed % 2 else "blog", seed).html)
        total += len(out[-1])
        seed += 1
    return "".join(out)


def build_text(data_dir: Path, size: int) -> str:
    """SQuAD paragraphs, a quarter of each paragraph's words swapped for others of the corpus per copy
    (seeded), so paragraphs do not simply repeat."""
    rows = [
        json.loads(line) for line in read_text(data_dir / "qa" / "squad_v2_dev_answerable.jsonl").splitlines()
    ]
    paragraphs = list(dict.fromkeys(row["context"] for row in rows))
    vocabulary = sorted({word for paragraph in paragraphs for word in paragraph.split()})
    rng = random.Random(7)
    out: list[str] = []
    total = 0
    while total < size:
        words = rng.choice(paragraphs).split()
        for _ in range(len(words) // 4):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        out.append(" ".join(words) + "\n\n")
        total += len(out[-1])
    return _cut("".join(out), size)


def build_lines(data_dir: Path, size: int) -> str:
    """``"a\\n"`` over and over: the most lines, and the most per-line work, a text can have per MB."""
    return "a\n" * (size // 2)


BUILDERS: dict[str, Callable[[Path, int], str]] = {
    "log": build_log,
    "json": build_json,
    "search": build_search,
    "code": build_code,
    "diff": build_diff,
    "html": build_html,
    "text": build_text,
    "lines": build_lines,
}
KIND_OF = {name: "text" if name == "lines" else name for name in BUILDERS}  # the bench kind it belongs to
PEAK_TARGET_X = 20  # peak memory at most 20x the input (the main process's growth plus a worker's)
SECONDS_50MB_TARGET = 10.0


def _workers_peak_mb() -> float:
    """The highest peak RSS of this process's compression workers (``python -m headroom._worker``
    children), 0 without any."""
    peak = 0.0
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # not a process, or one that ended
            continue
        if f"PPid:\t{os.getpid()}\n" in status and b"headroom._worker" in command:
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]) / 1024)
    return peak


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_one(data_dir: Path, kind: str, mb: int, engine_name: str) -> dict[str, object]:
    """Build one input, compress it once (after a small warm-up call), and judge ratio and round-trip."""
    from ._engine import EngineLike, IdentityEngine, count_tokens_function, headroom_engine

    text = BUILDERS[kind](data_dir, mb * MB)
    count, encode, _exact = count_tokens_function()
    with tempfile.TemporaryDirectory() as tmp:
        impl: EngineLike = headroom_engine(Path(tmp)) if engine_name == "headroom" else IdentityEngine()
        impl.compress_text(BUILDERS[kind](data_dir, 50_000))  # lazy imports and caches, not this input
        warm = getattr(impl, "warm", None)
        if warm is not None:
            warm()  # the worker processes start, as a server's do at startup
        rss_before, workers_before = _max_rss_mb(), _workers_peak_mb()
        start = time.perf_counter()
        result = impl.compress_text(text)
        ms = (time.perf_counter() - start) * 1000
        rss_growth = _max_rss_mb() - rss_before
        worker_growth = max(0.0, _workers_peak_mb() - workers_before)
        start = time.perf_counter()
        encode(text)
        encode_ms = (time.perf_counter() - start) * 1000
        round_trip = None if result.ref is None else impl.retrieve(result.ref) == text
    return {
        "kind": kind,
        "mb": mb,
        "bytes": len(text.encode("utf-8", "surrogateescape")),
        "tokens_in": count(text),
        "tokens_out": count(result.text),
        "ms": ms,
        "encode_ms": encode_ms,
        "round_trip": round_trip,
        "rss_growth_mb": rss_growth,
        "worker_growth_mb": worker_growth,
        "peak_x": (rss_growth + worker_growth) / (len(text) / MB),
        "out_kind": result.kind,
    }


def _run_case(data_dir: Path, kind: str, mb: int, engine_name: str) -> dict[str, object]:
    command = [
        sys.executable,
        "-m",
        "bench._stress",
        "--data",
        str(data_dir),
        "--kind",
        kind,
        "--mb",
        str(mb),
    ]
    try:
        done = subprocess.run(
            [*command, "--engine", engine_name],
            cwd=_REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"kind": kind, "mb": mb, "error": f"timeout after {TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"kind": kind, "mb": mb, "error": done.stderr.strip()[-300:] or f"exit {done.returncode}"}
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _num(case: dict[str, object], key: str) -> float:
    value = case.get(key)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def run_stress(data_dir: Path, kinds: list[str], engine_name: str, say: Callable[[str], None]) -> Section:
    """Every stress case of the selected kinds, one fresh process each."""
    section = Section(
        "stress",
        "stress: one compress_text per generated input, fresh process each",
        ["input", "MB", "tokens in", "tokens out", "ratio", "ms", "encode ms", "x encode", "round-trip",
         "peak MB", "peak x input", "10MB/1MB time"],
        text_columns=1,
    )  # fmt: skip
    cases: list[dict[str, object]] = []
    for name in [n for n in BUILDERS if KIND_OF[n] in kinds]:
        by_size: dict[int, dict[str, object]] = {}
        for mb in SIZES_MB:
            say(f"stress: {name} {mb} MB")
            case = by_size[mb] = _run_case(data_dir, name, mb, engine_name)
            cases.append(case)
            if "error" in case:
                section.rows.append(
                    [
                        name,
                        str(mb),
                        *["-"] * 6,
                        mark("error", False),
                        "-",
                        "-",
                        plain(str(case["error"]))[:80],
                    ]
                )
                continue
            ms, encode_ms = _num(case, "ms"), _num(case, "encode_ms")
            tokens_in, tokens_out = int(_num(case, "tokens_in")), int(_num(case, "tokens_out"))
            scaling = "-"
            if mb == 10 and 1 in by_size and "error" not in by_size[1]:
                case["time_ratio_10_1"] = ms / _num(by_size[1], "ms")
                scaling = f"{case['time_ratio_10_1']:.1f}"
            trip = case.get("round_trip")
            peak_x = _num(case, "peak_x")
            section.rows.append(
                [
                    name,
                    str(mb),
                    fmt_int(tokens_in),
                    fmt_int(tokens_out),
                    fmt_ratio(tokens_in / tokens_out if tokens_out else None),
                    mark(fmt_ms(ms), ms < SECONDS_50MB_TARGET * 1000) if mb == 50 else fmt_ms(ms),
                    fmt_ms(encode_ms),
                    f"{ms / encode_ms:.2f}" if encode_ms else "-",
                    "-" if trip is None else mark("ok" if trip else "FAIL", trip is True),
                    f"{_num(case, 'rss_growth_mb') + _num(case, 'worker_growth_mb'):.0f}",
                    mark(f"{peak_x:.1f}", peak_x <= PEAK_TARGET_X) if mb > 1 else f"{peak_x:.1f}",
                    scaling,
                ]
            )
    failed = [c for c in cases if "error" in c or c.get("round_trip") is False]
    section.checks.append(
        Check("stress: every case ran, round-trips exact", not failed, f"{len(failed)} failed")
    )
    big = [c for c in cases if "error" not in c and c["mb"] != 1]  # 1 MB: allocator noise dominates
    heavy = [
        f"{c['kind']} {c['mb']} MB {_num(c, 'peak_x'):.0f}x" for c in big if _num(c, "peak_x") > PEAK_TARGET_X
    ]
    section.checks.append(
        Check(f"stress: peak memory <= {PEAK_TARGET_X}x the input (10 and 50 MB)", not heavy,
              ", ".join(heavy) or f"max {max((_num(c, 'peak_x') for c in big), default=0):.1f}x")
    )  # fmt: skip
    slow = [
        f"{c['kind']} {_num(c, 'ms') / 1000:.1f} s" for c in big if c["mb"] == 50 and _num(c, "ms") >= 10_000
    ]
    section.checks.append(
        Check(
            f"stress: 50 MB of every kind under {SECONDS_50MB_TARGET:.0f} s",
            not slow,
            ", ".join(slow) or "all",
        )
    )
    section.notes.append(
        "peak MB: the growth of the process's peak RSS during the call plus the growth of a worker "
        "process's (texts of 1 MiB or more are compressed in workers)"
    )
    section.data = {"cases": cases}
    return section


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one stress case and print its numbers as JSON.")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--kind", choices=sorted(BUILDERS), required=True)
    parser.add_argument("--mb", type=int, required=True)
    parser.add_argument("--engine", choices=["headroom", "identity"], default="headroom")
    args = parser.parse_args(argv)
    print(json.dumps(measure_one(args.data, args.kind, args.mb, args.engine)))


if __name__ == "__main__":
    main()
