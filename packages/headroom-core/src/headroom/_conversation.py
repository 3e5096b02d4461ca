"""The conversation policy: what in a conversation is compressed, with which query, and how.

- Tool results are compressed (``include_tools`` / ``exclude_tools`` globs over the tool's name);
  user turns only with ``compress_user_messages``; the system prompt, assistant text and tool-call
  arguments never. ``headroom_retrieve`` results and blocks that already carry our markers pass
  through, so compressing twice (an adapter at two points) changes nothing.
- Causal queries: a tool result is compressed with the text of the user turn before it (the request
  that led to the call), never with a later turn, so an unchanged prefix compresses to the same bytes
  on every request and providers' prompt caches keep hitting.
- Errors (``is_error``, a non-zero exit code, a traceback) are compressed gently: the traceback, or the
  last lines, stay verbatim and only what comes before and after is compressed, with a larger budget.
- Every decision is memoised by content hash, so re-sending the same history costs a hash and a lookup
  per block; a memoised result is only reused while the store still holds its originals.
- Then the token budget (``_budget``) and the prompt-cache checks (``_prefix``) run over the whole.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from . import _budget
from ._blocks import SYSTEM_INDEX, Block, json_text, read_blocks, replace_at
from ._detect import detect
from ._errors import ConfigError, StoreError
from ._markers import TOOL_NAME, Marker, make_ref
from ._memo import digest
from ._prefix import canonical_tools, volatile_lines
from ._store import Original
from ._types import CompressResult

if TYPE_CHECKING:
    from ._engine import Headroom

GENTLE_BUDGET = 0.5  # share of tokens kept around an error (the error itself is always whole)
_ERROR_TAIL_LINES = 40
_CRASH_TAIL_LINES = 5  # an output that ends this close after a traceback crashed with it
_CHAIN_GAP_LINES = 3  # lines between two tracebacks of one chained exception
_COUNT_MEMO_CHARS = 256  # shorter texts are cheaper to count than to hash
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):[ \t]*\r?$", re.M)
_EXIT_CODE = re.compile(
    r"(?i)\b(?:exit(?:ed)?(?:\s+with)?\s+(?:code|status)|exit_?code|return_?code)\b"
    r"[\"']?\s*[:=]?\s*[\"']?(-?[1-9]\d*)"
)
_EXIT_SCAN_CHARS = 2_000  # shells and tool runners report exit codes at the start or the end
_MOVED_NOTE = "[moved here from the system prompt by headroom, to keep the prompt cache stable]"


@dataclass(frozen=True)
class Done:
    """One block's memoised result: ``text`` None when the block is unchanged."""

    text: str | None
    tokens_before: int
    tokens_after: int
    refs: tuple[str, ...]
    outcome: str
    kind: str | None


def _traceback_end(text: str, position: int) -> int:
    """Where the traceback whose header ends at ``position`` ends: after its exception line. Reads
    line by line from there (never a copy of the rest of the text: a log may hold thousands)."""
    cursor, first = position, True
    while cursor < len(text):
        newline = text.find("\n", cursor)
        end = len(text) if newline < 0 else newline + 1
        line = text[cursor:end]
        cursor = end
        if first and not line.strip():
            first = False  # the rest of the header line
            continue
        first = False
        if line.strip() and not line[:1].isspace():
            break  # the exception line ends the traceback
    return cursor


def _last_traceback(text: str) -> tuple[int, int] | None:
    """The last traceback, with the ones chained to it ("During handling of the above exception")."""
    spans = [(m.start(), _traceback_end(text, m.end())) for m in _TRACEBACK.finditer(text)]
    if not spans:
        return None
    start, end = spans[-1]
    for earlier_start, earlier_end in reversed(spans[:-1]):
        if text[earlier_end:start].strip().count("\n") > _CHAIN_GAP_LINES:
            break
        start = earlier_start
    return start, end


def error_region(text: str, flagged: bool) -> tuple[int, int] | None:
    """The part of an error result that must stay verbatim: its last traceback, else its last lines.

    A result is an error when it is flagged (``is_error``), reports a non-zero exit code, or ends in
    a traceback (at most a few lines follow it: the command crashed). Tracebacks in the middle of a
    log are the log's own content: the log compressor keeps those, so such a result is no error and
    gets its full compression.
    """
    head, tail = text[:_EXIT_SCAN_CHARS], text[-_EXIT_SCAN_CHARS:]
    failed = flagged or bool(_EXIT_CODE.search(head) or _EXIT_CODE.search(tail))
    traceback = _last_traceback(text)
    if traceback is not None:
        start, end = traceback
        if failed or text[end:].strip().count("\n") < _CRASH_TAIL_LINES:
            return start, end
        return None
    if failed:
        start = len(text)
        for _ in range(_ERROR_TAIL_LINES):
            found = text.rfind("\n", 0, max(start - 1, 0))
            if found < 0:
                return 0, len(text)
            start = found + 1
        return start, len(text)
    return None


class Conversation:
    """One ``Headroom.compress`` call: reads the blocks, applies the policy, puts the texts back."""

    def __init__(
        self, headroom: Headroom, query: str | None, model: str | None, retrievable: bool = True
    ) -> None:
        self.hr = headroom
        self.config = headroom.config
        self.query = query
        self.model = model
        self.retrievable = retrievable
        tokenizer = headroom.tokenizer(model)
        self.encoding = tokenizer.name
        self._count = tokenizer.count
        self.refs: list[str] = []

    # --- counting ------------------------------------------------------------------------------------

    def count(self, text: str) -> int:
        if len(text) < _COUNT_MEMO_CHARS:
            return self._count(text)
        key = digest("count", self.encoding, text)
        tokens = self.hr._counts.get(key)
        if tokens is None:
            tokens = self._count(text)
            self.hr._counts.put(key, tokens)
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
        done = self.hr._memo.get(key)
        if done is not None and self._held(done.refs):
            self.hr.events.memo_hit(done, self.model, (time.perf_counter() - started) * 1000)
            return done
        done = self._compress(block, query)
        self.hr._memo.put(key, done, len(done.text or "") + 64)
        return done

    def _held(self, refs: tuple[str, ...]) -> bool:
        try:
            return all(self.hr.store.contains(ref) for ref in refs)
        except StoreError:
            return False

    def _compress(self, block: Block, query: str | None) -> Done:
        text = block.text
        region = error_region(text, block.is_error) if block.role == "tool" else None
        if region is not None:
            return self._compress_error(block, query, region)
        if block.role == "user":
            return self._compress_user(text, query)
        result = self.hr.compress_text(text, query=query, retrievable=self.retrievable, model=self.model,
                                       path=block.file)  # fmt: skip
        changed = result.text if result.text != text else None
        return Done(changed, result.tokens_before, result.tokens_after, result.refs, result.outcome,
                    result.kind)  # fmt: skip

    def _compress_user(self, text: str, query: str | None) -> Done:
        """A long user turn (a paste, RAG context): its closing question stays whole and is the query."""
        body, question = _split_question(text)
        result = self.hr.compress_text(body, query=self.query or question or query,
                                       retrievable=self.retrievable, model=self.model)  # fmt: skip
        tokens_before = self.count(text)
        if result.ref is None:
            return Done(None, tokens_before, tokens_before, (), result.outcome, result.kind)
        new_text = result.text + text[len(body) :]
        return Done(new_text, tokens_before, self.count(new_text), result.refs, result.outcome, result.kind)

    def _compress_error(self, block: Block, query: str | None, region: tuple[int, int]) -> Done:
        """Compress around the error region with a larger budget; the region itself stays verbatim."""
        text = block.text
        start, end = region
        out: list[str] = []
        refs: list[str] = []
        for piece, verbatim in ((text[:start], False), (text[start:end], True), (text[end:], False)):
            if verbatim or not piece.strip():
                out.append(piece)
                continue
            result = self.hr.compress_text(piece, query=query, budget=GENTLE_BUDGET,
                                           retrievable=self.retrievable, model=self.model,
                                           path=block.file)  # fmt: skip
            new = result.text
            if piece.endswith("\n") and not new.endswith("\n"):
                new += "\n"
            out.append(new)
            refs.extend(result.refs)
        tokens_before = self.count(text)
        if not refs:
            return Done(None, tokens_before, tokens_before, (), "error_kept", "text")
        new_text = "".join(out)
        return Done(new_text, tokens_before, self.count(new_text), tuple(refs), "compressed", "text")

    # --- the whole conversation ----------------------------------------------------------------------

    def run(self, messages: Sequence[Any], system: Any, tools: Any) -> CompressResult:
        blocks = read_blocks(messages, system)
        new_texts: dict[int, str] = {}
        sizes: list[int] = []
        tokens_before = 0
        last_user: str | None = None
        for index, block in enumerate(blocks):
            query = self.query or last_user
            reason = self.excluded(block)
            if reason is not None:
                tokens = self.count(block.text)
                if block.role == "tool":
                    self.hr.events.excluded(tokens, reason, self.model)
                done = Done(None, tokens, tokens, (), "excluded", None)
            else:
                done = self.compress_block(block, query)
            if done.text is not None:
                new_texts[index] = done.text
            self.refs.extend(done.refs)
            tokens_before += done.tokens_before
            sizes.append(done.tokens_after)
            if block.role == "user" and block.text.strip():
                last_user = block.text

        stubbed, over_budget = self._fit_budget(blocks, sizes, new_texts)
        volatile = self.hr._prefix.check([b.text for b in blocks if b.role == "system"], _tool_list(tools))
        if self.config.align_cache:
            self._align(blocks, new_texts)
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
        tokens_after = sum(sizes)
        return CompressResult(
            out_messages, tokens_before, tokens_after, tuple(dict.fromkeys(self.refs)), over_budget,
            stubbed, tuple(volatile), out_system, tools,
        )  # fmt: skip

    def _fit_budget(
        self, blocks: list[Block], sizes: list[int], new_texts: dict[int, str]
    ) -> tuple[int, bool]:
        budget = self.config.max_context_tokens
        if budget is None:
            return 0, False
        total = sum(sizes)
        plan = _budget.plan(blocks, sizes, budget, self.config.keep_last_turns)
        stubbed = 0
        for index in plan.stub:
            block = blocks[index]
            ref = make_ref(block.text)
            stub = self._stub(block, ref)
            if stub is None:
                continue  # the original could not be stored: the block stays as it was
            new_texts[index] = stub
            sizes[index] = self.count(stub)
            self.refs.append(ref)
            stubbed += 1
        over = sum(sizes) > budget
        if stubbed or over:
            self.hr.events.budget(total, sum(sizes), stubbed, over, budget, self.model)
        return stubbed, over

    def _stub(self, block: Block, ref: str) -> str | None:
        """A one-line stand-in for an old tool result; its original stays retrievable under ``ref``."""
        try:
            if not self.hr.store.contains(ref):
                self.hr.store.put(ref, Original(block.text, detect(block.text).kind))
        except (StoreError, ConfigError):
            return None
        tool = f" of {block.tool}" if block.tool else ""
        marker = Marker(ref, self.retrievable)(self.count(block.text), "tokens")
        return f"[older tool result{tool} cleared to fit the context budget] {marker}"

    def _align(self, blocks: list[Block], new_texts: dict[int, str]) -> None:
        """Move volatile lines of the system prompt to the end of the newest user turn."""
        users = [i for i, b in enumerate(blocks) if b.role == "user" and b.path is not None]
        if not users:
            return
        moved: list[str] = []
        for index, block in enumerate(blocks):
            if block.role == "system" and block.path is not None:
                kept, lines = volatile_lines(new_texts.get(index, block.text))
                if lines:
                    new_texts[index] = kept
                    moved.extend(lines)
        if moved:
            last = users[-1]
            current = new_texts.get(last, blocks[last].text)
            new_texts[last] = f"{current}\n\n{_MOVED_NOTE}\n" + "\n".join(moved)


def _split_question(text: str) -> tuple[str, str | None]:
    """A user turn as (body, closing question): its last paragraph, when short, is the question
    (pastes and RAG context usually end with it); else the whole turn is the body."""
    stripped = text.rstrip()
    cut = stripped.rfind("\n\n")
    last = stripped[cut + 2 :].strip() if cut >= 0 else ""
    if not last or len(last) > 500:
        return text, None
    return text[:cut], last


def _tool_list(tools: Any) -> list[Any] | None:
    return tools if isinstance(tools, list) else None


def compress_messages(
    headroom: Headroom,
    messages: Any,
    query: str | None,
    model: str | None,
    system: Any = None,
    tools: Any = None,
    retrievable: bool = True,
) -> CompressResult:
    """See ``Headroom.compress``."""
    if isinstance(messages, (str, bytes)):
        result = headroom.compress_text(messages, query=query, retrievable=retrievable, model=model)
        return CompressResult(result.text, result.tokens_before, result.tokens_after, result.refs)
    if not isinstance(messages, Sequence):
        raise ConfigError(
            f"messages must be a list of message dicts or a string, not {type(messages).__name__}"
        )
    return Conversation(headroom, query, model, retrievable).run(messages, system, tools)


_CALL_ID = "headroom_call"


def compress_tool_result(
    headroom: Headroom,
    content: Any,
    tool: str | None,
    arguments: Any = None,
    query: str | None = None,
    is_error: bool = False,
    model: str | None = None,
    retrievable: bool = True,
) -> CompressResult:
    """See ``Headroom.compress_tool_result``."""
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
    conversation = Conversation(headroom, query, model, retrievable)
    done = conversation.run(messages, None, None)
    new = done.messages[1]["content"][0]["content"]
    call_tokens = conversation.count(arguments if isinstance(arguments, str) else json_text(call["input"]))
    return CompressResult(new, done.tokens_before - call_tokens, done.tokens_after - call_tokens, done.refs)
