"""The conversation policy: what in a conversation is compressed, with which query, and how.

- Tool results are compressed (``include_tools`` / ``exclude_tools`` globs over the tool's name);
  user turns only with ``compress_user_messages``; the system prompt, assistant text and tool-call
  arguments never. ``headroom_retrieve`` results and blocks that already carry our markers pass
  through, so compressing twice (an adapter at two points) changes nothing.
- Causal queries: a tool result is compressed with the text of the user turn before it (the request
  that led to the call), never with a later turn, so an unchanged prefix compresses to the same bytes
  on every request and providers' prompt caches keep hitting.
- Errors (``is_error``, a non-zero exit code, a traceback) are compressed gently: the traceback, or the
  last lines, stay verbatim (``errors``) and only what comes before and after is compressed, with a
  larger budget.
- Every decision is memoised by content hash, so re-sending the same history costs a hash and a lookup
  per block; a memoised result is only reused while the store still holds its originals.
- Then the token budget (``budget``) and the prompt-cache checks (``prefix``) run over the whole.

``Conversations`` lives as long as its engine (it holds the memos and the prefix watch); each call
is one ``_Run``. Every text goes through the ``Pipeline``, never through the facade.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .._cache import CACHED_OUTCOMES
from .._config import Config
from .._errors import ConfigError
from .._markers import TOOL_NAME
from .._pipeline import Pipeline
from .._stats.events import STORE_FAILED, Event
from .._types import BlockOutcome, CompressResult, ResultKind
from . import budget
from .blocks import SYSTEM_INDEX, Block, Role, json_text, read_blocks, replace_at
from .errors import error_line_spans, error_region
from .fresh import WRITE_TOOLS, fresh_blocks
from .memo import Memo, digest
from .prefix import PrefixWatch, align, canonical_tools

GENTLE_BUDGET = 0.5  # share of tokens kept around an error (the error itself is always whole)
_COUNT_MEMO_CHARS = 256  # shorter texts are cheaper to count than to hash
_CALL_ID = "headroom_call"


@dataclass(frozen=True, kw_only=True)
class Done:
    """One block's memoised result: ``text`` None when the block is unchanged."""

    text: str | None
    tokens_before: int
    tokens_after: int
    refs: tuple[str, ...] = ()
    outcome: BlockOutcome
    kind: ResultKind | None


def _done_from(fields: dict[str, Any] | None) -> Done | None:
    """A block's result as the shared cache holds it (``dataclasses.asdict``), or None."""
    if fields is None:
        return None
    try:
        return Done(**{**fields, "refs": tuple(fields["refs"])})
    except (KeyError, TypeError):  # an entry of another shape: the block is compressed again
        return None


def worth_compressing(config: Config, messages: Sequence[Any], system: Any = None) -> bool:
    """Whether compressing ``messages`` could change anything: some block of a compressible role is
    long enough (a text of fewer than ``min_tokens`` characters has fewer than ``min_tokens`` tokens),
    or the budget or cache alignment is on. Costs a walk over the blocks and no token count."""
    if config.max_context_tokens is not None or config.align_cache:
        return True
    roles: tuple[Role, ...] = ("tool", "user") if config.compress_user_messages else ("tool",)
    return any(b.role in roles and len(b.text) >= config.min_tokens for b in read_blocks(messages, system))


def _tool_of(block: Block) -> str | None:
    """The tool whose result ``block`` is, for its ledger events (None for any other text)."""
    return block.tool if block.role == "tool" else None


class Conversations:
    """The conversation policy of one engine: its memos and prefix watch, shared by every call.

    Args:
        pipeline: compresses each text.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.memo: Memo[Done] = Memo(max_entries=8192, max_size=64 << 20)
        self.counts: Memo[int] = Memo(max_entries=65536, max_size=65536)
        self.prefix = PrefixWatch()

    def compress(
        self,
        messages: Any,
        query: str | None,
        model: str | None,
        system: Any = None,
        tools: Any = None,
        retrievable: bool = True,
    ) -> CompressResult:
        """See ``Headroom.compress``."""
        if isinstance(messages, (str, bytes)):
            result = self.pipeline.compress(messages, query=query, retrievable=retrievable, model=model)
            return CompressResult(
                messages=result.text,
                tokens_before=result.tokens_before,
                tokens_after=result.tokens_after,
                refs=result.refs,
            )
        if not isinstance(messages, Sequence):
            raise ConfigError(
                f"messages must be a list of message dicts or a string, not {type(messages).__name__}"
            )
        return _Run(self, query, model, retrievable).run(messages, system, tools)

    def compress_tool_result(
        self,
        content: Any,
        tool: str | None,
        arguments: Any = None,
        query: str | None = None,
        is_error: bool = False,
        model: str | None = None,
        retrievable: bool = True,
        fresh: bool = False,
    ) -> CompressResult:
        """See ``Headroom.compress_tool_result``: the result as a one-call Anthropic conversation."""
        if not isinstance(content, (str, list)):
            raise ConfigError(
                f"a tool result must be a string or a list of text parts, not {type(content).__name__}"
            )
        call = {
            "type": "tool_use",
            "id": _CALL_ID,
            "name": tool,
            "input": arguments if arguments is not None else {},
        }
        result = {"type": "tool_result", "tool_use_id": _CALL_ID, "content": content, "is_error": is_error}
        messages = [{"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]
        run = _Run(self, query, model, retrievable, fresh=fresh)  # not fresh: the caller shows it
        done = run.run(messages, None, None)
        new = done.messages[1]["content"][0]["content"]
        call_tokens = run.count(arguments if isinstance(arguments, str) else json_text(call["input"]))
        return CompressResult(
            messages=new,
            tokens_before=done.tokens_before - call_tokens,
            tokens_after=done.tokens_after - call_tokens,
            refs=done.refs,
        )


class _Run:
    """One ``Headroom.compress`` call: reads the blocks, applies the policy, puts the texts back."""

    def __init__(
        self, policy: Conversations, query: str | None, model: str | None, retrievable: bool,
        fresh: bool = True,
    ) -> None:  # fmt: skip
        self.policy = policy
        self.fresh = fresh  # whether the freshness rule applies (not to a single tool result)
        self.pipeline = policy.pipeline
        self.config = policy.pipeline.config
        self.query = query
        self.model = model
        self.retrievable = retrievable
        tokenizer = self.pipeline.tokenizer(model)
        self.encoding = tokenizer.name
        self._count = tokenizer.count
        self.refs: list[str] = []

    # --- counting ------------------------------------------------------------------------------------

    def count(self, text: str) -> int:
        if len(text) < _COUNT_MEMO_CHARS:
            return self._count(text)
        key = digest("count", self.encoding, text)
        tokens = self.policy.counts.get(key)
        if tokens is None:
            tokens = self._count(text)
            self.policy.counts.put(key, tokens)
        return tokens

    # --- policy --------------------------------------------------------------------------------------

    def excluded(self, block: Block) -> str | None:
        """Why ``block`` is never compressed, or None when the policy allows it."""
        if block.role == "user":
            return None if self.config.compress_user_messages else "user turn (compress_user_messages off)"
        if block.role != "tool":
            return f"{block.role} text is never compressed"
        if block.tool == TOOL_NAME:
            return "headroom_retrieve result"
        if block.tool in WRITE_TOOLS:  # the lines an edit shows are the ones the next edit anchors on
            return f"{block.tool} result: an edit keeps the lines it shows"
        name = block.tool or ""
        if not any(fnmatchcase(name, p) for p in self.config.include_tools):
            return f"tool {name or '(unknown)'} not in include_tools"
        pattern = next((p for p in self.config.exclude_tools if fnmatchcase(name, p)), None)
        return None if pattern is None else f"tool {name or '(unknown)'} matches exclude_tools {pattern!r}"

    def compress_block(self, block: Block, query: str | None) -> Done:
        """The policy's result for one allowed block, from the memo when it was computed before."""
        flags = f"{block.role}:{'error' if block.is_error else ''}:{'' if self.retrievable else 'lossy'}"
        key = digest("block", self.encoding, flags, block.text, query, block.file, self.query)
        started = time.perf_counter()
        cache = self.pipeline.cache
        done = self.policy.memo.get(key)
        shared = cache.block_key(key) if done is None and cache.enabled else None
        if shared is not None:  # another process (or an earlier run) may have compressed this block
            done = _done_from(cache.read(shared))
        if done is not None and self.pipeline.originals.hold(done.refs):
            if shared is not None:
                cache.counted(True)
                self.policy.memo.put(key, done, len(done.text or "") + 64)
            ms = (time.perf_counter() - started) * 1000
            self.pipeline.events.memo_hit(
                done.outcome, done.kind, done.tokens_before, done.tokens_after, self.model, ms
            )
            return done
        if shared is not None:
            cache.counted(False)
        unstable = self._unstable()
        done = self._compress(block, query)
        self.policy.memo.put(key, done, len(done.text or "") + 64)
        if shared is not None and self._unstable() == unstable:  # every compression in it lasts
            cache.write(shared, dataclasses.asdict(done))
        return done

    def _unstable(self) -> int:
        """Compressions so far whose outcome another try could change (a time-out, a store failure):
        a block that had one is not shared. (Another thread's count may move it too: then a block
        is not shared that could have been.)"""
        outcomes = self.pipeline.outcomes
        return sum(count for outcome, count in outcomes.items() if outcome not in CACHED_OUTCOMES)

    def _compress(self, block: Block, query: str | None) -> Done:
        text = block.text
        region = error_region(text, block.is_error) if block.role == "tool" else None
        if region is not None:
            return self._compress_error(block, query, region)
        if block.role == "user":
            return self._compress_user(text, query)
        result = self.pipeline.compress(
            text, query=query, retrievable=self.retrievable, model=self.model, path=block.file
        )
        return Done(
            text=result.text if result.text != text else None,
            tokens_before=result.tokens_before,
            tokens_after=result.tokens_after,
            refs=result.refs,
            outcome=result.outcome,
            kind=result.kind,
        )

    def _compress_user(self, text: str, query: str | None) -> Done:
        """A long user turn (a paste, RAG context): its closing question stays whole and is the query."""
        body, question = _split_question(text)
        result = self.pipeline.compress(
            body, query=self.query or question or query, retrievable=self.retrievable, model=self.model
        )
        tokens_before = self.count(text)
        if result.ref is None:
            return Done(
                text=None,
                tokens_before=tokens_before,
                tokens_after=tokens_before,
                outcome=result.outcome,
                kind=result.kind,
            )
        new_text = result.text + text[len(body) :]
        return Done(
            text=new_text,
            tokens_before=tokens_before,
            tokens_after=self.count(new_text),
            refs=result.refs,
            outcome=result.outcome,
            kind=result.kind,
        )

    def _compress_error(self, block: Block, query: str | None, region: tuple[int, int]) -> Done:
        """Compress around the error region and the lines naming an error, with a larger budget; those
        stay verbatim."""
        text = block.text
        start, end = region
        verbatim = [(a, b) for a, b in error_line_spans(text) if b <= start or a >= end]
        verbatim = sorted([*verbatim, (start, end)])
        pieces: list[tuple[str, bool]] = []
        cursor = 0
        for a, b in verbatim:
            pieces += [(text[cursor:a], False), (text[a:b], True)]
            cursor = b
        pieces.append((text[cursor:], False))
        out: list[str] = []
        refs: list[str] = []
        for piece, whole in pieces:
            if whole or not piece.strip():
                out.append(piece)
                continue
            result = self.pipeline.compress(
                piece,
                query=query,
                budget=GENTLE_BUDGET,
                retrievable=self.retrievable,
                model=self.model,
                path=block.file,
            )
            new = result.text
            if piece.endswith("\n") and not new.endswith("\n"):
                new += "\n"
            out.append(new)
            refs.extend(result.refs)
        tokens_before = self.count(text)
        if not refs:
            return Done(
                text=None,
                tokens_before=tokens_before,
                tokens_after=tokens_before,
                outcome="error_kept",
                kind="text",
            )
        new_text = "".join(out)
        return Done(
            text=new_text,
            tokens_before=tokens_before,
            tokens_after=self.count(new_text),
            refs=tuple(refs),
            outcome="compressed",
            kind="text",
        )

    # --- the whole conversation ----------------------------------------------------------------------

    def run(self, messages: Sequence[Any], system: Any, tools: Any) -> CompressResult:
        blocks = read_blocks(messages, system)
        dones: list[Done] = []
        held: dict[int, list[Event]] = {}  # a block's events, recorded once it is known not to be fresh
        last_user: str | None = None
        events = self.pipeline.events
        for block in blocks:
            query = self.query or last_user
            reason = self.excluded(block)
            if reason is not None:
                tokens = self.count(block.text)
                if block.role == "tool":
                    with events.tool(block.tool):
                        events.excluded(tokens, reason, self.model)
                done = Done(
                    text=None, tokens_before=tokens, tokens_after=tokens, outcome="excluded", kind=None
                )
            else:
                with events.tool(_tool_of(block)), events.held() as kept:
                    done = self.compress_block(block, query)  # fresh or not: memoised for when it ages
                held[len(dones)] = kept
            dones.append(done)
            if block.role == "user" and block.text.strip():
                last_user = block.text
        fresh = (
            fresh_blocks(
                blocks,
                self.config,
                [d.tokens_before for d in dones],
                [d.tokens_before - d.tokens_after for d in dones],
            )
            if self.fresh
            else set()
        )
        kept_whole: set[int] = set()  # messages holding a result that is sent whole for now
        for index in fresh:
            done = dones[index]
            if done.text is not None:
                kept_whole.add(blocks[index].message)
                # counted as sent (whole), not as compressed too; a store pause is still said
                held[index] = [e for e in held.get(index, ()) if e.outcome == STORE_FAILED]
                with events.tool(_tool_of(blocks[index])):
                    events.excluded(done.tokens_before, "fresh: sent whole for now", self.model)
                whole = done.tokens_before
                dones[index] = Done(text=None, tokens_before=whole, tokens_after=whole, outcome="fresh",
                                    kind=done.kind)  # fmt: skip
        for index in sorted(held):
            events.replay(held[index])
        new_texts = {index: done.text for index, done in enumerate(dones) if done.text is not None}
        sizes = [done.tokens_after for done in dones]
        tokens_before = sum(done.tokens_before for done in dones)
        for done in dones:
            self.refs.extend(done.refs)

        fitted = budget.fit(
            self.pipeline,
            blocks,
            sizes,
            new_texts,
            self.count,
            retrievable=self.retrievable,
            model=self.model,
        )
        self.refs.extend(fitted.refs)
        system_texts = [b.text for b in blocks if b.role == "system"]
        volatile = self.policy.prefix.check(system_texts, tools if isinstance(tools, list) else None)
        if self.config.align_cache:
            align(blocks, new_texts)
            if isinstance(tools, list):
                with contextlib.suppress(RecursionError):  # nested too deeply to reorder: sent as given
                    tools = canonical_tools(tools)

        out_messages: list[Any] = list(messages)
        out_system = system
        for index, text in new_texts.items():
            block = blocks[index]
            if block.path is None:
                continue
            if block.message == SYSTEM_INDEX:
                out_system = replace_at(out_system, block.path, text)
            else:
                out_messages[block.message] = replace_at(out_messages[block.message], block.path, text)
        return CompressResult(
            messages=out_messages,
            tokens_before=tokens_before,
            tokens_after=sum(sizes),
            refs=tuple(dict.fromkeys(self.refs)),
            over_budget=fitted.over_budget,
            stubbed=fitted.stubbed,
            volatile=tuple(volatile),
            system=out_system,
            tools=tools,
            fresh=tuple(sorted(kept_whole)),
        )


def _split_question(text: str) -> tuple[str, str | None]:
    """A user turn as (body, closing question): its last paragraph, when short, is the question
    (pastes and RAG context usually end with it); else the whole turn is the body."""
    stripped = text.rstrip()
    cut = stripped.rfind("\n\n")
    last = stripped[cut + 2 :].strip() if cut >= 0 else ""
    if not last or len(last) > 500:
        return text, None
    return text[:cut], last
