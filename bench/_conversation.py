"""Conversations: prefix stability, the memo and the token budget on a scripted agent conversation.

A 20-turn agent session in the OpenAI chat shape, every tool result taken from the benchmark corpus
(logs, GitHub API JSON, grep output, source files, a ``git log -p``, a SQuAD article), each turn a
user request, an assistant tool call, the result and a short answer. Measured:

- prefix stability: request n+1 (the conversation one turn longer) compressed begins with exactly
  the messages of request n compressed (canonical JSON per message), with one long-lived instance
  (memo warm) and with a fresh instance per request (no memo: stability comes from causal queries);
  a batch step of the freshness rule (a result sent whole before is compressed now) is on purpose;
- the memo: a 50-message history compressed once on a fresh instance vs the same history re-sent
  (a deep copy, as a client re-sends it), default config with the ledger on; target >= 20x cheaper;
- the token budget: every request of the session under ``max_context_tokens`` unless ``over_budget``,
  tool call/result pairs intact, every stub retrievable, and how often the prefix changed.
"""

from __future__ import annotations

import copy
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ._core import Check, Context, Section
from ._format import fmt_int, fmt_ms, mark
from ._sessions import aged

MEMO_TARGET = 20.0
TURNS = 20
_RUNS = 7


def _tool_results(data: Path) -> list[tuple[str, dict[str, str], str, str]]:
    """(tool, arguments, question, result) for each turn's tool call, from the corpus."""
    logs = data / "logs"
    squad = (data / "qa" / "squad_v2_dev_answerable.jsonl").read_text(encoding="utf-8").splitlines()
    article = [json.loads(line) for line in squad[:400]]
    title = article[0]["title"]
    paragraphs = list(dict.fromkeys(row["context"] for row in article if row["title"] == title))
    diff = (data / "diffs" / "flask_git_log_p_100.txt").read_text(encoding="utf-8", errors="replace")
    return [
        ("read_file", {"path": "logs/Apache_2k.log"}, "Why does the Apache server log errors?",
         (logs / "Apache_2k.log").read_text(encoding="utf-8", errors="replace")),
        ("github_api", {"endpoint": "issues"}, "Which open issues mention pagination?",
         (data / "json" / "octokit_paginate-issues.raw-fixture.json").read_text(encoding="utf-8")),
        ("grep", {"pattern": "def|raise"}, "Where is abort raised?",
         (data / "tool_outputs" / "grep_rn_flask_def_raise.txt").read_text(encoding="utf-8")),
        ("read_file", {"path": "flask/app.py"}, "How does Flask dispatch a request?",
         (data / "code" / "flask_app.py").read_text(encoding="utf-8")),
        ("read_file", {"path": "logs/HDFS_2k.log"}, "Which HDFS blocks failed to replicate?",
         (logs / "HDFS_2k.log").read_text(encoding="utf-8", errors="replace")),
        ("git_log", {"args": "-p -n 100"}, "What changed in the session handling?", diff[: len(diff) // 4]),
        ("web_fetch", {"url": "https://en.wikipedia.org/wiki/" + title}, article[0]["question"],
         "\n\n".join(paragraphs)),
        ("read_file", {"path": "cobra/command.go"}, "How are flags parsed?",
         (data / "code" / "cobra_command.go").read_text(encoding="utf-8")),
        ("read_file", {"path": "logs/OpenSSH_2k.log"}, "Who failed to log in over ssh?",
         (logs / "OpenSSH_2k.log").read_text(encoding="utf-8", errors="replace")),
        ("github_api", {"endpoint": "repos"}, "What is the new repository name?",
         (data / "json" / "octokit_rename-repository.raw-fixture.json").read_text(encoding="utf-8")),
        ("read_file", {"path": "logs/Spark_2k.log"}, "Did any Spark executor fail?",
         (logs / "Spark_2k.log").read_text(encoding="utf-8", errors="replace")),
        ("read_file", {"path": "zod/types.ts"}, "How is ZodString validated?",
         (data / "code" / "zod_v3_types.ts").read_text(encoding="utf-8")),
    ]  # fmt: skip


def conversation(results: list[tuple[str, dict[str, str], str, str]], turns: int) -> list[dict[str, Any]]:
    """The scripted session after ``turns`` turns (a system prompt and four messages per turn)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a coding agent. Use the tools to answer precisely."}
    ]
    for turn in range(turns):
        tool, arguments, question, result = results[turn % len(results)]
        call_id = f"call_{turn:03d}"
        messages += [
            {"role": "user", "content": f"{question} (step {turn + 1})"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function",
             "function": {"name": tool, "arguments": json.dumps(arguments)}}]},
            {"role": "tool", "tool_call_id": call_id, "content": result},
            {"role": "assistant", "content": f"Step {turn + 1}: I read the {tool} output and answered."},
        ]  # fmt: skip
    return messages


def _canonical(messages: list[Any]) -> list[str]:
    return [json.dumps(m, sort_keys=True, ensure_ascii=False) for m in messages]


def _stable_pairs(outputs: list[list[str]]) -> int:
    return sum(1 for a, b in itertools.pairwise(outputs) if b[: len(a)] == a)


def _pairs_intact(messages: list[dict[str, Any]]) -> bool:
    calls = [c["id"] for m in messages if m.get("tool_calls") for c in m["tool_calls"]]
    return calls == [m["tool_call_id"] for m in messages if m.get("role") == "tool"]


def run_conversation(ctx: Context) -> Section:
    from headroom import Config, Headroom
    from headroom.integration import MARKER_RE

    section = Section("conversation", "conversations: prefix stability, memo, token budget",
                      ["measure", "case", "value", "target"])  # fmt: skip
    results = _tool_results(ctx.data_dir)
    sessions = [conversation(results, turns) for turns in range(1, TURNS + 1)]
    with tempfile.TemporaryDirectory(prefix="headroom-conv-") as tmp:
        store = f"sqlite:///{tmp}/store.db"
        ctx.say(f"conversation: prefix stability over {TURNS} turns")
        warm = Headroom(Config(store=store))
        memo_outputs = [_canonical(warm.compress(s).messages) for s in sessions]
        fresh_outputs = []
        for s in sessions:
            hr = Headroom(Config(store=store))
            fresh_outputs.append(_canonical(hr.compress(s).messages))
            hr.close()
        last = warm.compress(sessions[-1])
        stable, fresh_stable = _stable_pairs(memo_outputs), _stable_pairs(fresh_outputs)
        same = memo_outputs == fresh_outputs
        pairs = TURNS - 1
        plain = [_canonical(s) for s in sessions]
        batched = sum(aged(plain[n], memo_outputs[n], memo_outputs[n + 1]) for n in range(pairs))
        stable += batched  # the freshness rule's batch steps change the prefix on purpose
        fresh_stable += sum(aged(plain[n], fresh_outputs[n], fresh_outputs[n + 1]) for n in range(pairs))
        section.rows += [
            ["prefix stability", f"{TURNS} turns, one instance (memo)", f"{stable}/{pairs} ({batched} batch)",
             mark("100%", stable == pairs)],
            ["prefix stability", f"{TURNS} turns, fresh instance per request", f"{fresh_stable}/{pairs}",
             mark("100%", fresh_stable == pairs)],
            ["tokens", f"turn {TURNS}: {len(sessions[-1])} messages",
             f"{fmt_int(last.tokens_before)} -> {fmt_int(last.tokens_after)} "
             f"({last.tokens_before / max(last.tokens_after, 1):.1f}x)", "-"],
        ]  # fmt: skip
        detail = f"{stable}/{pairs} memo, {fresh_stable}/{pairs} fresh, equal: {same}"
        section.checks.append(Check("prefix stability 100% beside batch steps (scripted 20 turns)",
                                    stable == pairs and fresh_stable == pairs and same, detail))  # fmt: skip
        warm.close()

        ctx.say("conversation: memo on a re-sent 50-message history")
        history = [*conversation(results, 12), {"role": "user", "content": "Summarise what you found."}]
        assert len(history) == 50
        first: list[float] = []
        resent: list[float] = []
        for run in range(_RUNS):
            hr = Headroom(Config(store=f"sqlite:///{tmp}/memo{run}.db"))
            hr.compress(conversation(results, 1)[:1])  # open the store and the ledger outside the timing
            started = time.perf_counter()
            hr.compress(history)
            first.append((time.perf_counter() - started) * 1000)
            for _ in range(3):
                again = copy.deepcopy(history)
                started = time.perf_counter()
                hr.compress(again)
                resent.append((time.perf_counter() - started) * 1000)
            hr.close()
        first_ms, resent_ms = statistics.median(first), statistics.median(resent)
        speedup = first_ms / resent_ms
        section.rows += [
            ["memo", "50 messages, first compression", fmt_ms(first_ms), "-"],
            ["memo", "50 messages, re-sent", fmt_ms(resent_ms), "-"],
            ["memo", "first / re-sent", f"{speedup:.0f}x",
             mark(f">= {MEMO_TARGET:g}x", speedup >= MEMO_TARGET)],
        ]  # fmt: skip
        detail = f"{first_ms:.1f} ms -> {resent_ms:.2f} ms ({speedup:.0f}x)"
        section.checks.append(Check(f"memo: re-sent 50-message history >= {MEMO_TARGET:g}x cheaper",
                                    speedup >= MEMO_TARGET, detail))  # fmt: skip

        ctx.say("conversation: token budget over the session")
        plain = Headroom(Config(store=store))
        full = plain.compress(sessions[-1]).tokens_after
        budget = max(full // 3, 1000)
        budgeted = Headroom(Config(store=store, max_context_tokens=budget))
        outputs: list[list[str]] = []
        under = intact = retrievable = stubs = over = 0
        for s in sessions:
            result = budgeted.compress(s)
            outputs.append(_canonical(result.messages))
            over += result.over_budget
            under += result.tokens_after <= budget or result.over_budget
            intact += _pairs_intact(result.messages)
            for message in result.messages:
                text = message.get("content") if message.get("role") == "tool" else None
                if isinstance(text, str) and text.startswith("[older tool result"):
                    match = MARKER_RE.search(text)
                    stubs += 1
                    original = s[result.messages.index(message)]["content"]
                    retrievable += match is not None and budgeted.retrieve(match["ref"]) == original
        changes = pairs - _stable_pairs(outputs)
        ok = under == TURNS and intact == TURNS and retrievable == stubs
        section.rows += [
            ["budget", f"max_context_tokens {fmt_int(budget)} ({TURNS} requests)",
             f"{under}/{TURNS} within (over_budget {over})", mark("all", under == TURNS)],
            ["budget", "tool call/result pairs intact", f"{intact}/{TURNS}", mark("all", intact == TURNS)],
            ["budget", "stubs retrievable (exact original)", f"{retrievable}/{stubs}",
             mark("all", retrievable == stubs)],
            ["budget", "requests whose prefix changed", f"{changes}/{pairs}", "rare"],
        ]  # fmt: skip
        detail = f"{under}/{TURNS} within, {intact}/{TURNS} intact, {retrievable}/{stubs} stubs"
        section.checks.append(Check("budget: every request within it or over_budget; pairs intact; "
                                    "stubs retrievable", ok, detail))  # fmt: skip
        section.data.update(
            prefix_stable=stable, prefix_stable_fresh=fresh_stable, pairs=pairs, outputs_equal=same,
            tokens_before=last.tokens_before, tokens_after=last.tokens_after, memo_first_ms=first_ms,
            memo_resent_ms=resent_ms, memo_speedup=speedup, budget=budget, budget_within=under,
            budget_over=over, budget_pairs_intact=intact, stubs=stubs, stubs_retrievable=retrievable,
            budget_prefix_changes=changes,
        )  # fmt: skip
        plain.close()
        budgeted.close()
    return section
