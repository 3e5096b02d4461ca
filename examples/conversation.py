"""Compress the tool results of an OpenAI-shaped conversation and answer the model's retrievals.

Run: uv run python examples/conversation.py
"""

import json

from headroom import Config, Headroom

hr = Headroom(Config(store="memory"))

issues = [{"id": 9000 + i, "state": "open", "title": f"Flaky test #{i}", "labels": []} for i in range(150)]
issues[77]["state"] = "closed"
messages = [
    {"role": "user", "content": "Which issue was closed?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "list_issues", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(issues, indent=2)},
]

result = hr.compress(messages)
tools = [hr.retrieve_tool("openai")]  # offer headroom_retrieve next to your own tools
print(result.messages[2]["content"])
names = [tool["function"]["name"] for tool in tools]
print(f"\n{result.tokens_before:,} -> {result.tokens_after:,} tokens; tools offered: {names}")

# When the model calls headroom_retrieve, answer it with one call:
arguments = json.dumps({"ref": result.refs[0], "query": "closed"})
print(hr.answer_tool_call(arguments))
