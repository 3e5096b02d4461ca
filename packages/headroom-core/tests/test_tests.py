"""Test runs (pytest, unittest, go test, cargo test, jest): every failure, skip and summary line as
the runner printed it, the passing tests counted."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from headroom import Config, Headroom

Run = tuple[str, list[str], int]  # the output, the lines that must stay verbatim, the passes


def _names(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(['parse', 'render', 'store', 'retry'])}_{rng.choice(['ok', 'empty', 'big'])}_{n}"
            for n in range(count)]  # fmt: skip


def _pytest(rng: random.Random) -> Run:
    names = _names(rng, rng.randint(150, 400))
    failing = set(rng.sample(names, 2))
    skipped = set(rng.sample(sorted(set(names) - failing), 3))
    out, keep = ["=" * 20 + " test session starts " + "=" * 20, f"collected {len(names)} items", ""], []
    for n, name in enumerate(names):
        status = "FAILED" if name in failing else "SKIPPED (needs redis)" if name in skipped else "PASSED"
        line = f"tests/test_{n % 4}.py::test_{name} {status} [{100 * n // len(names):3}%]"
        out.append(line)
        keep += [line] if status != "PASSED" else []
    out += ["", "=" * 20 + " FAILURES " + "=" * 20]
    for name in sorted(failing):
        block = [f"____ test_{name} ____", "", f"    def test_{name}():", f">       assert parse('{name}') == 3",
                 "E       AssertionError: assert 2 == 3", "", f"tests/test_x.py:{rng.randint(10, 900)}: AssertionError"]  # fmt: skip
        out += block
        keep += [line for line in block if line]
    summary = f"==== 2 failed, {len(names) - 5} passed, 3 skipped in 4.21s ===="
    out += [
        "=" * 10 + " short test summary info " + "=" * 10,
        *(f"FAILED tests/test_x.py::test_{n}" for n in sorted(failing)),
        summary,
    ]
    keep.append(summary)
    return "\n".join(out) + "\n", keep, len(names) - 5


def _unittest(rng: random.Random) -> Run:
    names = _names(rng, rng.randint(100, 300))
    out = [f"test_{name} (tests.test_core.CoreTest.test_{name}) ... ok" for name in names]
    failing = f"test_{names[7]} (tests.test_core.CoreTest.test_{names[7]}) ... FAIL"
    out[7] = failing
    block = ["=" * 70, f"FAIL: test_{names[7]} (tests.test_core.CoreTest.test_{names[7]})", "-" * 70,
             "Traceback (most recent call last):", '  File "tests/test_core.py", line 41, in test_x',
             "    self.assertEqual(got, 3)", "AssertionError: 2 != 3"]  # fmt: skip
    tail = ["-" * 70, f"Ran {len(names)} tests in 0.412s", "", "FAILED (failures=1)"]
    return "\n".join([*out, "", *block, *tail]) + "\n", [failing, *block, tail[1], tail[3]], len(names) - 1


def _go(rng: random.Random) -> Run:
    names = [f"Test{name.title().replace('_', '')}" for name in _names(rng, rng.randint(80, 200))]
    out: list[str] = []
    keep: list[str] = []
    for n, name in enumerate(names):
        out.append(f"=== RUN   {name}")
        if n == 11:
            block = [f"    store_test.go:{40 + n}: got 2, want 3", f"--- FAIL: {name} (0.00s)"]
            out += block
            keep += block
        else:
            out.append(f"--- PASS: {name} (0.0{n % 10}s)")
    tail = ["FAIL", "FAIL\texample.com/store\t0.214s"]
    return "\n".join([*out, *tail]) + "\n", [*keep, *tail], len(names) - 1


def _cargo(rng: random.Random) -> Run:
    names = [f"store::tests::{name}" for name in _names(rng, rng.randint(80, 200))]
    out = [f"running {len(names)} tests", *(f"test {name} ... ok" for name in names)]
    out[5] = f"test {names[4]} ... FAILED"
    block = [f"---- {names[4]} stdout ----", "thread 'main' panicked at src/store.rs:88:9:",
             "assertion `left == right` failed", "  left: 2", " right: 3"]  # fmt: skip
    summary = f"test result: FAILED. {len(names) - 1} passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
    return (
        "\n".join([*out, "", "failures:", "", *block, "", summary]) + "\n",
        [out[5], *block, summary],
        len(names) - 1,
    )


def _jest(rng: random.Random) -> Run:
    names = _names(rng, rng.randint(80, 200))
    out = [
        "PASS src/store.test.js",
        *(f"  ✓ {name.replace('_', ' ')} ({n % 9 + 1} ms)" for n, name in enumerate(names)),
    ]
    failing = f"  ✕ {names[3].replace('_', ' ')} (4 ms)"
    out[4] = failing
    title = f"  ● store › {names[3].replace('_', ' ')}"  # noqa: RUF001 (jest's own separator)
    block = [title, "", "    expect(received).toBe(expected) // Object.is equality", "    Expected: 3",
             "    Received: 2", "      at Object.<anonymous> (src/store.test.js:41:23)"]  # fmt: skip
    tail = [f"Tests:       1 failed, {len(names) - 1} passed, {len(names)} total", "Time:        1.22 s"]
    return (
        "\n".join([*out, "", *block, "", *tail]) + "\n",
        [failing, *(b for b in block if b), *tail],
        len(names) - 1,
    )


RUNNERS: dict[str, Callable[[random.Random], Run]] = {
    "pytest": _pytest, "unittest": _unittest, "go": _go, "cargo": _cargo, "jest": _jest,
}  # fmt: skip


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("seed", range(3))
def test_failures_and_the_summary_stay_verbatim_and_passes_are_counted(runner: str, seed: int) -> None:
    text, keep, passes = RUNNERS[runner](random.Random(seed))
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.outcome) == ("tests", "compressed")
    assert result.tokens_after * 4 < result.tokens_before
    shown = result.text.split("\n")
    assert all(line in shown for line in keep)
    counted = sum(int(line.split()[1]) for line in shown if line.startswith("[… ") and " passed" in line)
    assert counted == passes
    assert headroom.retrieve(result.ref or "") == text
    headroom.close()


def test_a_checklist_is_not_a_test_run() -> None:
    text = "\n".join(f"✓ step {n}: copied the files of batch {n}" for n in range(60))
    headroom = Headroom(Config(store="memory", ledger=False))
    assert headroom.compress_text(text).kind != "tests"
    headroom.close()
