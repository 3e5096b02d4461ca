"""``create_app``: the Starlette application behind ``headroom proxy``.

Routes: OpenAI ``POST /v1/chat/completions`` and ``POST /v1/responses``, Anthropic ``POST /v1/messages``
and ``POST /v1/messages/count_tokens`` are compressed (``_exchange``); ``GET /health`` answers itself,
and so does the root without provider headers (a reachability check); every other path and method is
forwarded byte for byte, to Anthropic when the request carries Anthropic's headers, else to OpenAI.
Upstream faults reach the client as the provider would report them (its error JSON, or an error event
that ends a stream), never as a hang, and a client that goes away cancels its upstream request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import httpx
import orjson
from headroom import Config, ConfigError, Headroom, HeadroomError, __version__
from headroom.integration import RequestOutcome, parse_since
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import _dashboard
from ._apis import Api, ChatCompletions, Messages, Responses
from ._busts import Bust, sequence, track
from ._exchange import Exchange, complete, prepare, stream, usage_in
from ._metrics import Metrics
from ._ratelimits import RateLimits
from ._settings import ANTHROPIC_URL, OPENAI_URL, ProxySettings
from ._state import State
from ._upstream import Upstream, forward_headers, response_headers

log = logging.getLogger("headroom")
T = TypeVar("T")
SWITCH_INTERVAL = 0.0005
_ANTHROPIC_HEADERS = ("anthropic-version", "x-api-key", "anthropic-beta")


def create_app(
    config: Config | None = None,
    *,
    settings: ProxySettings | None = None,
    headroom: Headroom | None = None,
) -> Starlette:
    """The proxy as an ASGI application.

    Args:
        config: compression settings (``Config()`` and ``HEADROOM_*`` variables when None).
        settings: upstream URLs, retrieval rounds and timeouts.
        headroom: a shared engine instead of a new one (``source="proxy"``).
    """
    settings = settings or ProxySettings()
    engine = headroom if headroom is not None else Headroom(config, source="proxy")
    chat, responses, messages = ChatCompletions(), Responses(), Messages()
    conversations = State(engine)  # in the engine's store: shared by every worker and process on it
    state: dict[str, Upstream] = {}
    served = [0]  # requests answered since start (this worker), for /health and `headroom doctor`
    metrics = Metrics()  # this process's counters, for /metrics
    engine.events.listen(metrics.observe)
    limits = RateLimits()  # the providers' rate-limit headers, latest per credential, for /stats

    # the MCP tools over streamable HTTP at /mcp, on this engine: one running proxy serves both, and a
    # ref it emitted is retrievable there (DNS-rebinding protection: loopback Host headers only)
    from headroom_mcp import create_server  # the MCP SDK takes 1.4 s to import: wrap and doctor skip it

    mcp = create_server(headroom=engine)
    mcp_routes = mcp.streamable_http_app(streamable_http_path="/mcp", json_response=True).routes

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["upstream"] = Upstream(settings)
        await asyncio.to_thread(engine.warm)  # the first request is not the one that loads everything
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            await state["upstream"].close()
            await asyncio.to_thread(engine.events.close)

    def upstream() -> Upstream:
        if "upstream" not in state:  # used without the lifespan (some test clients skip it)
            state["upstream"] = Upstream(settings)
        return state["upstream"]

    async def health(request: Request) -> Response:
        upstreams = {"openai": settings.openai_url, "anthropic": settings.anthropic_url}
        return JSONResponse({"status": "ok", "version": __version__, "service": "headroom-proxy",
                             "upstreams": upstreams, "requests": served[0], "pid": os.getpid()})  # fmt: skip

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    async def stats(request: Request) -> Response:
        """``GET /stats``: the ``headroom stats --json`` object of this store's ledger (every source),
        plus ``panels`` (the dashboard's splits, ``Headroom.stats(panels=True)``) and ``rate_limits``:
        the providers' windows from this process's responses (``_ratelimits``); ``GET
        /stats/history``: the same figures per ``bucket`` (``hour``, ``day``, ``week``), split ``by``
        source, model or kind when asked.
        ``since`` (``30m``, ``24h``, ``7d``, an ISO date) and ``source`` filter both."""
        query = request.query_params
        try:
            since = parse_since(query["since"]) if query.get("since") else None
            source = query.get("source") or None
            if request.url.path.endswith("/history"):
                bucket, by = query.get("bucket") or "hour", query.get("by") or None
                series = await asyncio.to_thread(engine.stats_history, bucket, since, source, by)
                return JSONResponse({"bucket": bucket, "by": by, "series": series})
            figures = await asyncio.to_thread(lambda: engine.stats(since, source, panels=True))
            return JSONResponse({**figures, "rate_limits": limits.snapshot()})
        except (ValueError, ConfigError) as exc:
            return JSONResponse({"error": {"message": str(exc), "type": "invalid_request_error"}}, 400)
        except HeadroomError as exc:
            return JSONResponse({"error": {"message": str(exc), "type": "api_error"}}, 500)

    def handler(api: Api, url: str) -> Any:
        async def handle(request: Request) -> Response:
            served[0] += 1
            refused = _refused(request, api)
            if refused is not None:
                return refused
            raw = await request.body()
            target = _with_query(url, request)
            try:
                exchange = await prepare(api, request, raw, engine, settings, upstream(), target,
                                         conversations)  # fmt: skip
                if exchange is None:
                    response = await _forward(request, raw, upstream(), target)
                else:
                    response = await _until_disconnect(
                        request,
                        stream(exchange) if exchange.body.get("stream") is True else complete(exchange),
                    )
            except httpx.TimeoutException as exc:
                return _failed(api, request, 504, f"upstream timed out: {type(exc).__name__}")
            except httpx.HTTPError as exc:
                return _failed(api, request, 502, f"upstream unreachable: {type(exc).__name__}: {exc}")
            response.background = BackgroundTask(_after, engine, api, exchange, limits, request.headers)
            limits.observe(_provider_of(api), request.headers, response.headers)
            return response

        return handle

    async def passthrough(request: Request) -> Response:
        anthropic = any(h in request.headers for h in _ANTHROPIC_HEADERS)
        path = request.url.path
        if path == "/" and request.method in ("GET", "HEAD") and not _provider(request):
            # a reachability check (Claude Code's start-up HEAD /): the root has no one upstream
            return Response(status_code=200) if request.method == "HEAD" else await health(request)
        served[0] += 1
        if anthropic:
            url = settings.anthropic_url.rstrip("/") + path
        elif path.startswith("/v1/") or path == "/v1":
            url = settings.openai_url.rstrip("/") + path[3:]
        else:
            url = str(httpx.URL(settings.openai_url).copy_with(path=path, query=None))
        api = messages if anthropic else chat
        refused = _refused(request, api)
        if refused is not None:
            return refused
        try:
            response = await _forward(request, None, upstream(), _with_query(url, request))
            limits.observe(_provider_of(api), request.headers, response.headers)
            return response
        except httpx.TimeoutException as exc:
            return _failed(api, request, 504, f"upstream timed out: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return _failed(api, request, 502, f"upstream unreachable: {type(exc).__name__}: {exc}")

    openai = settings.openai_url.rstrip("/")
    anthropic = settings.anthropic_url.rstrip("/")
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/history", stats, methods=["GET"]),
        Route("/dashboard", _dashboard.page, methods=["GET"]),
        Route("/dashboard/{name:path}", _dashboard.page, methods=["GET"]),
        Route("/v1/chat/completions", handler(chat, f"{openai}/chat/completions"), methods=["POST"]),
        Route("/v1/responses", handler(responses, f"{openai}/responses"), methods=["POST"]),
        Route("/v1/messages", handler(messages, f"{anthropic}/v1/messages"), methods=["POST"]),
        # count_tokens: counted upstream on the body /v1/messages would send (no retrieval loop: no calls)
        Route(
            "/v1/messages/count_tokens",
            handler(messages, f"{anthropic}/v1/messages/count_tokens"),
            methods=["POST"],
        ),
        *mcp_routes,
        Route(
            "/{path:path}", passthrough, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        ),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.headroom = engine
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """The app ``headroom proxy`` serves (a uvicorn factory: every worker builds its own).

    The worker's GIL switch interval is cut to 0.5 ms (from 5): compression runs on threads, and the
    event loop then gets the interpreter back within a fraction of a millisecond, so small requests
    are not queued behind a large one's compression (``bench``'s proxy section, under load).
    """
    import sys

    sys.setswitchinterval(SWITCH_INTERVAL)
    _log_to_stderr(os.environ.get("HEADROOM_PROXY_LOG_LEVEL", "warning"))
    settings = ProxySettings(
        openai_url=os.environ.get("HEADROOM_PROXY_OPENAI_URL", OPENAI_URL),
        anthropic_url=os.environ.get("HEADROOM_PROXY_ANTHROPIC_URL", ANTHROPIC_URL),
        scope="credential" if os.environ.get("HEADROOM_PROXY_SCOPE") == "credential" else "shared",
        output_shaper=os.environ.get("HEADROOM_OUTPUT_SHAPER", "").strip().lower()
        in ("1", "true", "yes", "on"),
    )
    return create_app(settings=settings)


def _log_to_stderr(level: str) -> None:
    """The ``headroom`` logger's records on stderr at ``level`` (``headroom proxy --log-level``)."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(level.upper())


def _with_query(url: str, request: Request) -> str:
    return f"{url}?{request.url.query}" if request.url.query else url


async def _forward(request: Request, raw: bytes | None, upstream: Upstream, url: str) -> Response:
    """The request as it came (its bytes, its headers), the response as it comes back."""
    headers = forward_headers(request.headers, identity=False)
    content: Any = raw
    if raw is None and ("content-length" in request.headers or "transfer-encoding" in request.headers):
        content = request.stream()  # a body, streamed through as it comes; none is sent as none
    outgoing = upstream.client.build_request(request.method, url, content=content, headers=headers)
    reply = await upstream.client.send(outgoing, stream=True)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in reply.aiter_raw():
                yield chunk
        finally:
            await reply.aclose()

    return StreamingResponse(body(), reply.status_code, response_headers(reply.headers, decoded=False))


async def _until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """``work``, cancelled if the client goes away first (so is its upstream request)."""
    task: asyncio.Future[T] = asyncio.ensure_future(work)

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                task.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        return await task
    finally:
        watcher.cancel()


_CREDENTIALS = ("authorization", "x-api-key", "api-key")


def _refused(request: Request, api: Api) -> Response | None:
    """A 400 for what must not reach the upstream: a path that climbs out of its base path (``..``,
    also percent-encoded) or a credential header sent twice (which one would count?)."""
    if any(part in ("..", ".") for part in request.url.path.split("/")):
        return JSONResponse(api.error(400, "the path may not contain . or .. segments",
                                      "invalid_request_error"), 400)  # fmt: skip
    for name in _CREDENTIALS:
        if len(request.headers.getlist(name)) > 1:
            return JSONResponse(api.error(400, f"the {name} header was sent more than once",
                                          "invalid_request_error"), 400)  # fmt: skip
    return None


def _provider(request: Request) -> bool:
    return any(h in request.headers for h in (*_ANTHROPIC_HEADERS, *_CREDENTIALS))


def _provider_of(api: Api) -> str:
    return "anthropic" if api.name == "anthropic" else "openai"


def _failed(api: Api, request: Request, status: int, message: str) -> Response:
    """The client's error for an upstream that failed, logged (method, path and why; never a body)."""
    log.info("headroom proxy: %s %s -> %d, %s", request.method, request.url.path, status, message)
    return _error(api, status, message)


def _error(api: Api, status: int, message: str) -> Response:
    kind = "timeout_error" if status == 504 else "api_error"
    return JSONResponse(api.error(status, message, kind), status)


def _after(engine: Headroom, api: Api, exchange: Exchange | None, limits: RateLimits, headers: Any) -> None:
    """Once the response has gone out: its ledger event, and the rate limits its stream reported."""
    if exchange is not None and exchange.stream_limits:
        limits.keep(_provider_of(api), headers, exchange.stream_limits)
    _record(engine, api, exchange)


def _record(engine: Headroom, api: Api, exchange: Exchange | None) -> None:
    """The request's ledger event, written once the response has gone out."""
    if exchange is None:
        engine.events.request("forwarded", None, api.name, 0, 0, 0.0, 0)
        return
    result = exchange.result
    compressed = result is not None and result.tokens_after < result.tokens_before
    before = result.tokens_before if result is not None else 0
    after = result.tokens_after if result is not None else 0
    outcome: RequestOutcome = "compressed" if compressed else "forwarded"
    usage = exchange.usage
    if usage is None and exchange.reply is not None:  # relayed as it came: read now it has gone out
        with contextlib.suppress(orjson.JSONDecodeError):
            usage = usage_in(orjson.loads(exchange.reply))
    bust = _bust(api, exchange, usage)
    engine.events.request(outcome, exchange.model, api.name, before, after, exchange.overhead_ms,
                          exchange.rounds, cold=exchange.cold, shaped=exchange.shaped, usage=usage,
                          bust=None if bust is None else bust.who,
                          bust_tokens=0 if bust is None else bust.tokens,
                          bust_part=None if bust is None else bust.part,
                          bust_reason="" if bust is None else bust.named,
                          ttfb_ms=exchange.ttfb_added_ms())  # fmt: skip


def _bust(api: Api, exchange: Exchange, usage: Any) -> Bust | None:
    """The request's cache bust and whose it was (``_busts``); None after retrieval rounds (their usage
    is summed over several prompts) or for a body that is not a conversation."""
    history = exchange.thread.history
    if exchange.client is None or exchange.sent is None or not isinstance(history, list):
        return None
    sent = api.conversation(exchange.sent)[0]
    if not isinstance(sent, list):
        return None
    try:
        sent_in = sequence(exchange.client, history)
        sent_out = sequence(exchange.sent, sent)
        found = track(exchange.thread, api.name, sent_in, sent_out, None if exchange.rounds else usage,
                      exchange.result.volatile if exchange.result is not None else ())  # fmt: skip
    except Exception:  # the ledger never breaks what it records
        log.warning("headroom proxy: could not attribute a cache bust", exc_info=True)
        return None
    return found
