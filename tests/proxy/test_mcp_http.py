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
    assert names == {"headroom_compress", "headroom_retrieve", "headroom_stats"}
    assert whole.content[0].text == log
    assert bad.is_error
    assert done.structured_content["ref"] == found[1]  # the same store: the same original, the same ref
