"""Session replay: recorded Claude Code runs, request by request, through one long-lived engine.

For every model call of a recorded run, the request is every message before it, in the Anthropic
Messages shape; each goes through one ``Headroom`` the way the proxy sends it (``compress``), and is
measured against the same request uncompressed:

- input tokens, summed over the requests;
- billed input with prompt caching simulated: a cache breakpoint at the end of each request; the
  leading messages identical (canonical JSON) to the previous request's are cache reads at 0.1x, the
  rest cache writes at 1.25x (the stream-json runs run back to back: every request counts as warm);
  beside it the provider's own figures from each response's ``usage``, billed the same way, as a
  check of the simulation;
- prefix stability: the share of requests whose compressed messages begin with the previous
  compressed request's;
- compression time per request (median and p95).

The runs are ``sessions/claude-code-export/*.md`` (long interactive sessions exported to Markdown,
with timestamps: a request more than five minutes after the previous one finds the cache cold) and
``sessions/skillsbench/*.jsonl`` (Claude Code ``stream-json``, back to back, with the provider's
usage), turned into messages as those folders' READMEs say. The judged metrics of issue 16 (used
facts, edit anchors, error text) are still to come.
"""

from __future__ import annotations

import datetime
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._core import Section
from ._format import fmt_int, fmt_ms

READ, WRITE = 0.1, 1.25  # prompt-cache prices relative to uncached input
PROMPT = "(the task prompt is not in the transcript)"


TTL_SECONDS = 300  # the provider's prompt cache lives five minutes after its last use


@dataclass
class Request:
    """One model call: the messages before it, the provider's usage of the answer (stream-json) and
    when it was made (exported sessions; None: back to back)."""

    messages: list[dict[str, Any]]
    usage: dict[str, Any] = field(default_factory=dict)
    at: float | None = None


@dataclass
class Session:
    name: str
    requests: list[Request]


def load_stream_json(path: Path) -> Session:
    """A Claude Code ``stream-json`` transcript as its model calls (see ``sessions/README.md``)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
    requests: list[Request] = []
    current_id: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("type") == "assistant":
            message = record["message"]
            if message["id"] != current_id:  # a new model call: its request is everything so far
                current_id = message["id"]
                requests.append(Request(json.loads(json.dumps(messages)), dict(message.get("usage") or {})))
                messages.append({"role": "assistant", "content": []})
            messages[-1]["content"].extend(message["content"])
        elif record.get("type") == "user":
            blocks = record["message"]["content"]
            if isinstance(blocks, str):
                blocks = [{"type": "text", "text": blocks}]
            if messages[-1]["role"] != "user":
                messages.append({"role": "user", "content": []})
            elif isinstance(messages[-1]["content"], str):
                messages[-1]["content"] = [{"type": "text", "text": messages[-1]["content"]}]
            messages[-1]["content"].extend(blocks)
            current_id = None
    return Session(path.name.split("__")[0], requests)


_EXPORT_BLOCK = re.compile(r"^### (User|Assistant)\n> ([^\n]*)\n\n(.*?)\n\n---\n", re.M | re.S)


def load_export(path: Path) -> Session:
    """An exported Markdown session (see ``sessions/claude-code-export/README.md``) as its model calls:
    consecutive entries of one role are one API message; a request is made at its answer's first
    entry's time."""
    entries: list[tuple[str, float, list[dict[str, Any]]]] = []
    for role, stamp, body in _EXPORT_BLOCK.findall(path.read_text(encoding="utf-8")):
        try:
            content = json.loads(body)
        except ValueError:
            content = body
        if not isinstance(content, list):
            content = [{"type": "text", "text": content if isinstance(content, str) else json.dumps(content)}]
        at = datetime.datetime.strptime(stamp.strip(), "%m/%d/%Y, %I:%M:%S %p").timestamp()
        entries.append((role.lower(), at, content))
    messages: list[dict[str, Any]] = []
    requests: list[Request] = []
    for role, at, content in entries:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(content)
            continue
        if role == "assistant":
            if not messages:
                messages.append({"role": "user", "content": [{"type": "text", "text": PROMPT}]})
            requests.append(Request(json.loads(json.dumps(messages)), at=at))
        messages.append({"role": role, "content": list(content)})
    return Session(path.name.removesuffix(".md")[:40], requests)


def canonical(messages: Sequence[Any]) -> list[str]:
    return [json.dumps(message, sort_keys=True, ensure_ascii=False) for message in messages]


def common_prefix(before: list[str], after: list[str]) -> int:
    """How many leading messages ``after`` shares with ``before``."""
    count = 0
    for old, new in zip(before, after, strict=False):
        if old != new:
            break
        count += 1
    return count


@dataclass
class Totals:
    """What one run of requests costs, uncompressed or compressed."""

    tokens: int = 0
    billed: float = 0.0
    stable: int = 0  # requests that begin with the previous request whole


def account(
    requests: list[list[str]], count: Callable[[str], int], times: Sequence[float | None] | None = None
) -> Totals:
    """Tokens and cache-simulated billed input of ``requests`` (canonical messages), sent in order;
    with ``times``, a request more than ``TTL_SECONDS`` after the one before finds the cache cold."""
    totals = Totals()
    previous: list[str] = []
    last: float | None = None
    for number, messages in enumerate(requests):
        sizes = [count(message) for message in messages]
        shared = common_prefix(previous, messages)
        if previous and shared == len(previous):
            totals.stable += 1
        at = times[number] if times is not None else None
        cold = at is not None and last is not None and at - last > TTL_SECONDS
        warm = 0 if cold else shared
        totals.tokens += sum(sizes)
        totals.billed += READ * sum(sizes[:warm]) + WRITE * sum(sizes[warm:])
        previous, last = messages, at
    return totals


def provider_billed(requests: list[Request]) -> tuple[int, float]:
    """The provider's own input tokens and billed input (same prices) from each answer's ``usage``."""
    tokens, billed = 0, 0.0
    for request in requests:
        usage = request.usage
        fresh, read = usage.get("input_tokens", 0), usage.get("cache_read_input_tokens", 0)
        written = usage.get("cache_creation_input_tokens", 0)
        tokens += fresh + read + written
        billed += fresh + READ * read + WRITE * written
    return tokens, billed


@dataclass
class Replay:
    name: str
    requests: int
    plain: Totals
    compressed: Totals
    provider: tuple[int, float]
    ms: list[float]
    by_tool: dict[str, list[int]] = field(default_factory=dict)  # tool -> [results, tokens, compressed]


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def new_results(
    before: int, plain: list[dict[str, Any]], compressed: list[dict[str, Any]], names: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(tool name, text as sent, text as compressed) of the tool results in the messages from index
    ``before`` on: the results this request carries for the first time. ``names`` maps call ids to
    tool names (filled from the assistant messages as they are seen)."""
    found: list[tuple[str, str, str]] = []
    for message, sent in zip(plain[before:], compressed[before:], strict=False):
        blocks = message.get("content")
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
        sent_blocks = sent.get("content") if isinstance(sent.get("content"), list) else []
        for index, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "tool_result" and index < len(sent_blocks):
                name = names.get(str(block.get("tool_use_id")), "?")
                found.append((name, _result_text(block), _result_text(sent_blocks[index])))
    return found


def replay(session: Session, headroom: Any, count: Callable[[str], int]) -> Replay:
    """Every request of ``session`` through ``headroom``, in order, as the proxy would send it."""
    plain: list[list[str]] = []
    compressed: list[list[str]] = []
    ms: list[float] = []
    by_tool: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    seen = 0  # messages carried by the previous request
    for request in session.requests:
        started = time.perf_counter()
        result = headroom.compress(request.messages)
        ms.append((time.perf_counter() - started) * 1000)
        plain.append(canonical(request.messages))
        compressed.append(canonical(result.messages))
        for name, text, sent in new_results(seen, request.messages, list(result.messages), names):
            tally = by_tool.setdefault(name, [0, 0, 0])
            tally[0] += 1
            tally[1] += count(text)
            tally[2] += count(sent)
        seen = len(request.messages)
    times = [request.at for request in session.requests]
    plain_totals, compressed_totals = account(plain, count, times), account(compressed, count, times)
    return Replay(session.name, len(session.requests), plain_totals, compressed_totals,
                  provider_billed(session.requests), ms, by_tool)  # fmt: skip


def _saved(before: float, after: float) -> str:
    return f"{100 * (1 - after / before):.1f}%" if before else "-"


def run_sessions(data: Path, say: Callable[[str], None]) -> list[Section]:
    from headroom import Config, Headroom

    section = Section(
        "sessions",
        "sessions: recorded Claude Code runs replayed request by request (cache simulated)",
        ["session", "requests", "input tokens", "compressed", "saved", "billed saved", "prefix stable",
         "provider billed vs simulated", "median ms", "p95 ms"],
        text_columns=1,
    )  # fmt: skip
    sources = [(path, load_export) for path in sorted((data / "sessions" / "claude-code-export").glob("*.md"))
               if path.name != "README.md"]  # fmt: skip
    sources += [
        (path, load_stream_json) for path in sorted((data / "sessions" / "skillsbench").glob("*.jsonl"))
    ]
    replays: list[Replay] = []
    with tempfile.TemporaryDirectory(prefix="headroom-sessions-") as tmp:
        headroom = Headroom(Config(store=f"sqlite:///{tmp}/store.db", ledger=False))
        count = headroom.tokenizer().count
        for path, load in sources:
            say(f"sessions: {path.name}")
            replays.append(replay(load(path), headroom, count))
        headroom.close()
    for one in replays:
        _, provider = one.provider
        section.rows.append([
            one.name, str(one.requests), fmt_int(one.plain.tokens), fmt_int(one.compressed.tokens),
            _saved(one.plain.tokens, one.compressed.tokens), _saved(one.plain.billed, one.compressed.billed),
            f"{one.compressed.stable}/{max(one.requests - 1, 0)}",
            f"{provider / one.plain.billed:.2f}" if one.plain.billed and provider else "-",
            fmt_ms(statistics.median(one.ms)) if one.ms else "-",
            fmt_ms(sorted(one.ms)[int(0.95 * (len(one.ms) - 1))]) if one.ms else "-",
        ])  # fmt: skip
    every = [ms for one in replays for ms in one.ms]
    plain_tokens = sum(one.plain.tokens for one in replays)
    compressed_tokens = sum(one.compressed.tokens for one in replays)
    plain_billed = sum(one.plain.billed for one in replays)
    compressed_billed = sum(one.compressed.billed for one in replays)
    stable = sum(one.compressed.stable for one in replays)
    provider_total = sum(one.provider[1] for one in replays)
    recorded = sum(one.plain.billed for one in replays if one.provider[1])  # the runs with usage figures
    pairs = sum(max(one.requests - 1, 0) for one in replays)
    section.rows.append([
        "all", str(sum(one.requests for one in replays)), fmt_int(plain_tokens), fmt_int(compressed_tokens),
        _saved(plain_tokens, compressed_tokens), _saved(plain_billed, compressed_billed), f"{stable}/{pairs}",
        f"{provider_total / recorded:.2f}" if recorded else "-",
        fmt_ms(statistics.median(every)) if every else "-",
        fmt_ms(sorted(every)[int(0.95 * (len(every) - 1))]) if every else "-",
    ])  # fmt: skip
    section.notes.append(
        "provider billed vs simulated: the provider's usage figures priced the same way, over the "
        "uncompressed simulation (the system prompt and tool schemas are not in the transcripts, so "
        "the provider's figure is higher)"
    )
    tools = Section("session-tools", "sessions: tool results by tool, as the request that first carried them",
                    ["tool", "results", "tokens", "compressed", "saved"], text_columns=1)  # fmt: skip
    merged: dict[str, list[int]] = {}
    for one in replays:
        for name, (results, tokens, sent) in one.by_tool.items():
            tally = merged.setdefault(name, [0, 0, 0])
            tally[0], tally[1], tally[2] = tally[0] + results, tally[1] + tokens, tally[2] + sent
    for name, (results, tokens, sent) in sorted(merged.items(), key=lambda item: -item[1][1]):
        tools.rows.append([name, fmt_int(results), fmt_int(tokens), fmt_int(sent), _saved(tokens, sent)])
    tools.data = {"tools": merged}
    section.data = {
        "sessions": [
            {"name": r.name, "requests": r.requests, "tokens": [r.plain.tokens, r.compressed.tokens],
             "billed": [r.plain.billed, r.compressed.billed], "stable": r.compressed.stable,
             "provider": list(r.provider), "ms": r.ms}
            for r in replays
        ]
    }  # fmt: skip
    return [section, tools]
