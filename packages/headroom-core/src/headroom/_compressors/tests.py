"""Test runs (pytest, unittest, go test, cargo test, jest, vitest, mocha): passes counted, the rest whole.

What an agent reads a test run for is what failed and why, and whether the run as a whole passed.
So every line that reports a passing test (``path::test PASSED``, ``test x ... ok``, ``--- PASS:``,
``✓ name``) and go's ``=== RUN`` lines go, a run of them replaced by one line that counts them (by
file when the runner names one)::

    [… 412 passed: tests/test_core.py 200, tests/test_cli.py 212]

Everything else stays as the runner printed it: failures with their assertion, traceback and
location, skips, expected failures, errors, warnings, captured output, and the summary line. One
marker at the end names the ref of the whole run.
"""

from __future__ import annotations

from collections import Counter

from .._detect import TEST_PASSED as PASSED
from ._job import Job

_MIN_PASSES = 5


def compress(job: Job) -> str | None:
    lines = job.text.split("\n")
    out: list[str] = []
    run: Counter[str] = Counter()
    dropped = 0

    def close() -> None:
        if run:
            total = sum(run.values())
            named = ", ".join(f"{name} {count}" for name, count in run.most_common(6) if name)
            more = " …" if len([name for name in run if name]) > 6 else ""
            out.append(f"[… {total} passed{': ' + named + more if named else ''}]")
            run.clear()

    for line in lines:
        match = PASSED.fullmatch(line)
        if match is None:
            close()
            out.append(line)
            continue
        dropped += 1
        if not line.startswith("==="):
            run[match["file"] or match["file2"] or ""] += 1
    close()
    if dropped < _MIN_PASSES:
        return None
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" + job.marker(dropped, "lines of passing tests")
