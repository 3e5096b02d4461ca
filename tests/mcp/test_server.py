"""The MCP server through the official SDK's ``Client``: in process, and over stdio as a real subprocess
of ``headroom mcp serve``, on a store another engine (another process's library) wrote."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from headroom import Config, Headroom, retrieve_tool
from headroom.integration import project_of
from headroom_mcp import create_server
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

TOOLS = {
    "headroom_compress",
    "headroom_retrieve",
    "headroom_stats",
    "memory_save",
    "memory_search",
    "memory_list",
    "memory_delete",
}


def run(job: Callable[[Client], Awaitable[Any]], server: Any, agent: str = "mcp") -> Any:
    async def main() -> Any:
        async with Client(server, client_info=Implementation(name=agent, version="1.0")) as client:
            return await job(client)

    return asyncio.run(main())


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/store.db"


def test_the_tools_and_their_schemas(store: str) -> None:
    hr = Headroom(Config(store=store))
    listed = run(lambda c: c.list_tools(), create_server(headroom=hr)).tools
    assert {tool.name for tool in listed} == TOOLS
    retrieve = next(tool for tool in listed if tool.name == "headroom_retrieve")
    assert retrieve.description == retrieve_tool("json_schema")["description"]
    assert set(retrieve.input_schema["properties"]) == {"ref", "query", "offset", "lines"}
    assert retrieve.input_schema["required"] == ["ref"]
    hr.close()


def test_compress_retrieve_and_stats(outputs: Any, store: str) -> None:
    hr = Headroom(Config(store=store))
    log = outputs.app_log()

    async def job(client: Client) -> None:
        done = await client.call_tool("headroom_compress", {"content": log, "query": "card_declined"})
        assert not done.is_error
        result = done.structured_content
        assert result is not None
        assert result["kind"] == "log"
        assert result["tokens_after"] * 10 < result["tokens_before"]
        assert "card_declined" in result["text"]
        back = await client.call_tool("headroom_retrieve", {"ref": result["ref"]})
        assert back.content[0].text == log
        query = "payment card_declined"
        matches = await client.call_tool("headroom_retrieve", {"ref": result["ref"], "query": query})
        assert matches.content[0].text == outputs.expected_retrieval(log, query)
        stats = await client.call_tool("headroom_stats", {"since": "1h"})
        assert stats.structured_content is not None
        assert stats.structured_content["compressed"] == 1
        assert stats.structured_content["tokens_before"] == result["tokens_before"]

    run(job, create_server(headroom=hr))
    hr.close()


def test_bad_arguments_are_tool_errors_and_the_server_carries_on(store: str) -> None:
    hr = Headroom(Config(store=store))

    async def job(client: Client) -> None:
        for name, arguments, says in [
            ("headroom_compress", {"content": "x " * 500, "budget": 7}, "budget must be in"),
            ("headroom_compress", {"content": "x", "kind": "poetry"}, "kind"),
            ("headroom_stats", {"since": "last tuesday"}, "is not 30m, 24h, 7d, 2w"),
            ("headroom_retrieve", {"ref": "0" * 24, "offset": -1}, "offset must be"),
            ("headroom_retrieve", {"ref": "0" * 24, "lines": "9-3"}, "lines must be"),
            ("headroom_retrieve", {"query": "x"}, "ref"),
        ]:
            failed = await client.call_tool(name, arguments)
            assert failed.is_error, (name, arguments)
            assert says in failed.content[0].text
        unknown = await client.call_tool("headroom_retrieve", {"ref": "0" * 24})
        assert not unknown.is_error  # an answer the model acts on, as everywhere else
        assert "is unknown or has expired" in unknown.content[0].text
        assert (await client.call_tool("headroom_stats", {})).structured_content is not None

    run(job, create_server(headroom=hr))
    hr.close()


def test_stdio_serves_refs_another_process_stored(outputs: Any, store: str, tmp_path: Path) -> None:
    """``headroom mcp serve`` in a subprocess finds what this process's library compressed: one store."""
    writer = Headroom(Config(store=store))
    log = outputs.app_log(seed=3)
    ref = writer.compress_text(log).ref
    assert ref is not None
    writer.close()
    env = {**os.environ, "HOME": str(tmp_path), "HEADROOM_STORE": store}
    server = StdioServerParameters(command=sys.executable, args=["-m", "headroom", "mcp", "serve"], env=env)

    async def job(client: Client) -> list[str]:
        whole = await client.call_tool("headroom_retrieve", {"ref": ref})
        page = await client.call_tool("headroom_retrieve", {"ref": ref, "lines": "1-2"})
        return [whole.content[0].text, page.content[0].text]

    whole, page = run(job, server)
    assert whole == log
    assert page.splitlines()[1:] == [
        f"{n}\t{line}" for n, line in zip((1, 2), log.splitlines(), strict=False)
    ]


def test_memory_tools_save_search_list_and_delete(store: str, tmp_path: Path) -> None:
    hr = Headroom(Config(store=store))
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()

    async def job(client: Client) -> None:
        fact = "The integration tests need Redis running on port 6379"
        saved = (
            await client.call_tool("memory_save", {"text": fact, "tags": ["testing"]})
        ).structured_content
        assert saved is not None
        assert saved["status"] == "saved"
        assert saved["note"]["project"] == str(repo.resolve())  # the server's working directory's repo
        assert saved["note"]["agent"] == "claude-code"
        assert saved["note"]["session"]
        again = await client.call_tool(
            "memory_save", {"text": "Integration tests need a running Redis on port 6379"}
        )
        assert again.structured_content["status"] == "updated"
        assert again.structured_content["id"] == saved["id"]
        glob = {"text": "Commit messages say why, not what", "project": "global"}
        assert (await client.call_tool("memory_save", glob)).structured_content["note"]["project"] == "global"
        other = {"text": "Billing redis runs on port 6400 in staging", "project": "billing"}
        await client.call_tool("memory_save", other)
        found = (await client.call_tool("memory_search", {"query": "redis port"})).structured_content["notes"]
        assert [n["id"] for n in found] == [saved["id"]]  # this project and global; not billing's
        billing = await client.call_tool("memory_search", {"query": "redis", "project": "billing"})
        assert [n["text"] for n in billing.structured_content["notes"]] == [other["text"]]
        listed = (await client.call_tool("memory_list", {"tag": "testing"})).structured_content["notes"]
        assert [n["id"] for n in listed] == [saved["id"]]
        assert (await client.call_tool("memory_delete", {"id": saved["id"]})).structured_content == {
            "deleted": saved["id"]
        }
        listed = (await client.call_tool("memory_list", {})).structured_content["notes"]
        assert [n["text"] for n in listed] == [glob["text"]]

    run(job, create_server(headroom=hr, workdir=repo / "src"), agent="claude-code")
    assert [n.text for n in hr.memory.search("billing", None)] == [
        "Billing redis runs on port 6400 in staging"
    ]
    hr.close()


def test_memory_tools_answer_bad_arguments_with_tool_errors(store: str) -> None:
    hr = Headroom(Config(store=store))

    async def job(client: Client) -> None:
        for name, arguments, says in [
            ("memory_save", {"text": "   "}, "a note needs some text"),
            ("memory_save", {"text": "x" * 9000}, "at most 8,000 characters"),
            ("memory_save", {"text": "fine", "tags": "not-a-list"}, "tags"),
            ("memory_search", {"query": "?!"}, "at least one word"),
            ("memory_search", {"query": "redis", "limit": 0}, "limit must be at least 1"),
            ("memory_list", {"limit": -3}, "limit must be at least 1"),
            ("memory_delete", {"id": 404}, "no note #404"),
            ("memory_delete", {"id": "abc"}, "id"),
        ]:
            failed = await client.call_tool(name, arguments)
            assert failed.is_error, (name, arguments)
            assert says in failed.content[0].text, failed.content[0].text
        assert not (await client.call_tool("memory_list", {})).is_error

    run(job, create_server(headroom=hr))
    assert hr.memory.count() == 0
    hr.close()


def test_stdio_memory_belongs_to_the_directory_the_client_starts_it_in(store: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    env = {**os.environ, "HOME": str(tmp_path), "HEADROOM_STORE": store}
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "headroom", "mcp", "serve"], env=env, cwd=str(repo)
    )

    async def job(client: Client) -> Any:
        note = {"text": "Migrations are numbered and never renumbered", "tags": ["db"]}
        return (await client.call_tool("memory_save", note)).structured_content

    saved = run(job, server, agent="codex-mcp-client")
    reader = Headroom(Config(store=store))  # another process on the same machine sees it
    (note,) = reader.memory.search("migrations renumbered", [project_of(str(repo))])
    assert note.id == saved["id"]
    assert note.agent == "codex-mcp-client"
    reader.close()


@pytest.fixture
def redis_url(tmp_path: Path) -> Any:
    """A real ``redis-server`` on loopback (persistence off) for this test."""
    import shutil
    import socket
    import subprocess
    import time

    import redis

    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed (make redis)", pytrace=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([executable, *settings, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)


def test_with_a_redis_store_a_server_elsewhere_retrieves_what_this_machine_stored(
    outputs: Any, redis_url: str, tmp_path: Path
) -> None:
    """Another machine: its own home and data directory, nothing shared but the Redis store."""
    writer = Headroom(Config(store=redis_url))
    log = outputs.app_log(seed=5)
    ref = writer.compress_text(log).ref
    assert ref is not None
    writer.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "HOME": str(elsewhere), "XDG_DATA_HOME": str(elsewhere / "data"),
           "XDG_STATE_HOME": str(elsewhere / "state"), "HEADROOM_STORE": redis_url}  # fmt: skip
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "headroom", "mcp", "serve"], env=env, cwd=str(elsewhere)
    )

    async def job(client: Client) -> str:
        return str((await client.call_tool("headroom_retrieve", {"ref": ref})).content[0].text)

    assert run(job, server) == log
    assert not (tmp_path / "store.db").exists()  # nothing went through a local file
