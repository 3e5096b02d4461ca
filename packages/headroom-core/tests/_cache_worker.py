"""One process using the shared compression cache; run by test_cache.py (and the bench's cache section).

``python _cache_worker.py STORE_URL conversation [--version V] [--cache-bytes N]`` compresses a
generated 50-message coding conversation (OpenAI chat shape: logs, JSON, file reads, grep hits, a
diff, a failing test run) on a fresh engine and prints one JSON line: the compressed messages, the
cache's counters and the time the call took. ``... texts WORKER COUNT`` prints ``ready``, waits for a
line on stdin (so several workers start at once), then compresses ``COUNT`` texts of its own and
``COUNT`` shared by every worker, and prints the counters. Any error ends it with a traceback.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

_LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]


def log_text(seed: int, lines: int = 1500) -> str:
    """An application log with repeated templates, ids and a few errors."""
    rng = random.Random(seed)
    out = []
    for n in range(lines):
        level = rng.choice(_LEVELS)
        what = rng.choice(["GET /api/orders/%d 200 %dms", "cache miss key=product:%d in %dms",
                           "worker %d finished job in %dms", "db pool timeout after %d ms (active=%d)"])  # fmt: skip
        out.append(
            f"2026-03-14T09:{n // 60 % 60:02d}:{n % 60:02d}Z {level} {what % (rng.randint(1, 9999), rng.randint(1, 900))}"
        )
    return "\n".join(out) + "\n"


def json_text(seed: int, records: int = 250) -> str:
    """A JSON API page of records, a few of them failures."""
    rng = random.Random(seed)
    data = [{"id": f"ord_{seed}_{i}", "status": 502 if i % 97 == 5 else 200, "amount": rng.randint(100, 9000),
             "customer": {"id": f"cus_{rng.randint(1, 400)}", "tier": rng.choice(["free", "pro"])}}
            for i in range(records)]  # fmt: skip
    return json.dumps({"data": data, "has_more": False}, indent=2)


def code_text(seed: int, functions: int = 60) -> str:
    """A Python module read with line numbers (``cat -n`` style)."""
    lines = [f"# module {seed}", "import os", ""]
    for f in range(functions):
        lines += [f"def handler_{seed}_{f}(request, retries={f % 4}):", f'    """Handle request kind {f}."""',
                  "    total = 0", "    for item in request.items:", "        total += item.amount * retries",
                  "    if total > 1000:", "        raise ValueError(total)", "    return total", ""]  # fmt: skip
    return "\n".join(f"{n:6d}\t{line}" for n, line in enumerate(lines, 1)) + "\n"


def grep_text(seed: int, hits: int = 400) -> str:
    """``grep -rn`` output over a source tree."""
    rng = random.Random(seed)
    return "".join(f"src/pkg{rng.randint(1, 30)}/mod{rng.randint(1, 9)}.py:{rng.randint(1, 900)}:"
                   f"    raise ValueError('bad value {rng.randint(1, 99)}')\n" for _ in range(hits))  # fmt: skip


def diff_text(seed: int, files: int = 12) -> str:
    """A ``git diff`` of several files, long added hunks included."""
    out = []
    for f in range(files):
        out += [f"diff --git a/src/f{seed}_{f}.py b/src/f{seed}_{f}.py", "index 1a2b3c4..5d6e7f8 100644",
                f"--- a/src/f{seed}_{f}.py", f"+++ b/src/f{seed}_{f}.py", "@@ -1,3 +1,80 @@", " import os"]  # fmt: skip
        out += [f"+value_{f}_{n} = compute({n}, seed={seed})" for n in range(78)]
        out.append("-old = None")
    return "\n".join(out) + "\n"


def failing_tests(seed: int) -> str:
    """A failing test run: many passing lines, then a traceback and a non-zero exit."""
    passed = [f"tests/test_mod{n}.py::test_case_{n} PASSED" for n in range(300)]
    trace = ["Traceback (most recent call last):", f'  File "src/pkg/mod{seed}.py", line 12, in run',
             "    total += item.amount", "TypeError: unsupported operand type(s) for +=: 'int' and 'NoneType'"]  # fmt: skip
    return "\n".join([*passed, *trace, "FAILED tests/test_mod3.py::test_total", "exit code 1"]) + "\n"


def conversation() -> list[dict[str, Any]]:
    """The 50-message coding conversation: a system prompt, 12 turns of four messages, a last question."""
    makers = [("read_log", log_text), ("http_get", json_text), ("read_file", code_text), ("grep", grep_text),
              ("git_diff", diff_text), ("run_tests", failing_tests)]  # fmt: skip
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a coding agent."}]
    for turn in range(12):
        tool, make = makers[turn % len(makers)]
        call = f"call_{turn}"
        messages += [
            {"role": "user", "content": f"Step {turn}: why does the order service fail with {tool}?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": call, "type": "function",
             "function": {"name": tool, "arguments": json.dumps({"path": f"src/f{turn}.py"})}}]},
            {"role": "tool", "tool_call_id": call, "content": make(turn)},
            {"role": "assistant", "content": f"Step {turn}: read it."},
        ]  # fmt: skip
    messages.append({"role": "user", "content": "Summarise what you found."})
    return messages


def counters(cache: Any) -> dict[str, int]:
    return {"hits": cache.hits, "misses": cache.misses, "writes": cache.writes, "errors": cache.errors}


def main(argv: list[str]) -> None:
    url, mode, *rest = argv
    options = dict(zip(rest[::2], rest[1::2], strict=True)) if mode == "conversation" else {}
    if "--version" in options:
        from headroom import _version

        _version.__version__ = options["--version"]
    from headroom import Config, Headroom

    config = Config(store=url, cache_bytes=int(options.get("--cache-bytes", 256 << 20)), fresh_turns=0,
                    offload_chars=0)  # fmt: skip
    hr = Headroom(config)
    cache = hr._pipeline.cache
    if mode == "conversation":
        hr.warm()  # the tokenizer, the compressors and the cache's file loaded outside the timing
        started = time.perf_counter()
        result = hr.compress(conversation())
        ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"messages": result.messages, "ms": ms, **counters(cache)}))
    else:
        worker, count = int(rest[0]), int(rest[1])
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(count):
            for text in (log_text(1000 * (worker + 1) + n, 300), log_text(n, 300)):
                if hr.compress_text(text).outcome != "compressed":
                    raise AssertionError(f"worker {worker}: text {n} was not compressed")
        print(json.dumps(counters(cache)))
    hr.close()


if __name__ == "__main__":
    main(sys.argv[1:])
