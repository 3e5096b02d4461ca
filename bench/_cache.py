"""The shared compression cache: what the same conversation costs a second process.

The 50-message history of the ``conversation`` section (12 turns whose tool results are corpus files:
logs, JSON, grep hits, code, a git log, prose) is compressed by a fresh ``python`` process on an empty
store directory, then by a second fresh process on the same directory, which finds every block in
``cache.db``. Each process loads the tokenizer, the compressors and the files first (``warm``) and
times ``compress`` alone, as a proxy or an MCP server started by another agent does after its start-up.
A third process with the cache off shows what the first one's lookups and writes cost.
Medians of ``RUNS`` directories; target: the second process at least 20x faster, byte for byte the
same messages. Every other section runs with the cache off (``HEADROOM_CACHE_BYTES=0``, set by
``bench.__main__``): their timings are of compression.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ._conversation import _tool_results, conversation
from ._core import Check, Context, Section
from ._format import fmt_ms, mark

RUNS = 5
TARGET = 20.0
_CHILD = """
import json, sys, time
from headroom import Config, Headroom
store, history = sys.argv[1], json.loads(open(sys.argv[2], encoding="utf-8").read())
hr = Headroom(Config(store=store, cache_bytes=int(sys.argv[3])))
hr.warm()
hr.compress([{"role": "user", "content": "warm up"}])  # opens the store and the ledger
started = time.perf_counter()
result = hr.compress(history)
ms = (time.perf_counter() - started) * 1000
cache = hr._pipeline.cache
print(json.dumps({"ms": ms, "hits": cache.hits, "misses": cache.misses, "messages": result.messages}))
hr.close()
"""


def _process(store: str, history: Path, cache_bytes: int = 256 << 20) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if key != "HEADROOM_CACHE_BYTES"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, store, str(history), str(cache_bytes)], capture_output=True,
        text=True, env=env, timeout=600, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def run_cache(ctx: Context) -> Section:
    """A 50-message conversation compressed by a first and by a second fresh process."""
    section = Section("cache", "shared compression cache: the same conversation in a second process",
                      ["measure", "result", "target"], text_columns=1)  # fmt: skip
    history = [*conversation(_tool_results(ctx.data_dir), 12), {"role": "user", "content": "Summarise."}]
    assert len(history) == 50
    first: list[float] = []
    second: list[float] = []
    off: list[float] = []
    same = True
    hits = 0
    with tempfile.TemporaryDirectory(prefix="headroom-cache-") as tmp:
        source = Path(tmp) / "history.json"
        source.write_text(json.dumps(history), encoding="utf-8")
        for run in range(RUNS):
            ctx.say(f"cache: run {run + 1} of {RUNS}, two fresh processes")
            store = f"sqlite:///{tmp}/run{run}/store.db"
            Path(tmp, f"run{run}").mkdir()
            cold, warm = _process(store, source), _process(store, source)
            Path(tmp, f"off{run}").mkdir()
            off.append(float(_process(f"sqlite:///{tmp}/off{run}/store.db", source, 0)["ms"]))  # type: ignore[arg-type]
            first.append(float(cold["ms"]))  # type: ignore[arg-type]
            second.append(float(warm["ms"]))  # type: ignore[arg-type]
            same = same and cold["messages"] == warm["messages"]
            hits = int(warm["hits"])  # type: ignore[call-overload]
    first_ms, second_ms, off_ms = statistics.median(first), statistics.median(second), statistics.median(off)
    speedup = first_ms / second_ms
    section.rows += [
        ["50 messages, a process with the cache off", fmt_ms(off_ms), ""],
        ["50 messages, first process (empty cache: lookups and writes)", fmt_ms(first_ms), ""],
        [f"50 messages, second process ({hits} blocks found)", fmt_ms(second_ms), ""],
        ["first / second", mark(f"{speedup:.0f}x", speedup >= TARGET), f">= {TARGET:g}x"],
        ["the same messages, byte for byte", mark("yes" if same else "no", same), "yes"],
    ]
    detail = f"{first_ms:.0f} ms -> {second_ms:.1f} ms ({speedup:.0f}x)"
    name = f"shared cache: a second process >= {TARGET:g}x faster"
    section.checks.append(Check(name, speedup >= TARGET, detail))
    section.checks.append(Check("shared cache: the same messages", same, "identical" if same else "differ"))
    section.data.update(first_ms=first, second_ms=second, off_ms=off, hits=hits)
    return section
