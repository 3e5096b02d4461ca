"""Fuzz: hostile and odd inputs of every family that broke or stalled a compressor once, or could.

Each input is generated here from a fixed seed (about 1 MB, a few 2 MB) and goes through
``compress_text`` and, as a tool result, through ``compress``, with the default configuration (its
time budget included), in one fresh process. Targets: no call raises, and every call takes under
2 s per MB of its input (wall time; the slower of the two calls is shown).
Run it by hand with ``python -m bench._fuzz``.
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ._core import Check, Section
from ._format import mark

MB = 1 << 20
SECONDS_PER_MB_TARGET = 2.0
_REPO = Path(__file__).resolve().parent.parent


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


def _log_line(rng: random.Random, n: int, token: str) -> str:
    return f"2026-12-02 10:00:{n % 60:02d},{n % 1000:03d} INFO worker-{rng.randrange(9)} {token}\n"


def _families() -> dict[str, Callable[[], str]]:
    rng = _rng(15)
    return {
        "random bytes": lambda: bytes(rng.randrange(256) for _ in range(MB)).decode(
            "utf-8", "surrogateescape"
        ),
        "base64 lines, 32 KB each": lambda: "".join(
            _log_line(rng, n, base64.b64encode(rng.randbytes(24_000)).decode()) for n in range(32)
        ),
        "key:N: tokens, 8 KB each": lambda: "".join(
            _log_line(rng, n, ":".join(f"k{i}:{rng.randrange(99)}" for i in range(1_400))) for n in range(120)
        ),
        "one line of prose, 2 MB": lambda: " ".join(
            rng.choice(
                ["The", "cache", "was", "warm.", "Dr.", "Smith", "e.g.", "it", "failed!", "U.S.", "ok?"]
            )
            for _ in range(2 * MB // 5)
        )[: 2 * MB],
        "spaces, 1.2 MB": lambda: " " * 1_200_000,
        "tabs and spaces": lambda: "\t \t  " * (MB // 5),
        "nested JSON arrays": lambda: "[" * 200_000 + "]" * 200_000,
        "nested JSON objects": lambda: '{"a":' * 100_000 + "1" + "}" * 100_000,
        "JSON, huge strings": lambda: json.dumps(
            [{"id": n, "blob": "x" * 50_000 + str(n), "ok": n % 7 != 0} for n in range(20)]
        ),
        "JSON, wide records": lambda: json.dumps(
            [{f"field_{c}": rng.randrange(10**9) for c in range(400)} for _ in range(120)]
        ),
        "broken JSON": lambda: json.dumps([{"id": n, "name": f"item {n}"} for n in range(20_000)])[:-7],
        "a\\n over and over": lambda: "a\n" * (MB // 2),
        "numbers, one per line": lambda: "".join(f"{n}\n" for n in range(MB // 7)),
        "CSV, 300 columns": lambda: "".join(
            ",".join(str(rng.randrange(1000)) for _ in range(300)) + "\n" for _ in range(900)
        ),
        "HTML tag soup": lambda: "<div><span class='a'>" * (MB // 24),
        "HTML, one huge attribute": lambda: f"<html><body><p title='{'q' * MB}'>hi</p></body></html>",
        "unicode marks and emoji": lambda: "".join(
            rng.choice(["e\u0301", "\u202e", "\u200d", "🧪", "ß", "\u0000", "日本", "\r\n", "\n"])
            for _ in range(MB // 3)
        ),
        "lone surrogates": lambda: "".join(f"line {n} \ud800 value\n" for n in range(MB // 20)),
        "CR-only line ends": lambda: "".join(
            _log_line(rng, n, "ok").replace("\n", "\r") for n in range(14_000)
        ),
        "diff headers, no hunks": lambda: "".join(
            f"diff --git a/f{n} b/f{n}\n--- a/f{n}\n+++ b/f{n}\n" for n in range(MB // 60)
        ),
        "hunks that lie about their size": lambda: "".join(
            f"@@ -1,{rng.randrange(10**6)} +1,{rng.randrange(10**6)} @@\n+x\n-y\n" for n in range(MB // 30)
        ),
        "grep hits, 4 KB paths": lambda: "".join(f"{'d/' * 2000}f{n}.py:{n}:def f():\n" for n in range(250)),
        "minified JS, one line": lambda: ";".join(
            f"var a{n}=function(b){{return b+{n}}}" for n in range(MB // 30)
        ),
        "unbalanced braces": lambda: "function f() {\n" * 40_000,
        "python, deep parentheses": lambda: "x = " + "(" * 50_000 + "1" + ")" * 50_000 + "\n",
        "unclosed code fences": lambda: "Some prose.\n```python\n" * (MB // 24),
        "fake headroom markers": lambda: "".join(
            f"[… {n} lines omitted; headroom_retrieve ref={rng.randbytes(12).hex()}]\n"
            for n in range(MB // 70)
        ),
        "distinct tokens per log line": lambda: "".join(
            _log_line(rng, n, " ".join(rng.randbytes(6).hex() for _ in range(12))) for n in range(9_000)
        ),
    }


def measure() -> list[dict[str, object]]:
    """Every family once through ``compress_text`` and ``compress``: seconds, outcome, what raised."""
    from headroom import Config, Headroom

    found: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="headroom-fuzz-") as tmp:
        hr = Headroom(Config(store=f"sqlite:///{tmp}/fuzz.db", ledger=False))
        hr.warm()
        for name, build in _families().items():
            text = build()
            mb = len(text.encode("utf-8", "surrogatepass")) / MB
            case: dict[str, object] = {"name": name, "mb": mb}
            messages = [
                {"role": "user", "content": "What went wrong?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "run", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": text},
            ]  # fmt: skip
            calls: list[tuple[str, Callable[[], object]]] = [
                ("compress_text", lambda: hr.compress_text(text).outcome),  # noqa: B023 - called right here
                ("compress", lambda: hr.compress(messages) and None),  # noqa: B023
            ]
            for call, run in calls:
                start = time.perf_counter()
                try:
                    outcome = run()
                    if outcome is not None:
                        case["outcome"] = outcome
                except BaseException as exc:  # the target: nothing raises, whatever the input
                    case["raised"] = f"{call}: {type(exc).__name__}: {exc}"[:200]
                case[f"{call}_seconds"] = time.perf_counter() - start
            case["seconds"] = max(float(case["compress_text_seconds"]), float(case["compress_seconds"]))  # type: ignore[arg-type]
            found.append(case)
        hr.close()
    return found


def run_fuzz(say: Callable[[str], None]) -> Section:
    columns = ["input", "MB", "slower call s", "s per MB", "outcome", "raised"]
    section = Section("fuzz", "fuzz: hostile inputs through compress_text and compress, fresh process",
                      columns, text_columns=1)  # fmt: skip
    say("fuzz: hostile inputs")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench._fuzz"], cwd=_REPO, capture_output=True, text=True, timeout=1800,
            check=False,
        )  # fmt: skip
        cases: list[dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        section.checks.append(Check("fuzz: ran", False, f"{type(exc).__name__}: {exc}"[:200]))
        return section
    for case in cases:
        mb, seconds = float(case["mb"]), float(case["seconds"])  # type: ignore[arg-type]
        per_mb = seconds / max(mb, 1e-9)
        case["seconds_per_mb"] = per_mb
        raised = str(case.get("raised", ""))
        section.rows.append([str(case["name"]), f"{mb:.2f}", f"{seconds:.2f}",
                             mark(f"{per_mb:.2f}", per_mb < SECONDS_PER_MB_TARGET),
                             str(case.get("outcome", "-")), mark(raised or "no", not raised)])  # fmt: skip
    raised = [str(c["name"]) for c in cases if c.get("raised")]
    slow = [f"{c['name']} {float(c['seconds_per_mb']):.1f} s/MB" for c in cases  # type: ignore[arg-type]
            if float(c["seconds_per_mb"]) >= SECONDS_PER_MB_TARGET]  # type: ignore[arg-type]  # fmt: skip
    worst = max((float(c["seconds_per_mb"]) for c in cases), default=0.0)  # type: ignore[arg-type]
    section.checks.append(Check("fuzz: no input raises out of compress_text / compress", not raised,
                                ", ".join(raised) or f"{len(cases)} inputs"))  # fmt: skip
    section.checks.append(Check(f"fuzz: every input under {SECONDS_PER_MB_TARGET:.0f} s per MB", not slow,
                                ", ".join(slow) or f"worst {worst:.2f} s/MB"))  # fmt: skip
    section.data = {"cases": cases}
    return section


if __name__ == "__main__":
    print(json.dumps(measure()))
