"""The MCP tools over streamable HTTP at the running proxy's ``/mcp``, with the SDK's own ``Client``:
a ref the proxy emitted while compressing a conversation is retrievable there."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from mcp import Client

from .conftest import sdk


def test_a_ref_the_proxy_emitted_is_retrieved_over_mcp(kit: Any, stack: Any) -> None:
    log = kit.app_log(seed=11)
    stack.fake.script = [kit.Text("Read it.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=kit.chat_messages(log))
    found = kit.REF.search(json.dumps(stack.fake.bodies("/v1/chat/completions")[0]))
    assert found, "the proxy compressed nothing"

    async def job() -> list[Any]:
        async with Client(f"{stack.proxy.url}/mcp") as mcp:
            names = {tool.name for tool in (await mcp.list_tools()).tools}
            whole = await mcp.call_tool("headroom_retrieve", {"ref": found[1]})
            bad = await mcp.call_tool("headroom_retrieve", {"ref": found[1], "lines": "0-"})
            done = await mcp.call_tool("headroom_compress", {"content": log})
            return [names, whole, bad, done]

    names, whole, bad, done = asyncio.run(job())
    assert names == {"headroom_compress", "headroom_retrieve", "headroom_stats"} | {
        "memory_save",
        "memory_search",
        "memory_list",
        "memory_delete",
    }
    assert whole.content[0].text == log
    assert bad.is_error
    assert done.structured_content["ref"] == found[1]  # the same store: the same original, the same ref


def test_memory_over_http_takes_the_project_header_and_never_enters_a_prompt(kit: Any, stack: Any) -> None:
    """A note saved through the proxy's /mcp lands in the project its header names; the next request
    through the proxy reaches the provider exactly as the client sent it: memory is not injected."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    note = "The staging database is read-only on Fridays"

    async def job() -> list[Any]:
        headers = {"X-Headroom-Project": "billing-service"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(f"{stack.proxy.url}/mcp", http_client=http)) as mcp,
        ):
            saved = await mcp.call_tool("memory_save", {"text": note, "tags": ["db"]})
            found = await mcp.call_tool("memory_search", {"query": "staging database fridays"})
        async with Client(f"{stack.proxy.url}/mcp") as plain:  # no header: the global scope only
            elsewhere = await plain.call_tool("memory_search", {"query": "staging database fridays"})
        return [saved.structured_content, found.structured_content, elsewhere.structured_content]

    saved, found, elsewhere = asyncio.run(job())
    assert saved["note"]["project"] == "billing-service"
    assert saved["note"]["session"]  # the MCP session that saved it
    assert [n["text"] for n in found["notes"]] == [note]
    assert elsewhere["notes"] == []
    stack.fake.script = [kit.Text("Fine.")]
    client = sdk(openai.OpenAI, base_url=stack.openai_url, api_key="sk-test", max_retries=0)
    messages = [{"role": "user", "content": "Is the staging database writable on Fridays?"}]
    client.chat.completions.create(model="gpt-4o", messages=messages)
    body = stack.fake.bodies("/v1/chat/completions")[-1]
    assert body["messages"] == messages
    assert "read-only" not in json.dumps(body)
