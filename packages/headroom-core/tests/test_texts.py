"""compress_texts: several chunks read as one context, under one budget."""

from __future__ import annotations

import pytest
from headroom import Config, ConfigError, Headroom
from headroom._markers import MARKER_RE

QUESTION = "Who approves refunds above 500 euros?"
ANSWER = "Refunds above 500 euros need approval from the finance lead, Dana Okafor."


def chunk(topic: str, n: int, extra: str = "") -> str:
    sentences = [
        f"The {topic} process in region {j} is reviewed every week by the platform team." for j in range(n)
    ]
    return " ".join([*sentences[: n // 2], *([extra] if extra else []), *sentences[n // 2 :]])


@pytest.fixture
def chunks() -> list[str]:
    return [chunk("deploys", 12), chunk("billing", 12, ANSWER), chunk("hiring", 12), chunk("security", 12)]


def test_the_answer_survives_and_irrelevant_chunks_drop(hr: Headroom, chunks: list[str]) -> None:
    out = hr.compress_texts(chunks, QUESTION, retrievable=False)
    assert len(out) == 4
    assert ANSWER in out[1].text
    assert not MARKER_RE.search("".join(c.text for c in out))  # lossy: no marker, refs for the caller
    assert [c.text for c in out if c.text == ""]  # the least relevant chunks are dropped
    total_before = sum(c.tokens_before for c in out)
    assert sum(c.tokens_after for c in out) * 3 < total_before
    for original, result in zip(chunks, out, strict=True):
        assert result.ref is not None
        assert hr.retrieve(result.ref) == original
        assert result.tokens_after == (hr.tokenizer().count(result.text) if result.text else 0)


def test_retrievable_chunks_end_with_their_marker(hr: Headroom, chunks: list[str]) -> None:
    out = hr.compress_texts(chunks, QUESTION)
    for result in out:
        marker = MARKER_RE.search(result.text)
        assert marker is not None
        assert marker["tool"] == "headroom_retrieve"
        assert marker["ref"] == result.ref


def test_budgets(hr: Headroom, chunks: list[str]) -> None:
    total = sum(hr.tokenizer().count(c) for c in chunks)
    tight = hr.compress_texts(chunks, QUESTION, budget=0.1, retrievable=False)
    assert sum(c.tokens_after for c in tight) <= 0.15 * total
    assert ANSWER in tight[1].text
    capped = hr.compress_texts(chunks, QUESTION, max_tokens=60, retrievable=False)
    assert sum(c.tokens_after for c in capped) <= 80
    with pytest.raises(ConfigError, match="budget"):
        hr.compress_texts(chunks, QUESTION, budget=0)
    with pytest.raises(ConfigError, match="max_tokens"):
        hr.compress_texts(chunks, QUESTION, max_tokens=0)


def test_repeats_of_earlier_chunks_go_first(hr: Headroom) -> None:
    shared = " ".join(f"Overlap sentence {j} about refunds and approvals is repeated here." for j in range(6))
    texts = [f"{chunk('billing', 6)}\n\n{shared}", f"{shared}\n\n{chunk('billing', 6, ANSWER)}"]
    out = hr.compress_texts(texts, QUESTION, budget=0.6, retrievable=False)
    second = out[1].text
    assert ANSWER in second
    assert "Overlap sentence 3" not in second  # the overlapping paragraph is not shown twice


def test_small_contexts_and_odd_input_pass_through(store_url: str, chunks: list[str]) -> None:
    hr = Headroom(Config(store=store_url))  # min_tokens 300
    small = ["Refunds need approval.", "Deploys run weekly."]
    assert [c.text for c in hr.compress_texts(small, QUESTION)] == small
    assert [c.outcome for c in hr.compress_texts(small, QUESTION)] == ["below_min_tokens"] * 2
    assert hr.compress_texts([], QUESTION) == []
    once = hr.compress_texts(chunks, QUESTION)
    again = hr.compress_texts([c.text for c in once], QUESTION)
    assert [c.text for c in again] == [c.text for c in once]  # our markers: never compressed twice
    blank = hr.compress_texts(["", "   ", *chunks], QUESTION)
    assert [blank[0].text, blank[1].text] == ["", "   "]
    hr.close()
