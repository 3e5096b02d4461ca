"""The MCP server: Headroom's compression, retrieval and stats as tools any MCP client can call.

Built with the official SDK's ``MCPServer``. Every tool runs on the engine's own store, the one the
library, the adapters and the proxy on this machine use, so refs they emitted are found here. Bad
arguments become a tool error the model can act on (``ToolError``), never a crashed server;
``headroom_retrieve`` answers exactly as it does everywhere else (``Headroom.answer_tool_call``).
"""

from __future__ import annotations

from typing import Any

from headroom import Config, ConfigError, Headroom, HeadroomError, retrieve_tool
from headroom.integration import adapter_engine, parse_arguments, parse_since
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

_COMPRESS = (
    "Compress a long text (a log, a JSON response, a file, search hits, a diff, prose) before you keep "
    "it in context. Returns the compressed text, its ref and both token counts; what was left out "
    "stays retrievable with headroom_retrieve and the ref. Give query (what you are looking for) so "
    "what matches it is kept; kind skips detection; budget (0-1) is the share of tokens to keep."
)
_STATS = (
    "How much Headroom saved on this machine: blocks seen and compressed, tokens before and after, "
    "the share saved and its list price, and the proxy's requests. since: 30m, 24h, 7d, 2w or an ISO date."
)
_INSTRUCTIONS = (
    "Headroom keeps long tool output small. Markers like [… 120 lines omitted; headroom_retrieve "
    "ref=<ref>] mean the original is stored: call headroom_retrieve with that ref (and a query, an "
    "offset or lines) to read exactly what you need."
)


def create_server(*, headroom: Headroom | None = None, config: Config | None = None) -> MCPServer:
    """The ``headroom`` MCP server with its three tools.

    Args:
        headroom: the engine whose store holds the originals (shared with the rest of the process).
        config: settings for a new engine when ``headroom`` is not given.

    Raises:
        ConfigError: both ``headroom`` and ``config`` are given.
    """
    hr = adapter_engine(headroom, config, "mcp")
    server = MCPServer("headroom", instructions=_INSTRUCTIONS)
    spec = retrieve_tool("json_schema")

    @server.tool(name="headroom_compress", description=_COMPRESS)
    def headroom_compress(
        content: str, query: str | None = None, kind: str | None = None, budget: float | None = None
    ) -> dict[str, Any]:
        try:
            result = hr.compress_text(content, query=query, kind=kind, budget=budget)  # type: ignore[arg-type]
        except (ConfigError, ValueError) as exc:
            raise ToolError(str(exc)) from exc
        return {
            "text": result.text,
            "ref": result.ref,
            "kind": result.kind,
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after,
        }

    @server.tool(name=spec["name"], description=spec["description"])
    def headroom_retrieve(
        ref: str, query: str | None = None, offset: int = 0, lines: str | None = None
    ) -> str:
        arguments = {"ref": ref, "query": query, "offset": offset, "lines": lines}
        try:
            parse_arguments(arguments)
        except ValueError as exc:  # a bad offset or range: the model gets a tool error to act on
            raise ToolError(str(exc)) from exc
        return hr.answer_tool_call(arguments)  # an unknown ref is an answer, as everywhere else

    @server.tool(name="headroom_stats", description=_STATS)
    def headroom_stats(since: str | None = None) -> dict[str, Any]:
        try:
            start = parse_since(since) if since else None
            return dict(hr.stats(since=start))
        except (ValueError, HeadroomError) as exc:
            raise ToolError(str(exc)) from exc

    return server
