"""Several texts compressed as one context: RAG chunks retrieved for one question.

Compressed one by one, chunks of a few hundred tokens stay under ``min_tokens`` and each would pay a
marker of its own. Read together, their sentences are scored against the question and chosen under
one budget for the whole context: the most relevant chunks keep the most, a chunk with nothing worth
keeping is dropped, and a sentence or paragraph repeated from an earlier chunk (overlapping chunks)
goes first. Every chunk that lost anything has its original stored under its own ref.

Markers: with ``retrievable`` each changed chunk ends with a marker naming ``headroom_retrieve``; without
it the omissions show as ``…`` only, and the refs are for the caller (``Compressed.ref``), since a
marker per chunk would cost more than most chunks save.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from .._compressors.text import excerpt_many
from .._errors import ConfigError
from .._markers import Marker, make_ref
from .._pipeline import Pipeline
from .._stats.recorder import Trace
from .._types import Compressed, Outcome

QUERY_SHARE, PLAIN_SHARE = 0.25, 0.5  # the text compressor's default shares of the context to keep


def compress_texts(
    pipeline: Pipeline,
    texts: Sequence[str],
    query: str | None,
    budget: float | None,
    max_tokens: int | None,
    retrievable: bool,
    model: str | None,
) -> list[Compressed]:
    """See ``Headroom.compress_texts``: every chunk goes through ``pipeline``'s store and ledger."""
    if budget is not None and not 0 < budget <= 1:
        raise ConfigError(f"budget must be in (0, 1], got {budget!r}")
    if max_tokens is not None and max_tokens <= 0:
        raise ConfigError(f"max_tokens must be > 0, got {max_tokens!r}")
    started = time.perf_counter()
    tokenizer = pipeline.tokenizer(model)
    counts = [tokenizer.count(text) for text in texts]
    total = sum(counts)
    out = [
        pipeline.unchanged(t, "text", n, "not_compressible", tokenizer)
        for t, n in zip(texts, counts, strict=True)
    ]
    if total < pipeline.config.min_tokens:
        out = [_with_outcome(c, "below_min_tokens") for c in out]
    else:
        # chunks that already carry a marker of ours are left alone, and out of the selection
        work = [i for i, text in enumerate(texts) if text.strip() and not pipeline.originals.marked(text)]
        chars = sum(len(texts[i]) for i in work)

        def room(with_query: bool) -> float:
            share = budget if budget is not None else QUERY_SHARE if with_query else PLAIN_SHARE
            limit = share * chars
            if max_tokens is not None and total:
                limit = min(limit, max_tokens * chars / total)
            return limit

        picked = excerpt_many([texts[i] for i in work], query, room) if work else []
        changed = {i: p for i, p in zip(work, picked, strict=True) if p is not None}
        after = {i: _render(texts[i], kept, omitted, retrievable) for i, (kept, omitted) in changed.items()}
        after_tokens = {i: tokenizer.count(text) if text else 0 for i, text in after.items()}
        saved = sum(counts[i] - after_tokens[i] for i in after)
        if saved < pipeline.config.min_saving * total:
            out = [_with_outcome(c, "below_min_saving") for c in out]
        else:
            for i, text in after.items():
                ref = make_ref(texts[i])
                if not pipeline.keep(ref, texts[i], "text"):
                    out[i] = _with_outcome(out[i], "store_failed")
                    continue
                out[i] = replace(
                    out[i],
                    text=text,
                    tokens_after=after_tokens[i],
                    ref=ref,
                    refs=(ref,),
                    outcome="compressed",
                )
    if pipeline.config.ledger:
        ms = (time.perf_counter() - started) * 1000 / max(len(out), 1)
        for result in out:
            pipeline.events.compressed(result, model, Trace(), ms)
    for result in out:
        pipeline.outcomes[result.outcome] += 1
    return out


def _render(original: str, kept: str, omitted: int, retrievable: bool) -> str:
    if not retrievable:
        return kept
    marker = Marker(make_ref(original), True)(omitted, "sentences")
    return f"{kept}\n{marker}" if kept else marker


def _with_outcome(result: Compressed, outcome: Outcome) -> Compressed:
    return replace(result, outcome=outcome)
