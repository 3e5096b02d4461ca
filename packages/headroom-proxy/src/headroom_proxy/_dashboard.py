"""``GET /dashboard``: one page and its assets, every byte shipped in the wheel (``dashboard/``).

The page reads ``GET /stats`` and ``GET /stats/history`` of the proxy that serves it and draws them
with uPlot (MIT, vendored from npm: ``dashboard/vendor``, its licence beside it; ``make vendor``
refreshes it at the version pinned in the Makefile). No CDN, no font or script from anywhere else:
the Content-Security-Policy allows this origin only, so a page that tried would fail visibly.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self';"
       " frame-ancestors 'none'; base-uri 'none'; form-action 'none'")  # fmt: skip
_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
          "css": "text/css; charset=utf-8"}  # fmt: skip
ASSETS = ("index.html", "app.js", "style.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css")
_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "cache-control": "no-cache"}


@cache
def _asset(name: str) -> bytes:
    return files("headroom_proxy").joinpath("dashboard", *name.split("/")).read_bytes()


async def page(request: Request) -> Response:
    """``/dashboard`` and ``/dashboard/<asset>``; anything else under it is a 404."""
    name = request.path_params.get("name") or "index.html"
    if name not in ASSETS:
        return Response("not found", 404, media_type="text/plain")
    return Response(_asset(name), media_type=_TYPES[name.rpartition(".")[2]], headers=_HEADERS)
