"""One compressing request, from the client's bytes to the client's response.

1. Parse the body; anything that does not parse, or ``x-headroom-bypass: 1``, is forwarded as it came.
2. Compress the conversation (``Headroom.acompress``: memoised, so a growing conversation costs its new
   messages). Requests with no tool result long enough to matter skip it without counting a token.
   A failure anywhere here forwards the original bytes: the proxy never breaks a working request.
3. When markers were emitted, append ``headroom_retrieve`` to the tools (last, same bytes every time).
4. Forward, re-serialised the same way every time. Answer the model's retrieval calls from the store
   (refs of this request only) and call upstream again, up to ``max_rounds``; the client never sees a
   call of ours. Streams are relayed event by event (``_streams``).

Written once against ``Api`` (``_apis``): nothing here asks which provider it serves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from headroom import CompressResult, Headroom, RefNotFound
from headroom.integration import MARKER_RE, TOOL_NAME, parse_arguments, scope, worth_compressing
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ._apis import Api
from ._ratelimits import stream_windows
from ._settings import OUTPUT_SHAPER, ProxySettings
from ._sse import events
from ._state import State, Thread, credential
from ._upstream import Upstream, forward_headers, response_headers
from ._wire import Call, add_usage

log = logging.getLogger("headroom")

BYPASS = "x-headroom-bypass"


def dumps(body: Any) -> bytes:
    """The body as compact JSON, the same bytes for the same body whatever happened to it."""
    try:
        return orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, huge ints: the standard library copes
        import json

        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


MAX_DECODED = 512 * 1024 * 1024  # bytes a compressed request body may inflate to before we forward it unread


def decoded(raw: bytes, encoding: str) -> bytes | None:
    """A request body without its ``Content-Encoding`` (Codex signed in with ChatGPT sends zstd); None
    when it cannot be read (an unknown coding, a corrupt or oversized body): forwarded as it came.
    The body goes upstream re-serialised and uncoded."""
    coding = encoding.strip().lower()
    try:
        if coding in ("", "identity"):
            return raw
        if coding == "zstd":
            import zstandard

            return zstandard.ZstdDecompressor().decompress(raw, max_output_size=MAX_DECODED)
        if coding in ("gzip", "x-gzip", "deflate"):
            import zlib

            inflater = zlib.decompressobj(wbits=47 if coding != "deflate" else 15)
            out = inflater.decompress(raw, MAX_DECODED)
            return None if inflater.unconsumed_tail else out
    except Exception:  # zstd's and zlib's errors: a body we cannot read is forwarded unread
        log.info("headroom proxy: a %s request body that does not decode; forwarding it unchanged", coding)
    return None


@dataclass
class Exchange:
    """The state of one request through the proxy."""

    api: Api
    headroom: Headroom
    settings: ProxySettings
    upstream: Upstream
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    model: str | None
    thread: Thread  # the conversation state this request recalls and keeps
    scope: str = ""  # the originals' scope (the credential's digest under ``--scope credential``)
    result: CompressResult | None = None
    allowed: set[str] = field(default_factory=set)  # refs this request carries: the only ones answered
    started: float = field(default_factory=time.perf_counter)
    overhead_ms: float = 0.0  # the proxy's time before forwarding, compression included
    compress_ms: float = 0.0  # of which in Headroom.acompress
    rounds: int = 0
    raw: bytes | None = None  # the body as sent upstream, once serialised
    cold: bool = False  # the first request this process compressed (imports, caches: reported apart)
    shaped: bool = False  # the output shaper was appended to its system prompt
    usage: dict[str, Any] | None = None  # the response's usage, summed over rounds (for the ledger)
    reply: bytes | None = None  # a response relayed as it came: its usage is read after it has gone out
    client: dict[str, Any] | None = None  # the body as the client sent it (cache-bust attribution)
    sent: dict[str, Any] | None = None  # the body of the first round as it went upstream
    stream_limits: dict[str, dict[str, str]] = field(default_factory=dict)  # Codex's stream event
    # time to first byte (perf_counter): the first round sent upstream, its first byte back, and the
    # client's first byte (a stream's first chunk; a whole response when not streamed)
    sent_at: float | None = None
    upstream_first: float | None = None
    first_out: float | None = None

    @property
    def retrieval(self) -> bool:
        return bool(self.allowed)

    def ttfb_added_ms(self) -> float | None:
        """What the proxy added to the client's time to first byte: from the request's arrival to
        the client's first byte, less the upstream's own time to first byte on the first round
        (retrieval rounds run before the client's first byte count as added); None if not measured."""
        if self.sent_at is None or self.upstream_first is None or self.first_out is None:
            return None
        added = (self.first_out - self.started) - (self.upstream_first - self.sent_at)
        return max(added, 0.0) * 1000

    def sending(self) -> None:
        """The first round is about to go upstream."""
        if self.sent_at is None:
            self.sent_at = time.perf_counter()

    def upstream_byte(self) -> None:
        """A byte of the upstream's answer arrived (only the first round's first counts)."""
        if self.upstream_first is None:
            self.upstream_first = time.perf_counter()

    def client_byte(self) -> None:
        """A byte goes to the client (only the first counts)."""
        if self.first_out is None:
            self.first_out = time.perf_counter()

    def answer(self, call: Call) -> str:
        """The tool result for one of the model's retrieval calls."""
        try:
            ref = parse_arguments(call.arguments).ref
        except ValueError as exc:
            return str(exc)
        if ref.strip().lower() not in self.allowed:
            return str(RefNotFound(ref.strip()[:64]))  # the core's own message: not this request's
        with scope(self.scope):
            return self.headroom.answer_tool_call(call.arguments)

    async def keep(self) -> None:
        """Write the conversation state this response created, before the client can answer it."""
        if self.thread.kept:
            kept, self.thread.kept = self.thread.kept, {}
            await asyncio.to_thread(self.thread.state.keep, kept)

    def headers_out(self) -> dict[str, str]:
        if self.result is None or (
            not self.result.refs and self.result.tokens_before == self.result.tokens_after
        ):
            return {}
        return {"x-headroom-tokens-before": str(self.result.tokens_before),
                "x-headroom-tokens-after": str(self.result.tokens_after),
                "x-headroom-compress-ms": f"{self.compress_ms:.2f}"}  # fmt: skip


async def prepare(
    api: Api, request: Request, raw: bytes, headroom: Headroom, settings: ProxySettings, upstream: Upstream,
    url: str, state: State,
) -> Exchange | None:  # fmt: skip
    """The exchange for ``raw``, compressed; None when it must be forwarded as it came.

    Everything between parsing and forwarding is inside one fail-open boundary: a body we cannot
    understand, or any failure of ours, forwards the client's bytes unchanged.
    """
    if request.headers.get(BYPASS, "").strip() in ("1", "true", "yes"):
        return None
    began = time.perf_counter()
    plain = decoded(raw, request.headers.get("content-encoding", ""))
    if plain is None:
        return None
    try:
        body = orjson.loads(plain)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    try:
        exchange = await _prepare(api, request, body, headroom, settings, upstream, url, state)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException:  # the request goes out as it came (a native library's panic included)
        log.exception("headroom proxy: compression failed; forwarding the request unchanged")
        return None
    exchange.started = began
    exchange.overhead_ms = (time.perf_counter() - began) * 1000
    return exchange


async def _prepare(
    api: Api, request: Request, body: dict[str, Any], headroom: Headroom, settings: ProxySettings,
    upstream: Upstream, url: str, state: State,
) -> Exchange:  # fmt: skip
    who = credential(request.headers)
    client = body
    thread = state.thread(who)
    thread.history = api.conversation(body)[0]  # as the client sent it: what owed answers are keyed by
    if api.recalls(body):
        body = await asyncio.to_thread(api.settle, body, thread)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    exchange = Exchange(api, headroom, settings, upstream, url, forward_headers(request.headers), body, model,
                        thread, who if settings.scope == "credential" else "", client=client)  # fmt: skip
    if settings.output_shaper:
        exchange.body = body = api.with_instruction(body, OUTPUT_SHAPER)
        exchange.shaped = True
    exchange.sent = body
    messages, system = api.conversation(body)
    if messages is None or not worth_compressing(headroom.config, messages, system):
        return exchange
    started = time.perf_counter()
    exchange.cold, state.compressed = not state.compressed, True
    with scope(exchange.scope):
        result = await headroom.acompress(messages, model=model, system=system)
    exchange.compress_ms = (time.perf_counter() - started) * 1000
    exchange.result = result
    body = api.with_conversation(body, result.messages, result.system if system is not None else None)
    if result.refs:
        body = api.with_tool(body, headroom.retrieve_tool(api.tool_format))
        exchange.raw = dumps(body)
        sent = exchange.raw.decode("utf-8", "replace")
        exchange.allowed = {m["ref"].lower() for m in MARKER_RE.finditer(sent)}
    exchange.body = exchange.sent = body
    return exchange


# --- non-streaming ---------------------------------------------------------------------------------------


async def complete(exchange: Exchange) -> Response:
    """Send, answer our retrieval calls, send again; the client gets one response without them."""
    api, body = exchange.api, exchange.body
    usage: dict[str, Any] | None = None
    first_id: str | None = None
    while True:
        raw = exchange.raw if body is exchange.body and exchange.raw is not None else dumps(body)
        exchange.sending()
        reply = await exchange.upstream.post(exchange.url, raw, exchange.headers)
        exchange.upstream_byte()
        untouched = exchange.rounds == 0 and TOOL_NAME.encode() not in reply.content
        if reply.status_code >= 400 and exchange.rounds:
            _rejected(exchange, reply.status_code)
        if reply.status_code >= 400 or not exchange.retrieval or untouched:
            # no call of ours in a first answer: the upstream's bytes go back as they came
            exchange.reply = reply.content if reply.status_code < 400 else None
            headers = response_headers(reply.headers, exchange.headers_out())
            exchange.client_byte()
            return Response(reply.content, reply.status_code, headers)
        try:
            data = orjson.loads(reply.content)
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            usage = add_usage(usage, api.usage_of(data))
            first_id = first_id or data.get("id")
            calls, client = api.calls(data)
        except (orjson.JSONDecodeError, TypeError, AttributeError, ValueError, KeyError, IndexError):
            # a shape we do not understand (our tool's name in a malformed answer): forwarded as it came
            log.warning("headroom proxy: an upstream answer we cannot read; forwarding it unchanged")
            exchange.client_byte()
            return Response(reply.content, reply.status_code, response_headers(reply.headers))
        if not calls:
            break
        answers = await asyncio.to_thread(_answers, exchange, calls)
        if client or exchange.rounds >= exchange.settings.max_rounds:
            api.owe(data, calls, answers, exchange.thread)  # the client gets its calls; ours come later
            data = api.strip(data)
            break
        body = api.follow_up(body, data, calls, answers)
        exchange.rounds += 1
        _round(exchange, calls)
    exchange.usage = usage
    if exchange.rounds:
        data = api.as_first(api.with_usage(data, usage), first_id, exchange.thread)
    await exchange.keep()
    headers = response_headers(reply.headers, exchange.headers_out())
    content = dumps(data)
    exchange.client_byte()
    return Response(content, reply.status_code, headers, media_type="application/json")


def _answers(exchange: Exchange, calls: list[Call]) -> list[str]:
    return [exchange.answer(call) for call in calls]


def _round(exchange: Exchange, calls: list[Call]) -> None:
    log.info("headroom proxy: %s %s: retrieval round %d, %d call(s) answered from the store",
             exchange.api.name, exchange.model or "-", exchange.rounds, len(calls))  # fmt: skip


def _rejected(exchange: Exchange, status: int) -> None:
    log.info("headroom proxy: %s %s: upstream answered %d to the follow-up after retrieval round %d",
             exchange.api.name, exchange.model or "-", status, exchange.rounds)  # fmt: skip


# --- streaming -------------------------------------------------------------------------------------------


async def stream(exchange: Exchange) -> Response:
    """Relay the upstream stream; with a retrieval in it, hold back from the call and join the rounds."""
    raw = exchange.raw or dumps(exchange.body)
    exchange.sending()
    reply = await exchange.upstream.open(exchange.url, raw, exchange.headers)
    if reply.status_code >= 400:
        content = await reply.aread()
        await reply.aclose()
        exchange.upstream_byte()
        exchange.client_byte()
        return Response(content, reply.status_code, response_headers(reply.headers))
    headers = response_headers(reply.headers, exchange.headers_out())
    if not exchange.retrieval:
        return StreamingResponse(_relay(exchange, reply), reply.status_code, headers)
    return StreamingResponse(_rounds(exchange, reply), reply.status_code, headers)


async def _relay(exchange: Exchange, reply: httpx.Response) -> AsyncIterator[bytes]:
    usage = _UsageLines(exchange) if not reply.headers.get("content-encoding") else None
    try:
        async for chunk in reply.aiter_raw():
            exchange.upstream_byte()
            exchange.client_byte()
            yield chunk
            if usage is not None:
                usage.feed(chunk)
    except httpx.HTTPError as exc:  # the upstream broke off: end the stream with an error the SDK reads
        log.warning("headroom proxy: upstream stream failed: %s", exc)
        yield exchange.api.error_event(f"upstream stream failed: {exc}")
    finally:
        await reply.aclose()


_PROMPT_KEYS = ("input_tokens", "prompt_tokens", "cache_read_input_tokens")


def usage_in(data: Any) -> dict[str, Any] | None:
    """The prompt usage an API object or stream event carries (top level, Anthropic's
    ``message_start``, the Responses API's ``response.completed``), None when it carries none."""
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("message"), data.get("response")):
        usage = holder.get("usage") if isinstance(holder, dict) else None
        if isinstance(usage, dict) and any(key in usage for key in _PROMPT_KEYS):
            return usage
    return None


class _UsageLines:
    """Reads the usage out of a relayed stream's ``data:`` lines (the last one reporting a prompt
    wins: Anthropic repeats its counts cumulatively), holding only a line in progress."""

    MAX_LINE = 1 << 20  # a longer line is not looked at (it is content, not usage)

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self.tail + chunk).split(b"\n")
        self.tail = lines.pop()
        if len(self.tail) > self.MAX_LINE:
            self.tail = b""
        for line in lines:
            limits, usage = b"codex.rate_limits" in line, b'"usage"' in line
            if not line.startswith(b"data:") or not (limits or usage):
                continue
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                continue
            if limits:
                self.exchange.stream_limits.update(stream_windows(data))
            found = usage_in(data) if usage else None
            if found is not None:
                self.exchange.usage = found


async def _timed(exchange: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        exchange.upstream_byte()
        yield chunk


async def _rounds(exchange: Exchange, reply: httpx.Response) -> AsyncIterator[bytes]:
    api, body = exchange.api, exchange.body
    state = api.stream_state(exchange.thread)
    try:
        while True:
            try:
                async for item in events(_timed(exchange, reply.aiter_bytes())):
                    if "codex.rate_limits" in item.data[:80]:
                        exchange.stream_limits.update(stream_windows(item.json()))
                    for out in state.feed(item):
                        exchange.client_byte()
                        yield out.encode()
            finally:
                await reply.aclose()
            calls = state.calls() if state.retrieving else []
            answers = await asyncio.to_thread(_answers, exchange, calls) if calls else []
            if not calls or state.client_calls or exchange.rounds >= exchange.settings.max_rounds:
                if calls:
                    api.owe(state.response(), calls, answers, exchange.thread)
                ending = state.finish()
                exchange.usage = state.usage
                await exchange.keep()
                for out in ending:
                    exchange.client_byte()
                    yield out.encode()
                return
            body = api.follow_up(body, state.response(), calls, answers)
            exchange.rounds += 1
            _round(exchange, calls)
            reply = await exchange.upstream.open(exchange.url, dumps(body), exchange.headers)
            if reply.status_code >= 400:
                _rejected(exchange, reply.status_code)
                message = (await reply.aread()).decode("utf-8", "replace")[:500]
                await reply.aclose()
                yield api.error_event(f"upstream error {reply.status_code} after a retrieval: {message}")
                return
            state = state.next_round()
    except httpx.HTTPError as exc:
        log.warning("headroom proxy: upstream stream failed: %s", exc)
        yield api.error_event(f"upstream stream failed: {exc}")
    except Exception as exc:  # an event we cannot read while holding back: end with an error, not a cut
        log.exception("headroom proxy: a streamed event we cannot read during a retrieval")
        yield api.error_event(f"headroom proxy could not read the upstream stream: {type(exc).__name__}")
