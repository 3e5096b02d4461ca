"""MCP and memory: what a tool call costs beyond the core work, and the shared memory at 100,000 notes.

- MCP overhead: ``headroom_retrieve`` (a 20-line page of a stored log) and ``memory_search`` through
  the SDK's ``Client``, in memory and over streamable HTTP at a running proxy's ``/mcp`` (a real
  ``headroom proxy`` process), minus the same work called directly on an engine on the same store
  (medians of ``CALLS`` calls in one session; targets < 2 ms in memory, < 5 ms over HTTP).
- Memory: ``NOTES`` generated notes over 20 projects, imported (the save path: deduplication
  included), then ``memory.search`` in one project and the global scope (target < 20 ms median) and
  ``memory.save`` of new notes (< 5 ms median), and how many reworded notes a save recognises.

The notes are generated: a Zipf vocabulary of 20,000 words, common English words, numbers and paths,
6-25 words a note, so common words are as common as in real notes (the expensive case for BM25).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._core import Check, Context, Section, median, median_ms
from ._format import mark
from ._proxy import _log, _proxy, _Thread, _upstream

CALLS = 300
NOTES = 100_000
PROJECTS = 20
QUERIES = 200
IN_MEMORY_MS, HTTP_MS, SEARCH_MS, SAVE_MS = 2.0, 5.0, 20.0, 5.0
_COMMON = "the a to of and in is for on with uses needs runs build test file config before after".split()


class _Notes:
    """Generated notes: Zipf-distributed words, a few common ones, sometimes a number or a path."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = "ka to ri men sa lo vin der pa qu ex on al tre mo ne si gra bu fe".split()
        words = (
            "".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 4))) for _ in range(60_000)
        )
        self.vocab = list(dict.fromkeys(words))[:20_000]
        self.weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(self.vocab))))

    def text(self) -> str:
        rng = self.rng
        words = rng.choices(self.vocab, cum_weights=self.weights, k=rng.randint(6, 25))
        words += rng.sample(_COMMON, 4)
        rng.shuffle(words)
        if rng.random() < 0.3:
            words.append(rng.choice([f"port {rng.randint(1000, 9999)}", f"src/{rng.choice(self.vocab)}.py"]))
        return " ".join(words)

    def query(self) -> str:
        picks = self.rng.choices(self.vocab[:2000], cum_weights=self.weights[:2000], k=self.rng.randint(2, 4))
        return " ".join(picks)


async def _timed_async(call: Callable[[], Awaitable[Any]], count: int) -> float:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - start) * 1000)
        assert not result.is_error, result.content
    return median(times)


def _overhead(tmp: Path, say: Callable[[str], None]) -> dict[str, float]:
    """Medians (ms) of the direct calls and of the same calls through MCP, in memory and over HTTP."""
    from headroom import Config, Headroom
    from headroom_mcp import create_server
    from mcp import Client

    store = f"sqlite:///{tmp}/mcp/store.db"
    hr = Headroom(Config(store=store))
    ref = hr.compress_text(_log(3)).ref
    assert ref is not None
    for i in range(200):
        hr.memory.save(f"note {i}: the service s{i % 17} needs flag f{i} before deploys", [], "")
    page = {"ref": ref, "query": None, "offset": 0, "lines": "1-20"}
    search = {"query": "service deploys flag"}
    direct = {
        "retrieve": median_ms(lambda: hr.answer_tool_call(page), CALLS),
        "search": median_ms(lambda: hr.memory.search(search["query"], [""], 10), CALLS),
    }

    async def through(client: Client) -> dict[str, float]:
        await client.call_tool("headroom_retrieve", page)  # the session's first call: warm
        return {
            "retrieve": await _timed_async(lambda: client.call_tool("headroom_retrieve", page), CALLS),
            "search": await _timed_async(lambda: client.call_tool("memory_search", search), CALLS),
        }

    async def in_memory() -> dict[str, float]:
        async with Client(create_server(headroom=hr)) as client:
            return await through(client)

    say("mcp: tool calls in memory")
    memory = asyncio.run(in_memory())
    hr.close()
    say("mcp: tool calls over streamable HTTP at a running proxy")
    upstream = _Thread(_upstream())
    process, port = _proxy(upstream.port, store)

    async def over_http() -> dict[str, float]:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            return await through(client)

    try:
        sdk = asyncio.run(over_http())
        http = _raw_http(f"http://127.0.0.1:{port}/mcp", {"headroom_retrieve": page, "memory_search": search})
    finally:
        process.terminate()
        process.wait(timeout=30)
        upstream.stop()
    return {f"{where}_{tool}": value for where, values in (("direct", direct), ("memory", memory),
            ("sdk", sdk), ("http", http)) for tool, value in values.items()}  # fmt: skip


def _raw_http(url: str, calls: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Medians (ms) of JSON-RPC ``tools/call`` POSTs in one MCP session, as a lean client (an agent's
    own, in Node or Rust) sends them: the server's and the loopback's share, without the Python SDK
    client's own (which costs more than the server on this machine)."""
    import httpx

    version = "2025-06-18"
    headers = {"accept": "application/json, text/event-stream", "mcp-protocol-version": version}
    hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    out: dict[str, float] = {}
    with httpx.Client(headers=headers, timeout=30) as http:
        opened = http.post(url, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello})
        opened.raise_for_status()
        if opened.headers.get("mcp-session-id"):
            http.headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}).raise_for_status()
        for (name, arguments), label in zip(calls.items(), ("retrieve", "search"), strict=True):
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": name, "arguments": arguments},
            }

            def call(body: dict[str, Any] = body) -> None:
                answer = http.post(url, json=body)
                answer.raise_for_status()
                assert not answer.json()["result"]["isError"], answer.text

            out[label] = median_ms(call, CALLS)
    return out


def _memory(tmp: Path, say: Callable[[str], None]) -> dict[str, float]:
    from headroom.integration import GLOBAL_SCOPE, Memory

    notes = _Notes(19)
    memory = Memory(tmp / "memory" / "memory.db")
    say(f"memory: importing {NOTES:,} generated notes")
    records = [{"text": notes.text(), "project": f"/work/p{i % PROJECTS}"} for i in range(NOTES)]
    start = time.perf_counter()
    counts = memory.import_(records)
    imported = time.perf_counter() - start
    queries = [notes.query() for _ in range(QUERIES)]
    say("memory: searching and saving")
    times, hits = [], 0
    for number, query in enumerate(queries):
        start = time.perf_counter()
        found = memory.search(query, [f"/work/p{number % PROJECTS}", GLOBAL_SCOPE], 10)
        times.append((time.perf_counter() - start) * 1000)
        hits += bool(found)
    search = median(times)
    saves = []
    for number in range(QUERIES):
        text = notes.text()
        start = time.perf_counter()
        memory.save(text, ["bench"], f"/work/p{number % PROJECTS}")
        saves.append((time.perf_counter() - start) * 1000)
    reworded = 0
    for record in records[:QUERIES]:
        words = record["text"].split()
        notes.rng.shuffle(words)
        reworded += memory.save(" ".join(words[:-1]), [], record["project"]).status == "updated"
    count = memory.count()
    memory.close()
    return {
        "notes": float(count),
        "import_s": imported,
        "duplicates_at_import": float(counts["duplicate"] + counts["updated"]),
        "search_ms": search,
        "search_hit_share": hits / QUERIES,
        "save_ms": median(saves),
        "reworded_found": reworded / QUERIES,
    }


def run_mcp(ctx: Context) -> Section:
    """MCP tool-call overhead (in memory, over HTTP) and the shared memory at 100,000 notes."""
    import logging

    logging.getLogger("httpx2").setLevel(logging.WARNING)  # the SDK client logs every request at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)
    columns = ["measure", "median ms", "target"]
    section = Section("mcp", "MCP server and shared memory", columns, text_columns=1)
    with tempfile.TemporaryDirectory(prefix="headroom-mcp-") as tmp:
        calls = _overhead(Path(tmp), ctx.say)
        notes = _memory(Path(tmp), ctx.say)
    for tool in ("retrieve", "search"):
        direct = calls[f"direct_{tool}"]
        section.rows.append([f"{tool}: called on the engine", f"{direct:.3f}", ""])
        for where, target in (("memory", IN_MEMORY_MS), ("http", HTTP_MS)):
            extra = calls[f"{where}_{tool}"] - direct
            label = "in memory" if where == "memory" else "over HTTP (/mcp on the proxy, JSON-RPC POST)"
            section.rows.append([f"  through MCP {label}: overhead", mark(f"{extra:.3f}", extra < target),
                                 f"< {target:g}"])  # fmt: skip
            section.checks.append(Check(f"MCP {tool} overhead {label} < {target:g} ms", extra < target,
                                        f"{extra:.2f} ms"))  # fmt: skip
        sdk = calls[f"sdk_{tool}"] - direct
        section.rows.append(
            ["  through the Python SDK's Client over HTTP (its own cost included)", f"{sdk:.3f}", ""]
        )
    section.rows += [
        [f"memory: import of {NOTES:,} notes (saves, deduplicated), s", f"{notes['import_s']:.1f}", ""],
        ["memory: search, one project + global (median)", mark(f"{notes['search_ms']:.3f}",
         notes["search_ms"] < SEARCH_MS), f"< {SEARCH_MS:g}"],
        ["memory: save (median)", mark(f"{notes['save_ms']:.3f}", notes["save_ms"] < SAVE_MS),
         f"< {SAVE_MS:g}"],
        ["memory: reworded notes recognised on save", f"{notes['reworded_found']:.0%}", ""],
        ["memory: searches with a hit", f"{notes['search_hit_share']:.0%}", ""],
    ]  # fmt: skip
    section.checks.append(Check(f"memory search over {NOTES:,} notes < {SEARCH_MS:g} ms median",
                                notes["search_ms"] < SEARCH_MS, f"{notes['search_ms']:.2f} ms"))  # fmt: skip
    section.checks.append(Check(f"memory save < {SAVE_MS:g} ms median", notes["save_ms"] < SAVE_MS,
                                f"{notes['save_ms']:.2f} ms"))  # fmt: skip
    section.data.update(calls=calls, memory=notes)
    return section
