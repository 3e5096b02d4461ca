"""The MCP server: Headroom's compression, retrieval and stats as tools any MCP client can call.

Built with the official SDK's ``MCPServer``. Every tool runs on the engine's own store, the one the
library, the adapters and the proxy on this machine use, so refs they emitted are found here. Bad
arguments become a tool error the model can act on (``ToolError``), never a crashed server;
``headroom_retrieve`` answers exactly as it does everywhere else (``Headroom.answer_tool_call``).
"""

from __future__ import annotations

import uuid
import weakref
from pathlib import Path
from typing import Any

from headroom import Config, ConfigError, Headroom, HeadroomError, retrieve_tool
from headroom.integration import GLOBAL_SCOPE, Note, adapter_engine, parse_arguments, parse_since, project_of
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

PROJECT_HEADER = "x-headroom-project"  # over HTTP: the client's project, when the URL it was given sets it

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
_PROJECT = (
    " project: the absolute path of your working directory (its git root is the project), a project "
    "name, or 'global'; by default {default}."
)
_SAVE = (
    "Save a short note to the memory every agent on this machine shares: a fact about the project, a "
    "decision, a command that works, a pitfall. One fact per note, in a sentence or two; an exact or "
    "reworded repeat updates the note it repeats. tags: a few words to find it by."
)
_SEARCH = (
    "Search the shared memory for notes saved earlier, by you or another agent (best match first). "
    "Searches the project and the global notes; give the words the note would contain."
)
_LIST = "The newest notes of the shared memory, in the project and the global scope; tag filters."
_DELETE = "Delete a note of the shared memory by its id (when it is wrong or out of date)."
_INSTRUCTIONS = (
    "Headroom keeps long tool output small. Markers like [… 120 lines omitted; headroom_retrieve "
    "ref=<ref>] mean the original is stored: call headroom_retrieve with that ref (and a query, an "
    "offset or lines) to read exactly what you need. memory_search finds notes any agent saved with "
    "memory_save; nothing from memory reaches you unless you ask for it."
)


def _note(note: Note) -> dict[str, Any]:
    data = note.as_json()
    data["project"] = note.project or "global"
    return data


def create_server(
    *, headroom: Headroom | None = None, config: Config | None = None, workdir: Path | None = None
) -> MCPServer:
    """The ``headroom`` MCP server: compression, retrieval, stats and the shared memory's tools.

    Args:
        headroom: the engine whose store holds the originals (shared with the rest of the process).
        config: settings for a new engine when ``headroom`` is not given.
        workdir: the directory whose project notes belong to by default (``headroom mcp serve``: its
            working directory, which the client sets); None: the global scope. Over HTTP a
            ``X-Headroom-Project`` header wins.

    Raises:
        ConfigError: both ``headroom`` and ``config`` are given.
    """
    hr = adapter_engine(headroom, config, "mcp")
    server = MCPServer("headroom", instructions=_INSTRUCTIONS)
    spec = retrieve_tool("json_schema")
    home = project_of(None, workdir) if workdir is not None else GLOBAL_SCOPE
    default = "the project of the directory the server runs in" if home else "the global scope"
    sessions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def scope(ctx: Context, project: str | None) -> str:
        if project is not None:
            return project_of(project)
        header = (ctx.headers or {}).get(PROJECT_HEADER)
        return project_of(header) if header else home

    def scopes(ctx: Context, project: str | None) -> list[str]:
        """The scope and the global one, read together."""
        return list(dict.fromkeys([scope(ctx, project), GLOBAL_SCOPE]))

    def who(ctx: Context) -> tuple[str, str]:
        """The client's name (from its initialize request) and this connection's session id."""
        params = ctx.session.client_params
        agent = params.client_info.name if params is not None else ""
        session = (ctx.headers or {}).get("mcp-session-id")
        return agent, session or sessions.setdefault(ctx.session, uuid.uuid4().hex[:12])

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

    @server.tool(name="memory_save", description=_SAVE + _PROJECT.format(default=default))
    def memory_save(
        text: str, ctx: Context, tags: list[str] | None = None, project: str | None = None
    ) -> dict[str, Any]:
        agent, session = who(ctx)
        try:
            saved = hr.memory.save(text, tags, scope(ctx, project), agent=agent, session=session)
        except (ValueError, HeadroomError) as exc:
            raise ToolError(str(exc)) from exc
        return {"status": saved.status, "id": saved.note.id, "note": _note(saved.note)}

    @server.tool(name="memory_search", description=_SEARCH + _PROJECT.format(default=default))
    def memory_search(
        query: str, ctx: Context, project: str | None = None, limit: int = 10
    ) -> dict[str, Any]:
        try:
            found = hr.memory.search(query, scopes(ctx, project), min(limit, 100))
        except (ValueError, HeadroomError) as exc:
            raise ToolError(str(exc)) from exc
        return {"notes": [_note(note) for note in found]}

    @server.tool(name="memory_list", description=_LIST + _PROJECT.format(default=default))
    def memory_list(
        ctx: Context, project: str | None = None, tag: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        if limit < 1:
            raise ToolError(f"limit must be at least 1, got {limit}")
        try:
            found = hr.memory.notes(scopes(ctx, project), tag=tag, limit=min(limit, 100))
        except HeadroomError as exc:
            raise ToolError(str(exc)) from exc
        return {"notes": [_note(note) for note in found]}

    @server.tool(name="memory_delete", description=_DELETE)
    def memory_delete(id: int) -> dict[str, Any]:
        try:
            deleted = hr.memory.delete([id])
        except HeadroomError as exc:
            raise ToolError(str(exc)) from exc
        if not deleted:
            raise ToolError(f"no note #{id}: memory_list or memory_search show the ids")
        return {"deleted": id}

    return server
