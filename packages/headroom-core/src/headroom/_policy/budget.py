"""The token budget: which old tool results to replace by a one-line stub when a conversation is too big.

The choice must not change on every request, or the provider's prompt cache misses every time. So it
is a step function of the conversation's size: with budget ``B`` and low-water mark ``L = 0.6 B``, a
conversation of ``T > B`` tokens has the oldest tool results stubbed up to a cut that moves in steps
of ``B - L`` tokens (``floor((T - L) / (B - L)) * (B - L)`` tokens saved, oldest candidates first).
As the conversation grows, the same results stay stubbed and nothing new is stubbed until the next
step, when ``B - L`` more tokens go at once. The result is between ``L`` and ``B`` tokens.

Never candidates: the system prompt, the last ``keep_last_turns`` turns, user and assistant text,
tool calls (a call keeps its result message: only the result's text becomes a stub, so pairs stay
intact) and ``headroom_retrieve`` results. When what remains still exceeds ``B``, everything that
can go is stubbed and the caller is told (``over_budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._detect import detect
from .._markers import TOOL_NAME, Marker, make_ref
from .._pipeline import Pipeline
from .blocks import Block

LOW_WATER = 0.6
STUB_TOKENS = 40  # a generous estimate of one stub's size, for planning


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What the budget policy decided: block indices to stub, and whether the budget is still exceeded."""

    stub: tuple[int, ...]
    over_budget: bool


def candidates(blocks: Sequence[Block], keep_last_turns: int) -> list[int]:
    """Indices of the tool results the budget may stub, oldest first."""
    last = max((block.turn for block in blocks), default=0)
    protected_from = last - keep_last_turns + 1 if keep_last_turns > 0 else last + 1
    return [
        index
        for index, block in enumerate(blocks)
        if block.role == "tool" and block.tool != TOOL_NAME and block.turn < protected_from
    ]


def plan(blocks: Sequence[Block], sizes: Sequence[int], budget: int, keep_last_turns: int) -> Plan:
    """Choose the tool results to stub so that ``sum(sizes)`` fits ``budget`` (see the module doc).

    Args:
        blocks: the conversation's blocks.
        sizes: tokens of each block as it will be sent (after compression).
        budget: ``Config.max_context_tokens``.
        keep_last_turns: turns never touched.
    """
    total = sum(sizes)
    if total <= budget:
        return Plan(stub=(), over_budget=False)
    low = int(budget * LOW_WATER)
    step = max(budget - low, 1)
    cut = (total - low) // step * step  # > total - budget, so saving it always fits
    chosen: list[int] = []
    saved = 0
    for index in candidates(blocks, keep_last_turns):
        if saved >= cut:
            break
        if sizes[index] > STUB_TOKENS:
            chosen.append(index)
            saved += sizes[index] - STUB_TOKENS
    return Plan(stub=tuple(chosen), over_budget=total - saved > budget)


@dataclass(frozen=True, kw_only=True)
class Fitted:
    """What fitting a conversation to the budget did: how many stubs, their refs, whether it is still over."""

    stubbed: int = 0
    refs: tuple[str, ...] = ()
    over_budget: bool = False


def fit(
    pipeline: Pipeline,
    blocks: Sequence[Block],
    sizes: list[int],
    new_texts: dict[int, str],
    count: Callable[[str], int],
    *,
    retrievable: bool,
    model: str | None,
) -> Fitted:
    """Stub old tool results until the conversation fits ``max_context_tokens`` (off when None).

    ``sizes`` and ``new_texts`` (block index -> the text to send) are updated in place; a block whose
    original cannot be stored stays as it was.
    """
    budget = pipeline.config.max_context_tokens
    if budget is None:
        return Fitted()
    total = sum(sizes)
    chosen = plan(blocks, sizes, budget, pipeline.config.keep_last_turns)
    refs: list[str] = []
    for index in chosen.stub:
        block = blocks[index]
        ref = make_ref(block.text)
        text = _stub(pipeline, block, ref, count, retrievable)
        if text is None:
            continue  # the original could not be stored: the block stays as it was
        new_texts[index] = text
        sizes[index] = count(text)
        refs.append(ref)
    over = sum(sizes) > budget
    if refs or over:
        pipeline.events.budget(total, sum(sizes), len(refs), over, budget, model)
    return Fitted(stubbed=len(refs), refs=tuple(refs), over_budget=over)


def _stub(
    pipeline: Pipeline, block: Block, ref: str, count: Callable[[str], int], retrievable: bool
) -> str | None:
    """A one-line stand-in for an old tool result; its original stays retrievable under ``ref``."""
    if not pipeline.originals.hold([ref]) and not pipeline.keep(ref, block.text, detect(block.text).kind):
        return None
    tool = f" of {block.tool}" if block.tool else ""
    marker = Marker(ref, retrievable)(count(block.text), "tokens")
    return f"[older tool result{tool} cleared to fit the context budget] {marker}"
