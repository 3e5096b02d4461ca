"""The proxy's cost: added latency, streaming time to first byte, concurrency and memory.

A fake upstream (chat completions, JSON and SSE, answering at once) runs in this process; the proxy
runs as ``headroom proxy`` in a subprocess, as users run it. Medians over many requests on keep-alive
connections:

- added latency with nothing to compress: through the proxy minus straight to the upstream (< 2 ms);
- with 100 KB of tool output (a different log each time, so every request compresses afresh): the
  added latency minus the core's compression time (``Headroom.acompress`` inside the proxy, which
  reports it in ``x-headroom-compress-ms``) (< 3 ms);
- streaming time to first byte added, nothing to compress (< 2 ms);
- 200 concurrent streaming requests: no errors; memory: the proxy's RSS after 1,000 and after 5,000
  requests (flat: under 20 MB of growth).
- under load: 200 slow streams open and two large compressions (4 MB of tool output each) running, the
  added latency of small requests made one after another meanwhile from another process (p50, p99 <
  50 ms), and errors (0).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._core import Check, Context, Section
from ._format import fmt_ms, mark

RUNS = 200
IDLE_TARGET_MS, COMPRESS_TARGET_MS, TTFB_TARGET_MS = 2.0, 3.0, 2.0
CONCURRENT = 200
MEMORY_REQUESTS = 5000
MEMORY_TARGET_MB = 20.0
LOAD_P99_TARGET_MS = 50.0
LARGE_BYTES = 4_000_000
SLOW_EVENTS, SLOW_EVENT_S = 15, 0.2  # a slow stream lasts about 3 s, 5 events a second


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _upstream() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    message = {"role": "assistant", "content": "ok"}
    reply = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
             "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}  # fmt: skip
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": message}]}  # fmt: skip
    chunks = [f"data: {json.dumps(chunk)}\n\n".encode(), b"data: [DONE]\n\n"]

    async def chat(request: Request) -> Response:
        body = await request.json()
        if body.get("stream"):
            slow = body.get("model") == "slow"

            async def events() -> Any:
                for _ in range(SLOW_EVENTS if slow else 0):
                    yield chunks[0]
                    await asyncio.sleep(SLOW_EVENT_S)
                for chunk in chunks:
                    yield chunk

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(reply)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


class _Thread:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _proxy(upstream_port: int, store: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _port()
    env = {**os.environ, "HEADROOM_STORE": store}
    command = [sys.executable, "-m", "headroom", "proxy", "--port", str(port),
               "--openai-url", f"http://127.0.0.1:{upstream_port}/v1"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the proxy did not start")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _log(seed: int, size: int = 100_000) -> str:
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        level = "ERROR" if rng.random() < 0.02 else "INFO"
        stamp = f"2026-03-14T09:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"
        job = f"job {rng.randint(1, 99999)} finished in {rng.randint(1, 900)}ms"
        lines.append(f"{stamp} {level} worker[{rng.randint(1, 8)}]: {job}")
        total += len(lines[-1]) + 1
    return "\n".join(lines)


def _messages(output: str | None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "what failed?"}]
    if output is not None:
        call = {"id": "c1", "type": "function", "function": {"name": "read_logs", "arguments": "{}"}}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": output},
        ]
    return messages


def _timed(client: Any, url: str, body: dict[str, Any], core: list[float] | None = None) -> float:
    """Milliseconds of one request; ``core`` collects the proxy's own compression time (its header)."""
    started = time.perf_counter()
    reply = client.post(url, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    reply.raise_for_status()
    if core is not None:
        core.append(float(reply.headers.get("x-headroom-compress-ms", "nan")))
    return elapsed


def _ttfb(client: Any, url: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    first = float("nan")
    with client.stream("POST", url, json=body) as reply:
        for _ in reply.iter_raw():
            if first != first:  # NaN: the first chunk
                first = (time.perf_counter() - started) * 1000
    return first


async def _concurrent(url: str) -> int:
    import httpx

    body = {"model": "m", "stream": True, "messages": _messages(None)}
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one() -> bool:
            async with client.stream("POST", url, json=body) as reply:
                data = b"".join([chunk async for chunk in reply.aiter_raw()])
                return reply.status_code == 200 and data.endswith(b"data: [DONE]\n\n")

        results = await asyncio.gather(*(one() for _ in range(CONCURRENT)), return_exceptions=True)
    return sum(1 for r in results if r is not True)


async def _under_load(proxied: str, direct: str) -> tuple[list[float], int]:
    """Added latency of small requests while 200 slow streams and two large compressions run. The
    probes run on their own thread with their own client, so the load's client never delays them."""
    import httpx

    slow = json.dumps({"model": "slow", "stream": True, "messages": _messages(None)}).encode()
    large = [json.dumps({"model": "m", "messages": _messages(_log(1000 + seed, LARGE_BYTES))}).encode()
             for seed in range(2)]  # fmt: skip
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=CONCURRENT + 10)
    stop = Path(tempfile.mkdtemp(prefix="headroom-probe-")) / "stop"

    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def stream() -> bool:
            async with client.stream("POST", proxied, content=slow, headers=headers) as reply:
                data = b"".join([chunk async for chunk in reply.aiter_raw()])
                return reply.status_code == 200 and data.endswith(b"data: [DONE]\n\n")

        async def post(body: bytes) -> bool:
            reply = await client.post(proxied, content=body, headers=headers)
            return reply.status_code == 200

        background = [asyncio.ensure_future(stream()) for _ in range(CONCURRENT)]
        background += [asyncio.ensure_future(post(body)) for body in large]
        await asyncio.sleep(0.3)  # the streams are open and the large bodies are on their way
        prober = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._proxy", proxied, direct, str(stop),
            cwd=Path(__file__).resolve().parent.parent, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        results = await asyncio.gather(*background, return_exceptions=True)
        stop.touch()
        output, _ = await asyncio.wait_for(prober.communicate(), 120)
    errors = sum(1 for r in results if r is not True)
    return json.loads(output.decode().strip().splitlines()[-1]), errors


def _probe(proxied: str, direct: str, stop: Path) -> list[float]:
    """Small requests one after another until ``stop`` exists, in a process of their own (so the
    load's client never delays them): added latency, through the proxy minus straight to upstream."""
    import httpx

    small = {"model": "m", "messages": _messages(None)}
    added: list[float] = []
    with httpx.Client(timeout=120) as client:
        for _ in range(20):
            _timed(client, proxied, small)
        while not stop.exists():
            added.append(_timed(client, proxied, small) - _timed(client, direct, small))
    return added


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_proxy(ctx: Context) -> Section:
    import httpx

    section = Section("proxy", "proxy: headroom proxy (subprocess) in front of a fake upstream",
                      ["measure", "value", "target"], text_columns=1)  # fmt: skip
    upstream = _Thread(_upstream())
    direct = f"http://127.0.0.1:{upstream.port}/v1/chat/completions"
    with tempfile.TemporaryDirectory(prefix="headroom-proxy-") as tmp:
        process, port = _proxy(upstream.port, f"sqlite:///{tmp}/store.db")
        proxied = f"http://127.0.0.1:{port}/v1/chat/completions"
        try:
            ctx.say("proxy: added latency")
            with httpx.Client(timeout=60) as client:
                small = {"model": "m", "messages": _messages(None)}
                for _ in range(20):  # warm both paths
                    _timed(client, direct, small)
                    _timed(client, proxied, small)
                idle = statistics.median(_timed(client, proxied, small) - _timed(client, direct, small)
                                         for _ in range(RUNS))  # fmt: skip
                stream = {**small, "stream": True}
                ttfb = statistics.median(_ttfb(client, proxied, stream) - _ttfb(client, direct, stream)
                                         for _ in range(RUNS))  # fmt: skip
                added: list[float] = []
                core: list[float] = []  # Headroom.acompress inside the proxy, from its response header
                for seed in range(100):
                    body = {"model": "m", "messages": _messages(_log(seed))}
                    added.append(_timed(client, proxied, body, core) - _timed(client, direct, body))
                beyond = statistics.median(a - c for a, c in zip(added, core, strict=True))
                compress_ms, core_ms = statistics.median(added), statistics.median(core)
            ctx.say("proxy: 200 concurrent streams")
            failures = asyncio.run(_concurrent(proxied))
            ctx.say("proxy: small requests under load (200 slow streams, two 4 MB compressions)")
            loaded, load_errors = asyncio.run(_under_load(proxied, direct))
            load_p50 = statistics.median(loaded) if loaded else float("nan")
            load_p99 = _percentile(loaded, 0.99)
            ctx.say(f"proxy: memory over {MEMORY_REQUESTS} requests")
            with httpx.Client(timeout=60) as client:
                bodies = [{"model": "m", "messages": _messages(_log(seed, 5_000))} for seed in range(50)]
                rss = []
                for number in range(MEMORY_REQUESTS):
                    client.post(proxied, json=bodies[number % len(bodies)] if number % 2 else small)
                    if number + 1 in (1000, MEMORY_REQUESTS):
                        rss.append(_rss_mb(process.pid))
            growth = rss[1] - rss[0]
        finally:
            process.terminate()
            process.wait(timeout=10)
            upstream.stop()

    def target(limit: float, value: float) -> str:
        return mark(f"< {limit:g} ms", value < limit)

    section.rows += [
        ["added latency, nothing to compress (median)", f"{fmt_ms(idle)} ms", target(IDLE_TARGET_MS, idle)],
        ["added latency, 100 KB tool output (median)", f"{fmt_ms(compress_ms)} ms", "-"],
        ["  of which the core's compression (median)", f"{fmt_ms(core_ms)} ms", "-"],
        ["  beyond the core", f"{fmt_ms(beyond)} ms", target(COMPRESS_TARGET_MS, beyond)],
        ["streaming time to first byte added (median)", f"{fmt_ms(ttfb)} ms", target(TTFB_TARGET_MS, ttfb)],
        [f"{CONCURRENT} concurrent streaming requests: failures", str(failures), mark("0", failures == 0)],
        [f"under load: small requests added latency p50 ({len(loaded)})", f"{fmt_ms(load_p50)} ms", "-"],
        [
            "under load: small requests added latency p99",
            f"{fmt_ms(load_p99)} ms",
            target(LOAD_P99_TARGET_MS, load_p99),
        ],
        ["under load: errors", str(load_errors), mark("0", load_errors == 0)],
        [
            f"proxy RSS after 1,000 / {MEMORY_REQUESTS:,} requests",
            f"{rss[0]:.0f} / {rss[1]:.0f} MB",
            mark(f"growth < {MEMORY_TARGET_MB:g} MB", growth < MEMORY_TARGET_MB),
        ],
    ]
    section.checks += [
        Check("proxy adds < 2 ms with nothing to compress", idle < IDLE_TARGET_MS, f"{fmt_ms(idle)} ms"),
        Check("proxy adds < 3 ms beyond the core with 100 KB of tool output", beyond < COMPRESS_TARGET_MS,
              f"{fmt_ms(beyond)} ms ({fmt_ms(compress_ms)} ms in all, core {fmt_ms(core_ms)} ms)"),
        Check("proxy adds < 2 ms to streaming time to first byte", ttfb < TTFB_TARGET_MS,
              f"{fmt_ms(ttfb)} ms"),
        Check("proxy: 200 concurrent streams without an error", failures == 0, f"{failures} failed"),
        Check("proxy: small requests under load, p99 added latency < 50 ms", load_p99 < LOAD_P99_TARGET_MS,
              f"p99 {fmt_ms(load_p99)} ms, p50 {fmt_ms(load_p50)} ms over {len(loaded)} requests"),
        Check("proxy: no error under load", load_errors == 0, f"{load_errors} errors"),
        Check("proxy memory flat over 5,000 requests", growth < MEMORY_TARGET_MB, f"{growth:+.1f} MB"),
    ]  # fmt: skip
    section.data = {"idle_ms": idle, "compress_ms": compress_ms, "core_ms": core_ms, "beyond_ms": beyond,
                    "ttfb_ms": ttfb, "concurrent_failures": failures, "rss_mb": rss,
                    "load_p50_ms": load_p50, "load_p99_ms": load_p99, "load_requests": len(loaded),
                    "load_errors": load_errors}  # fmt: skip
    return section


if __name__ == "__main__":  # the probe process of ``_under_load``
    print(json.dumps(_probe(sys.argv[1], sys.argv[2], Path(sys.argv[3]))))
