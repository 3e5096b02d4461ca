"""A long agent session under a token budget, with a system prompt that busts the prompt cache.

Run: uv run python examples/long_session.py
"""

from headroom import Config, Headroom

hr = Headroom(Config(store="memory", max_context_tokens=2500, keep_last_turns=2))


def page(turn: int) -> str:
    return "\n".join(f"row {turn}.{i}: status=ok latency={(i * 37) % 400}ms" for i in range(120))


system = {"role": "system", "content": "You are an SRE agent.\nCurrent time: 2026-11-21T10:32:01Z"}
messages: list[dict[str, object]] = [system]
for turn in range(12):
    call = {"id": f"call_{turn}", "type": "function", "function": {"name": "query_db", "arguments": "{}"}}
    messages += [
        {"role": "user", "content": f"Check shard {turn}"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"call_{turn}", "content": page(turn)},
    ]

result = hr.compress(messages)
print(
    f"{result.tokens_before:,} -> {result.tokens_after:,} tokens (budget 2,500); "
    f"{result.stubbed} old results stubbed; over_budget={result.over_budget}"
)
print("oldest result now reads:", result.messages[3]["content"])
for found in result.volatile:
    print(f"prompt-cache warning: {found.where} holds a {found.what} ({found.sample})")
