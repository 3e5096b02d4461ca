"""Freshness: the tool results the agent is about to act on stay whole.

Agents act on what they read a moment ago: the identifiers, paths and numbers of the last few results,
and the lines of the file they are about to edit. So a tool result is sent verbatim while it is fresh
and compressed once it has aged, and ageing happens in batches, so the prompt cache's prefix changes
rarely (every change to an earlier block makes the provider write everything after it again):

- every tool result has an age key: the turn it arrived in. A file read (a call naming a file, by a tool
  that is not one of ``WRITE_TOOLS``) gets ``view_turns - fresh_turns`` more (None: it never ages):
  agents edit lines they read long ago. A read is not aged sooner when the file is read again or
  rewritten: compressing an early block rewrites the whole cached prefix after it, and on the session
  replay that cost more than it saved (billed saved 37.0% with stale reads aged, 41.3% without);
- the turns are cut into batches greedily from the start of the conversation: a batch closes at the
  end of the first turn where it spans at least ``fresh_batch`` turns and compressing its results
  saves at least ``fresh_batch_tokens`` (rewriting the cached prefix after it must pay). The boundary
  is the end of the last batch that closed at least ``fresh_turns`` turns before the newest turn;
- results whose key is at most the boundary are compressed, the rest are sent whole. The boundary
  moves at most once every ``fresh_batch`` turns: the cached prefix changes on those steps only;
- a result of more than ``fresh_max_tokens`` tokens is never fresh: no agent acts on all of it, and
  sending it whole for several turns costs more than a retrieval. A file read is the exception, as
  big as it is: it is the text the agent edits next (on the replay, capping reads too hid 4% of the
  facts the agent used next, and 2.5% of its tool-call inputs, to save 0.5% more of the bill).

The rule reads nothing but the conversation itself, so every process (proxy workers, adapters) makes
the same decision for the same request, and a re-sent prefix gets the same bytes until the boundary
moves. ``fresh_turns = 0`` turns it off: every result is compressed as soon as it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._config import Config
from .blocks import Block

WRITE_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit", "write_file", "edit_file",
                         "create_file", "apply_patch"})  # fmt: skip
_FOREVER = 1 << 40  # turns: a current view never ages


def boundary(blocks: Sequence[Block], savings: Sequence[int], config: Config) -> int:
    """The last turn whose results may be compressed: the end of the last batch that closed at least
    ``fresh_turns`` turns ago. Batches are cut greedily from the start of the conversation: one closes
    at the end of the first turn where it spans ``fresh_batch`` turns and the savings its results would
    bring reach ``fresh_batch_tokens``."""
    newest = max(block.turn for block in blocks)
    per_turn: dict[int, int] = {}
    for block, saving in zip(blocks, savings, strict=True):
        if block.role == "tool" and saving > 0:
            per_turn[block.turn] = per_turn.get(block.turn, 0) + saving
    cut, gathered = -1, 0
    for turn in sorted(per_turn):
        if turn > newest - config.fresh_turns:
            break
        gathered += per_turn[turn]
        if gathered >= config.fresh_batch_tokens and turn - cut >= config.fresh_batch:
            cut, gathered = turn, 0
    return cut


def fresh_blocks(
    blocks: Sequence[Block], config: Config, tokens: Sequence[int], savings: Sequence[int]
) -> set[int]:
    """The indices of the tool-result blocks sent whole in this request (see the module docstring):
    ``tokens[i]`` is block i's size, ``savings[i]`` what compressing it saves."""
    if config.fresh_turns <= 0 or not blocks:
        return set()
    cut = boundary(blocks, savings, config)
    extra = _FOREVER if config.view_turns is None else max(config.view_turns - config.fresh_turns, 0)
    fresh: set[int] = set()
    for index, block in enumerate(blocks):
        view = bool(block.file) and block.tool not in WRITE_TOOLS
        if block.role != "tool" or (not view and tokens[index] > config.fresh_max_tokens):
            continue
        key = block.turn + extra if view else block.turn
        if key > cut:
            fresh.add(index)
    return fresh
