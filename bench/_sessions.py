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
from types import SimpleNamespace
from typing import Any

from ._core import Check, Section
from ._format import fmt_int, fmt_ms
from ._judge import Judge, Tally, blocks_of, facts, result_text

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
    answer: list[Any] = field(default_factory=list)  # the content blocks the model answered with


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
                requests[-1].answer = messages[-1]["content"]  # filled as the records come
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
        if role == "assistant":
            requests[-1].answer = messages[-1]["content"]
    return Session(path.name.removesuffix(".md")[:40], requests)


def canonical(messages: Sequence[Any]) -> list[str]:
    return [json.dumps(message, sort_keys=True, ensure_ascii=False) for message in messages]


def readable(message: dict[str, Any]) -> str:
    """What the model reads of a message, as the provider counts it: texts, tool calls' names and
    inputs, tool results' texts, thinking; not the JSON around them, ids or thinking signatures."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            parts.append(f"{block.get('name')} {json.dumps(block.get('input'), ensure_ascii=False)}")
        elif kind == "tool_result":
            parts.append(result_text(block))
        elif kind == "thinking":
            parts.append(str(block.get("thinking", "")))
        elif kind != "redacted_thinking":
            parts.append(json.dumps(block, ensure_ascii=False))
    return "\n".join(parts)


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
    judged: Tally = field(default_factory=Tally)
    judged_by_tool: dict[str, Tally] = field(default_factory=dict)
    result_ms: list[float] = field(default_factory=list)  # per new tool result (its request's time shared)
    misses: list[str] = field(default_factory=list)
    batched: int = 0  # requests whose prefix changed because a result sent whole before was compressed


def new_results(
    before: int, plain: list[dict[str, Any]], compressed: list[dict[str, Any]], names: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(tool name, text as sent, text as compressed) of the tool results in the messages from index
    ``before`` on: the results this request carries for the first time. ``names`` maps call ids to
    tool names (filled from the assistant messages as they are seen)."""
    found: list[tuple[str, str, str]] = []
    for message, sent in zip(plain[before:], compressed[before:], strict=False):
        blocks = blocks_of(message)
        for block in blocks:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name"))
        sent_blocks = blocks_of(sent)
        for index, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "tool_result" and index < len(sent_blocks):
                name = names.get(str(block.get("tool_use_id")), "?")
                found.append((name, result_text(block), result_text(sent_blocks[index])))
    return found


class Gamed:
    """The anti-gaming variant: Headroom's output with every compressed tool result followed by the
    list of its original's distinctive tokens. It must win on the judged metrics and lose on the bill."""

    def __init__(self, headroom: Any) -> None:
        self.headroom = headroom

    def compress(self, messages: list[dict[str, Any]]) -> Any:
        result = self.headroom.compress(messages)
        out = []
        for message, sent in zip(messages, result.messages, strict=True):
            blocks = blocks_of(sent)
            if blocks and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks):
                originals = blocks_of(message)
                sent = {**sent, "content": [_listed(o, b) for o, b in zip(originals, blocks, strict=True)]}
            out.append(sent)
        return SimpleNamespace(messages=out)


def _listed(original: Any, block: Any) -> Any:
    if not isinstance(block, dict) or block.get("type") != "tool_result" or block == original:
        return block
    listed = " ".join(sorted(facts(result_text(original))))
    return {**block, "content": f"{result_text(block)}\n[identifiers: {listed}]"}


def aged(plain: list[str], before: list[str], after: list[str]) -> bool:
    """Whether the prefix changed from ``before`` to ``after`` (compressed requests) at a message where
    ``before`` still sent a block whole (``plain``) that ``after`` compresses: a batch step of the
    freshness rule."""
    shared = common_prefix(before, after)
    if shared >= len(before):
        return False
    if before[shared] == plain[shared]:
        return True
    blocks = [blocks_of(json.loads(message[shared])) for message in (plain, before, after)]
    return any(old == original != new for original, old, new in zip(*blocks, strict=False))


def replay(session: Session, headroom: Any, count: Callable[[str], int]) -> Replay:
    """Every request of ``session`` through ``headroom`` (anything with ``compress(messages)``), in
    order, as the proxy would send it; judged as ``bench._judge`` says."""
    plain: list[list[str]] = []
    compressed: list[list[str]] = []
    ms: list[float] = []
    result_ms: list[float] = []
    by_tool: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    judge = Judge()
    sizes: dict[str, int] = {}  # canonical message -> tokens the model reads in it
    seen = 0  # messages carried by the previous request
    last: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for number, request in enumerate(session.requests):
        started = time.perf_counter()
        result = headroom.compress(request.messages)
        ms.append((time.perf_counter() - started) * 1000)
        sent = list(result.messages)
        plain.append(canonical(request.messages))
        compressed.append(canonical(sent))
        for message, key in zip([*request.messages, *sent], [*plain[-1], *compressed[-1]], strict=True):
            if key not in sizes:  # a message is re-sent with every later request: count it once
                sizes[key] = count(readable(message))
        new = new_results(seen, request.messages, sent, names)
        result_ms += [ms[-1] / len(new)] * len(new) if new else []
        judge.step(number, request.messages, sent, request.answer)
        seen = len(request.messages)
        last = (request.messages, sent)
    judge.finish()
    if session.requests:  # the last request carries every result, in its final form
        for name, text, shown in new_results(0, *last, {}):
            tally = by_tool.setdefault(name, [0, 0, 0])
            tally[0] += 1
            tally[1] += count(text)
            tally[2] += count(shown)
    times = [request.at for request in session.requests]
    batched = sum(1 for number in range(1, len(plain)) if aged(plain[number - 1], compressed[number - 1],
                                                               compressed[number]))  # fmt: skip
    plain_totals = account(plain, sizes.__getitem__, times)
    compressed_totals = account(compressed, sizes.__getitem__, times)
    return Replay(session.name, len(session.requests), plain_totals, compressed_totals,
                  provider_billed(session.requests), ms, by_tool, judge.total, judge.by_tool,
                  result_ms, judge.misses, batched)  # fmt: skip


def _saved(before: float, after: float) -> str:
    return f"{100 * (1 - after / before):.1f}%" if before else "-"


def _share(counts: list[int]) -> str:
    return f"{100 * counts[0] / counts[1]:.1f}% of {fmt_int(counts[1])}" if counts[1] else "-"


def _ratio(counts: list[int]) -> float:
    return counts[0] / counts[1] if counts[1] else 1.0


def _quantile(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))] if values else 0.0


def _sources(data: Path) -> list[tuple[Path, Callable[[Path], Session]]]:
    sources: list[tuple[Path, Callable[[Path], Session]]] = [
        (path, load_export) for path in sorted((data / "sessions" / "claude-code-export").glob("*.md"))
        if path.name != "README.md"
    ]  # fmt: skip
    sources += [
        (path, load_stream_json) for path in sorted((data / "sessions" / "skillsbench").glob("*.jsonl"))
    ]
    return sources


@dataclass
class Overall:
    """A set of replays summed up."""

    replays: list[Replay]
    judged: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        for one in self.replays:
            self.judged.add(one.judged)

    def tokens(self) -> tuple[int, int]:
        return sum(r.plain.tokens for r in self.replays), sum(r.compressed.tokens for r in self.replays)

    def billed(self) -> tuple[float, float]:
        return sum(r.plain.billed for r in self.replays), sum(r.compressed.billed for r in self.replays)

    def ms(self) -> list[float]:
        return [ms for one in self.replays for ms in one.ms]


def replay_all(data: Path, headroom: Any, count: Callable[[str], int], say: Callable[[str], None],
               wrap: Callable[[Any], Any] | None = None) -> Overall:  # fmt: skip
    """Every recorded session of ``data`` through ``headroom`` (or ``wrap(headroom)``)."""
    replays = []
    for path, load in _sources(data):
        say(f"sessions: {path.name}")
        replays.append(replay(load(path), wrap(headroom) if wrap else headroom, count))
    return Overall(replays)


def run_sessions(data: Path, say: Callable[[str], None]) -> list[Section]:
    from headroom import Config, Headroom

    section = Section(
        "sessions",
        "sessions: recorded Claude Code runs replayed request by request (cache simulated)",
        ["session", "requests", "input tokens", "compressed", "saved", "billed saved",
         "prefix stable (batch steps)",
         "facts visible", "edit anchors", "errors", "provider billed vs simulated", "median ms", "p95 ms"],
        text_columns=1,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="headroom-sessions-") as tmp:
        headroom = Headroom(Config(store=f"sqlite:///{tmp}/store.db", ledger=False))
        count = headroom.tokenizer().count
        overall = replay_all(data, headroom, count, say)
        gamed = replay_all(data, headroom, count, say, Gamed)  # the same engine: its memo answers
        headroom.close()
    replays = overall.replays
    for one in replays:
        _, provider = one.provider
        section.rows.append([
            one.name, str(one.requests), fmt_int(one.plain.tokens), fmt_int(one.compressed.tokens),
            _saved(one.plain.tokens, one.compressed.tokens), _saved(one.plain.billed, one.compressed.billed),
            f"{one.compressed.stable}/{max(one.requests - 1, 0)} ({one.batched})", _share(one.judged.uses),
            _share(one.judged.anchors), _share(one.judged.errors),
            f"{provider / one.plain.billed:.2f}" if one.plain.billed and provider else "-",
            fmt_ms(statistics.median(one.ms)) if one.ms else "-", fmt_ms(_quantile(one.ms, 0.95)),
        ])  # fmt: skip
    every = overall.ms()
    plain_tokens, compressed_tokens = overall.tokens()
    plain_billed, compressed_billed = overall.billed()
    stable = sum(one.compressed.stable for one in replays)
    batched = sum(one.batched for one in replays)
    provider_total = sum(one.provider[1] for one in replays)
    recorded = sum(one.plain.billed for one in replays if one.provider[1])  # the runs with usage figures
    pairs = sum(max(one.requests - 1, 0) for one in replays)
    judged = overall.judged
    section.rows.append([
        "all", str(sum(one.requests for one in replays)), fmt_int(plain_tokens), fmt_int(compressed_tokens),
        _saved(plain_tokens, compressed_tokens), _saved(plain_billed, compressed_billed),
        f"{stable}/{pairs} ({batched})", _share(judged.uses), _share(judged.anchors), _share(judged.errors),
        f"{provider_total / recorded:.2f}" if recorded else "-",
        fmt_ms(statistics.median(every)) if every else "-", fmt_ms(_quantile(every, 0.95)),
    ])  # fmt: skip
    section.notes.append(
        "provider billed vs simulated: the provider's usage figures priced the same way, over the "
        "uncompressed simulation (the system prompt and tool schemas are not in the transcripts, so "
        "the provider's figure is higher)"
    )
    section.notes.append(
        "facts visible: uses, within 10 model steps, of a tool result's new identifiers, paths and "
        "numbers that the result still showed; edit anchors: edits whose old lines all showed in the "
        "result they came from; errors: error results whose error lines showed in every request"
    )
    billed_saved = 1 - compressed_billed / plain_billed if plain_billed else 0.0
    tokens_saved = 1 - compressed_tokens / plain_tokens if plain_tokens else 0.0
    result_ms = [ms for one in replays for ms in one.result_ms]
    targets = [
        ("billed input saved >= 40%", billed_saved >= 0.40, f"{100 * billed_saved:.1f}%"),
        ("input tokens saved >= 40%", tokens_saved >= 0.40, f"{100 * tokens_saved:.1f}%"),
        ("used facts visible >= 95%", _ratio(judged.uses) >= 0.95, _share(judged.uses)),
        ("tool-call facts visible >= 97%", _ratio(judged.call_uses) >= 0.97, _share(judged.call_uses)),
        ("edit anchors visible >= 97%", _ratio(judged.anchors) >= 0.97, _share(judged.anchors)),
        ("error text visible 100%", _ratio(judged.errors) == 1.0, _share(judged.errors)),
        ("prefix stable >= 99% beside the batch steps", stable >= 0.99 * (pairs - batched),
         f"{stable}/{pairs - batched} ({batched} batch steps)"),
        ("median <= 5 ms per request", statistics.median(every) <= 5 if every else True,
         fmt_ms(statistics.median(every)) if every else "-"),
        ("p95 <= 50 ms per request", _quantile(every, 0.95) <= 50, fmt_ms(_quantile(every, 0.95))),
    ]  # fmt: skip
    section.checks = [Check(name, passed, detail) for name, passed, detail in targets]
    judged_section = Section(
        "session-judged",
        "sessions: what the agent used next, and the anti-gaming variant (identifier lists appended)",
        ["variant", "saved", "billed saved", "facts visible", "tool-call facts", "edit anchors", "errors",
         "median ms per new result"],
        text_columns=1,
    )  # fmt: skip
    for name, one in (("headroom", overall), ("headroom + identifier lists", gamed)):
        before, after = one.tokens()
        billed_before, billed_after = one.billed()
        per_result = [ms for r in one.replays for ms in r.result_ms]
        judged_section.rows.append([
            name, _saved(before, after), _saved(billed_before, billed_after), _share(one.judged.uses),
            _share(one.judged.call_uses), _share(one.judged.anchors), _share(one.judged.errors),
            fmt_ms(statistics.median(per_result)) if per_result else "-",
        ])  # fmt: skip
    gamed_billed = gamed.billed()
    judged_section.checks.append(
        Check(
            "the identifier-list variant loses on the bill",
            gamed_billed[1] > compressed_billed,
            f"billed {_saved(*gamed_billed)} saved vs {_saved(plain_billed, compressed_billed)}",
        )
    )
    tools = Section("session-tools",
                    "sessions: tool results by tool, as each session's last request has them",
                    ["tool", "results", "tokens", "compressed", "saved", "facts visible", "edit anchors",
                     "errors"], text_columns=1)  # fmt: skip
    merged: dict[str, list[int]] = {}
    merged_judged: dict[str, Tally] = {}
    for one in replays:
        for name, (results, tokens, sent) in one.by_tool.items():
            tally = merged.setdefault(name, [0, 0, 0])
            tally[0], tally[1], tally[2] = tally[0] + results, tally[1] + tokens, tally[2] + sent
        for name, counts in one.judged_by_tool.items():
            merged_judged.setdefault(name, Tally()).add(counts)
    for name, (results, tokens, sent) in sorted(merged.items(), key=lambda item: -item[1][1]):
        counts = merged_judged.get(name, Tally())
        tools.rows.append([name, fmt_int(results), fmt_int(tokens), fmt_int(sent), _saved(tokens, sent),
                           _share(counts.uses), _share(counts.anchors), _share(counts.errors)])  # fmt: skip
    tools.data = {"tools": merged}
    section.data = {
        "sessions": [
            {"name": r.name, "requests": r.requests, "tokens": [r.plain.tokens, r.compressed.tokens],
             "billed": [r.plain.billed, r.compressed.billed], "stable": r.compressed.stable,
             "provider": list(r.provider), "ms": r.ms, "uses": r.judged.uses, "call_uses": r.judged.call_uses,
             "anchors": r.judged.anchors, "errors": r.judged.errors}
            for r in replays
        ],
        "per_result_ms": [statistics.median(result_ms) if result_ms else 0.0,
                          _quantile(result_ms, 0.95)],
    }  # fmt: skip
    return [section, judged_section, tools]
