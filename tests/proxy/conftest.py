"""A real proxy and a fake upstream, both served by uvicorn on loopback, for the official SDKs.

The fake upstream answers in the providers' formats (JSON and SSE, text and tool calls) from a script:
each reply is ``Text("...")`` or ``Calls([(name, arguments), ...])``, or a function of the request
body returning one. It records every request it receives (path, headers, JSON body).
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import uvicorn
from headroom import Config, Headroom
from headroom_proxy import ProxySettings, create_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Text:
    text: str


@dataclass
class Calls:
    calls: list[tuple[str, dict[str, Any]]]
    text: str = ""
    thinking: str = ""  # Anthropic: a thinking block (with its signature) before the rest


@dataclass
class Raw:
    """Bytes answered as they are (malformed answers): one body, or stream chunks."""

    content: bytes | list[bytes]


Reply = Text | Calls | Raw | Callable[[dict[str, Any]], "Text | Calls | Raw"]
USAGE = {"prompt": 100, "completion": 10, "cached": 60, "read": 4000, "written": 300}
# Anthropic's prompt usage as it reports it: input after the last breakpoint, cache reads and writes
CACHE_USAGE = {"cache_read_input_tokens": USAGE["read"], "cache_creation_input_tokens": USAGE["written"],
               "cache_creation": {"ephemeral_5m_input_tokens": USAGE["written"], "ephemeral_1h_input_tokens": 0}}  # fmt: skip
SIGNATURE = "EqQBCkgIBRABGAIiQL2x" + "a" * 60  # what a provider signs a thinking block with


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """An ASGI app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                    lifespan="on"))  # fmt: skip
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Fake:
    """The fake upstream's script and what it received."""

    script: list[Reply] = field(default_factory=list)
    received: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    status: int | None = None  # answer every request with this error status
    delay: float = 0.0  # seconds before answering
    together: int = 0  # after the delay, hold a request until this many came to its path (at most 120 s)
    held: list[float] = field(default_factory=list)  # then the n-th request to a path waits held[n] more
    reply_headers: dict[str, str] = field(default_factory=dict)  # added to every answer to a POST
    event_delay: float = 0.0  # seconds between stream events
    fail_after: int | None = None  # break the connection after this many stream events
    cancelled: list[bool] = field(default_factory=list)  # per stream: did it end before its last event
    prompt_cache: bool = False  # Anthropic answers report a prompt cache's usage (``cache_usage``)
    stream_prelude: list[tuple[str, Any]] = field(default_factory=list)  # events before every stream's own
    cached: list[str] = field(default_factory=list)  # that cache: the last prompt's parts

    def cache_usage(self, body: dict[str, Any]) -> dict[str, Any]:
        """Usage as a prompt cache would bill ``body``: the parts (system, tools, each message; 4
        characters a token, ``cache_control`` ignored) it shares from the start with the last prompt
        are read, the rest written for 5 minutes."""
        parts = [json.dumps(_uncontrolled(body.get(k)), sort_keys=True) for k in ("system", "tools")]
        parts += [json.dumps(_uncontrolled(m), sort_keys=True) for m in body.get("messages") or ()]
        same = next((i for i, (a, b) in enumerate(zip(parts, self.cached, strict=False)) if a != b),
                    min(len(parts), len(self.cached)))  # fmt: skip
        self.cached = parts
        read, written = sum(len(p) // 4 for p in parts[:same]), sum(len(p) // 4 for p in parts[same:])
        return {"input_tokens": 1, "cache_read_input_tokens": read, "cache_creation_input_tokens": written,
                "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
                "output_tokens": USAGE["completion"]}  # fmt: skip

    def next(self, body: dict[str, Any]) -> Text | Calls | Raw:
        reply = self.script.pop(0) if self.script else Text("done")
        return reply(body) if callable(reply) else reply

    def bodies(self, path: str) -> list[Any]:
        return [body for p, _, body in self.received if p == path]


def _uncontrolled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _uncontrolled(v) for k, v in value.items() if k != "cache_control"}
    return [_uncontrolled(v) for v in value] if isinstance(value, list) else value


def _sse(events: list[tuple[str | None, Any]]) -> Iterator[bytes]:
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        payload = data if isinstance(data, str) else json.dumps(data)
        yield f"{head}data: {payload}\n\n".encode()


def chat_reply(reply: Text | Calls, stream: bool, model: str) -> Any:
    base = {"id": "chatcmpl-1", "created": 1, "model": model}
    calls = [{"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
             for i, (n, a) in enumerate(reply.calls)] if isinstance(reply, Calls) else []  # fmt: skip
    text = reply.text or None
    finish = "tool_calls" if calls else "stop"
    usage = {"prompt_tokens": USAGE["prompt"], "completion_tokens": USAGE["completion"],
             "total_tokens": USAGE["prompt"] + USAGE["completion"],
             "prompt_tokens_details": {"cached_tokens": USAGE["cached"]}}  # fmt: skip
    if not stream:
        message = {"role": "assistant", "content": text, "tool_calls": calls or None}
        return {**base, "object": "chat.completion", "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}]}  # fmt: skip
    chunk = {**base, "object": "chat.completion.chunk"}
    events: list[tuple[str | None, Any]] = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
    ]
    for word in (text or "").split(" ") if text else []:
        events.append((None, {**chunk, "choices": [{"index": 0, "delta": {"content": word + " "}}]}))
    for i, call in enumerate(calls):
        head = {
            "index": i,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append((None, {**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [head]}}]}))
        arguments = call["function"]["arguments"]
        for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
            events.append(
                (
                    None,
                    {
                        **chunk,
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"tool_calls": [{"index": i, "function": {"arguments": part}}]},
                            }
                        ],
                    },
                )
            )
    events.append((None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    events.append((None, {**chunk, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return events


_TOOL_USE_IDS = itertools.count()  # unique across responses, as a provider's are (clients drop repeats)


def messages_reply(reply: Text | Calls, stream: bool, model: str) -> Any:
    content: list[dict[str, Any]] = []
    if isinstance(reply, Calls) and reply.thinking:
        content.append({"type": "thinking", "thinking": reply.thinking, "signature": SIGNATURE})
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    if isinstance(reply, Calls):
        content += [
            {"type": "tool_use", "id": f"toolu_{next(_TOOL_USE_IDS)}", "name": n, "input": a}
            for n, a in reply.calls
        ]
    stop = "tool_use" if isinstance(reply, Calls) else "end_turn"
    usage = {"input_tokens": USAGE["prompt"], "output_tokens": USAGE["completion"], **CACHE_USAGE}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": content,
               "stop_reason": stop, "stop_sequence": None, "usage": usage}  # fmt: skip
    if not stream:
        return message
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": USAGE["prompt"], "output_tokens": 1, **CACHE_USAGE},
    }
    events: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start}),
                                            ("ping", {"type": "ping"})]  # fmt: skip
    for i, block in enumerate(content):
        if block["type"] == "thinking":  # as the provider streams it: empty start, thinking, signature
            start_block = {"type": "thinking", "thinking": "", "signature": ""}
            events.append(("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": start_block}))  # fmt: skip
            half = len(block["thinking"]) // 2
            for delta in ({"type": "thinking_delta", "thinking": block["thinking"][:half]},
                          {"type": "thinking_delta", "thinking": block["thinking"][half:]},
                          {"type": "signature_delta", "signature": SIGNATURE}):  # fmt: skip
                events.append(
                    ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta})
                )
        elif block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": i,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": i,
                        "delta": {"type": "text_delta", "text": block["text"]},
                    },
                )
            )
        else:
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}},
                )
            )
            partial = json.dumps(block["input"])
            for part in (partial[: len(partial) // 2], partial[len(partial) // 2 :]):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": i,
                            "delta": {"type": "input_json_delta", "partial_json": part},
                        },
                    )
                )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": USAGE["completion"]}}))  # fmt: skip
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def responses_reply(reply: Text | Calls, stream: bool, model: str, number: int, store: bool = True) -> Any:
    output: list[dict[str, Any]] = []
    if reply.text:
        output.append({"type": "message", "id": f"msg_{number}", "status": "completed", "role": "assistant",
                       "content": [{"type": "output_text", "text": reply.text, "annotations": []}]})  # fmt: skip
    if isinstance(reply, Calls):
        output += [{"type": "function_call", "id": f"fc_{number}_{i}", "call_id": f"call_{number}_{i}", "name": n,
                    "arguments": json.dumps(a), "status": "completed"} for i, (n, a) in enumerate(reply.calls)]  # fmt: skip
    usage = {"input_tokens": USAGE["prompt"], "output_tokens": USAGE["completion"],
             "total_tokens": USAGE["prompt"] + USAGE["completion"],
             "input_tokens_details": {"cached_tokens": USAGE["cached"]},
             "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip
    response = {"id": f"resp_{number}", "object": "response", "created_at": 1, "model": model, "status": "completed",
                "output": output, "usage": usage, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                "store": store}  # fmt: skip
    if not stream:
        return response
    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str | None, Any]] = [("response.created", {"type": "response.created", "response": pending}),
                                            ("response.in_progress", {"type": "response.in_progress", "response": pending})]  # fmt: skip
    for index, item in enumerate(output):
        events.append(("response.output_item.added", {"type": "response.output_item.added", "output_index": index,
                                                      "item": {**item, "status": "in_progress"}}))  # fmt: skip
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(("response.output_text.delta", {"type": "response.output_text.delta", "item_id": item["id"],
                                                          "output_index": index, "content_index": 0, "delta": text}))  # fmt: skip
        else:
            events.append(("response.function_call_arguments.delta", {"type": "response.function_call_arguments.delta",
                           "item_id": item["id"], "output_index": index, "delta": item["arguments"]}))  # fmt: skip
        events.append(
            (
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": index, "item": item},
            )
        )
    events.append(("response.completed", {"type": "response.completed", "response": response}))
    return [(name, {**data, "sequence_number": n}) for n, (name, data) in enumerate(events)]


async def _paced(fake: Fake, chunks: list[bytes]) -> Any:
    import asyncio

    finished = False
    try:
        for number, chunk in enumerate(chunks):
            if fake.fail_after is not None and number >= fake.fail_after:
                raise ConnectionResetError("the fake upstream breaks off mid-stream")
            if fake.event_delay:
                await asyncio.sleep(fake.event_delay)
            yield chunk
        finished = True
    finally:
        fake.cancelled.append(not finished)


def fake_upstream(fake: Fake) -> Starlette:
    async def handle(request: Request) -> Response:
        response = await answer(request)
        response.headers.update(fake.reply_headers)
        return response

    async def answer(request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        fake.received.append((request.url.path, dict(request.headers), body))
        if fake.delay:
            import asyncio

            await asyncio.sleep(fake.delay)
        if fake.together:
            import asyncio

            arrival = len(fake.bodies(request.url.path)) - 1
            for _ in range(2400):
                if len(fake.bodies(request.url.path)) >= fake.together:
                    break
                await asyncio.sleep(0.05)
            if arrival < len(fake.held):
                await asyncio.sleep(fake.held[arrival])
        path = request.url.path
        if fake.status is not None:
            shape = ({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}} if "messages" in path
                     else {"error": {"message": "busy", "type": "server_error", "param": None, "code": None}})  # fmt: skip
            return JSONResponse(shape, fake.status)
        if not isinstance(body, dict):
            return JSONResponse(
                {"error": {"message": "We could not parse the JSON body", "type": "invalid_request_error"}},
                400,
            )
        if path.endswith("/count_tokens"):
            return JSONResponse({"input_tokens": len(json.dumps(body)) // 4})
        reply = fake.next(body)
        stream = body.get("stream") is True
        if isinstance(reply, Raw):
            if isinstance(reply.content, bytes):
                return Response(reply.content, 200, media_type="application/json")
            return StreamingResponse(_paced(fake, reply.content), media_type="text/event-stream")
        model = body.get("model", "m")
        if path.endswith("/chat/completions"):
            rendered = chat_reply(reply, stream, model)
        elif path.endswith("/responses"):
            rendered = responses_reply(
                reply, stream, model, len(fake.bodies(path)), body.get("store") is not False
            )
        else:
            rendered = messages_reply(reply, stream, model)
            if fake.prompt_cache and not stream:
                rendered["usage"] = fake.cache_usage(body)
        if not stream:
            return JSONResponse(rendered)
        return StreamingResponse(
            _paced(fake, list(_sse([*fake.stream_prelude, *rendered]))), media_type="text/event-stream"
        )

    async def models(request: Request) -> Response:
        fake.received.append((request.url.path, dict(request.headers), None))
        return JSONResponse(
            {"object": "list", "data": [{"id": "gpt-test", "object": "model", "created": 1, "owned_by": "x"}]}
        )

    return Starlette(routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/{path:path}", handle, methods=["POST"]),
    ])  # fmt: skip


@dataclass
class Stack:
    fake: Fake
    upstream: Server
    proxy: Server
    headroom: Headroom

    @property
    def openai_url(self) -> str:
        return f"{self.proxy.url}/v1"


def make_stack(store_url: str, **settings: Any) -> Stack:
    fake = Fake()
    upstream = Server(fake_upstream(fake))
    # no time budget: a cold first compression on a loaded machine must not pass through unmarked
    hr = Headroom(Config(store=store_url, time_budget=0), source="proxy")
    options = {"read_timeout": 5.0, **settings}
    proxy_settings = ProxySettings(openai_url=f"{upstream.url}/v1", anthropic_url=upstream.url, **options)
    return Stack(fake, upstream, Server(create_app(settings=proxy_settings, headroom=hr)), hr)


def stop(stack: Stack) -> None:
    stack.proxy.stop()
    stack.upstream.stop()
    stack.headroom.close()


@pytest.fixture
def stack(store_url: str) -> Iterator[Stack]:
    built = make_stack(store_url)
    yield built
    stop(built)


@pytest.fixture
def fresh_stack(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A proxy with the freshness rule on: the last two turns' results whole, one turn per batch."""
    for name, value in (("FRESH_TURNS", "2"), ("FRESH_BATCH", "1"), ("FRESH_BATCH_TOKENS", "0"),
                        ("FRESH_MAX_TOKENS", "1000000")):  # fmt: skip
        monkeypatch.setenv(f"HEADROOM_{name}", value)
    built = make_stack(store_url)
    yield built
    stop(built)


@pytest.fixture
def impatient_stack(store_url: str) -> Iterator[Stack]:
    """A proxy that waits half a second for the upstream."""
    built = make_stack(store_url, read_timeout=0.5)
    yield built
    stop(built)


def chat_messages(output: str) -> list[dict[str, Any]]:
    """A chat conversation whose last message is a tool's large output."""
    call = {"id": "c1", "type": "function", "function": {"name": "read_logs", "arguments": "{}"}}
    return [
        {"role": "user", "content": "Why are payments failing?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": output},
    ]


def anthropic_messages(log: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Why are payments failing?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "read_logs", "input": {}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]},
    ]


def responses_input(log: str) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Why are payments failing?"},
        {"type": "function_call", "call_id": "c1", "name": "read_logs", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log},
    ]


T = TypeVar("T")
_CLIENTS: list[Any] = []


def sdk(factory: Callable[..., T], **options: Any) -> T:
    """An official SDK client (``openai.OpenAI``, ``anthropic.Anthropic``), closed after the test: its
    pooled connections never outlive it (an unclosed socket is a warning, an error here)."""
    client = factory(**options)
    _CLIENTS.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_sdk_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def proxy_requests(stack: Stack, at_least: int) -> list[Any]:
    """The proxy's ``request`` ledger events, once at least ``at_least`` are written (5 s at most)."""
    import time

    ledger = stack.headroom.ledger
    assert ledger is not None
    deadline = time.monotonic() + 5
    while True:
        ledger.flush()
        requests = [e for e in ledger.events(source="proxy") if e.event == "request"]
        if len(requests) >= at_least or time.monotonic() > deadline:
            return requests
        time.sleep(0.05)


class Kit:
    chat_messages = staticmethod(chat_messages)
    anthropic_messages = staticmethod(anthropic_messages)
    responses_input = staticmethod(responses_input)
    REF = re.compile(r"headroom_retrieve ref=([0-9a-f]{24})")
    free_port = staticmethod(free_port)
    Text = Text
    Calls = Calls
    Raw = Raw
    Server = Server
    Fake = Fake
    fake_upstream = staticmethod(fake_upstream)
    make_stack = staticmethod(make_stack)
    stop = staticmethod(stop)
    proxy_requests = staticmethod(proxy_requests)


@pytest.fixture
def kit(outputs: Any) -> Any:
    """The helpers above and the generated tool outputs of the root conftest, in one namespace."""
    return type("Kit", (Kit, outputs), {})
