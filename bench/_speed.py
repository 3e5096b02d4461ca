"""Speed: every timed case next to one tiktoken encode of the same input, plus import and cold start.

Absolute times vary between machines; the ratio to an encode of the same text, in the same process,
does not much. Import time and the first call in a fresh process are measured in subprocesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ._core import Check, Context, Section, median
from ._format import fmt_int, fmt_ms, mark, plain

# per kind, the most a compress_text call may cost in encodes of the same input (the issues' targets)
X_TARGETS = {"log": 3.0, "json": 3.0, "search": 3.0, "code": 3.0, "text": 3.0, "diff": 3.0}
IMPORT_TARGET_MS = 150.0
IMPORT_RUNS = 5

_IMPORT = "import time; t=time.perf_counter(); import headroom; print(time.perf_counter()-t)"
_COLD = """
import json, sys, tempfile, time
t0 = time.perf_counter()
from headroom import Config, Headroom
t1 = time.perf_counter()
with open(sys.argv[1], encoding="utf-8", errors="surrogateescape", newline="") as handle:
    text = handle.read()
with tempfile.TemporaryDirectory() as tmp:
    hr = Headroom(Config(store=f"sqlite:///{tmp}/bench.db", ledger=False))
    t2 = time.perf_counter()
    hr.compress_text(text)
    t3 = time.perf_counter()
print(json.dumps({
    "import_ms": (t1 - t0) * 1e3,
    "init_ms": (t2 - t1) * 1e3,
    "first_call_ms": (t3 - t2) * 1e3,
}))
"""


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"subprocess failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def import_ms() -> float:
    """Median wall time of ``import headroom`` over fresh interpreters."""
    return median([float(_python(_IMPORT)) * 1000 for _ in range(IMPORT_RUNS)])


def cold_start(log_path: Path) -> dict[str, float]:
    """Import, ``Headroom()`` and first ``compress_text`` of ``log_path`` in a fresh process, in ms."""
    found: dict[str, float] = json.loads(_python(_COLD, str(log_path)))
    return found


def run_speed(ctx: Context, with_subprocesses: bool) -> Section:
    """The speed table from every measurement the kinds made, plus import time and a cold start."""
    section = Section(
        "speed",
        "speed: compress_text vs one tiktoken encode of the same input",
        ["kind", "case", "query", "tokens in", "first ms", "ms", "encode ms", "x encode"],
        text_columns=3,
    )
    worst: dict[str, float] = {}
    for m in ctx.measurements:
        x = m.x_encode
        limit = X_TARGETS.get(m.kind)
        target = limit is not None
        if target and x == x:  # NaN (an engine error) is reported by its kind, not here
            worst[m.kind] = max(worst.get(m.kind, 0.0), x)
        section.rows.append(
            [
                m.kind,
                plain(m.case),
                plain(m.query or "-"),
                fmt_int(m.tokens_in),
                fmt_ms(m.first_ms),
                fmt_ms(m.median_ms),
                fmt_ms(m.encode_ms),
                mark(f"{x:.2f}" if x == x else "-", x <= limit if limit is not None and x == x else None),
            ]
        )
    section.data["cases"] = [{"kind": m.kind, **m.as_json()} for m in ctx.measurements]
    varying = [
        f"{m.kind}/{m.case} ({m.query or 'no query'})"
        for m in ctx.measurements
        if not m.deterministic and not m.error
    ]
    if varying:
        section.notes.append(
            "output differed between runs (compress_text should be deterministic): " + ", ".join(varying)
        )
    for kind, x in sorted(worst.items()):
        section.checks.append(
            Check(
                f"speed {kind} <= {X_TARGETS[kind]:g}x encode (every case)",
                x <= X_TARGETS[kind],
                f"worst {x:.2f}x",
            )
        )
    if not with_subprocesses:
        section.notes.append("import time and cold start skipped (no headroom engine)")
        return section
    try:
        imported = import_ms()
        section.rows.append(["import", "import headroom (median of 5 processes)", "-", "-", "-",
                             mark(fmt_ms(imported), imported < IMPORT_TARGET_MS), "-", "-"])  # fmt: skip
        section.checks.append(
            Check("import headroom < 150 ms", imported < IMPORT_TARGET_MS, f"{imported:.0f} ms")
        )
        section.data["import_ms"] = imported
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        section.notes.append(f"import time failed: {exc}")
        section.checks.append(Check("import headroom < 150 ms", False, str(exc)[:80]))
    log_path = ctx.data_dir / "logs" / "Apache_2k.log"
    if log_path.is_file():
        try:
            cold = cold_start(log_path)
            section.rows.append(["cold", f"first call, fresh process: {log_path.name}", "-", "-",
                                 fmt_ms(cold["first_call_ms"]), "-", "-", "-"])  # fmt: skip
            section.notes.append(
                f"cold start on {log_path.name}: import {cold['import_ms']:.0f} ms, Headroom() "
                f"{cold['init_ms']:.0f} ms, first compress_text {cold['first_call_ms']:.0f} ms"
            )
            section.data["cold_start"] = cold
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            section.notes.append(f"cold start failed: {exc}")
    return section
