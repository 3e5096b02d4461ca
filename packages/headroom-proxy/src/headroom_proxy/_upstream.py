"""The one shared ``httpx.AsyncClient`` and the headers that pass through it.

Authentication and provider headers (``Authorization``, ``x-api-key``, ``anthropic-version``,
``anthropic-beta``, ``OpenAI-Organization``, ``OpenAI-Project``, ...) are forwarded untouched and never
logged; only hop-by-hop headers are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from ._settings import ProxySettings

_HOP = frozenset(
    "connection keep-alive proxy-authenticate proxy-authorization te trailer trailers transfer-encoding "
    "upgrade host content-length".split()
)


def forward_headers(headers: Mapping[str, str], *, identity: bool = True) -> dict[str, str]:
    """The client's headers for upstream; ``identity``: the proxy reads and rewrites the bodies, so it
    asks for an uncompressed response and sends the request it serialised itself without a coding."""
    out = {
        k: v for k, v in headers.items() if k.lower() not in _HOP and not k.lower().startswith("x-headroom")
    }
    if identity:
        out = {k: v for k, v in out.items() if k.lower() not in ("accept-encoding", "content-encoding")}
        out["accept-encoding"] = "identity"
    return out


# the server the client talks to (uvicorn) writes its own: upstream's would reach the client twice
_OWN = frozenset({"date", "server"})


def response_headers(headers: Mapping[str, str], extra: Mapping[str, str] | None = None,
                     *, decoded: bool = True) -> dict[str, str]:  # fmt: skip
    """Upstream's response headers for the client (length and encoding recomputed when decoded)."""
    drop = _HOP | _OWN | ({"content-encoding"} if decoded else set())
    out = {k: v for k, v in headers.items() if k.lower() not in drop}
    out.update(extra or {})
    return out


class Upstream:
    """Connection pooling and keep-alive for every request, with the proxy's timeouts."""

    def __init__(self, settings: ProxySettings) -> None:
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
        self.client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return await self.client.post(url, content=body, headers=dict(headers))

    async def open(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """A request whose response body is read as a stream (the caller closes it)."""
        request = self.client.build_request("POST", url, content=body, headers=dict(headers))
        return await self.client.send(request, stream=True)

    async def close(self) -> None:
        await self.client.aclose()
