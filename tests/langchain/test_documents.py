"""HeadroomDocumentCompressor inside a real ContextualCompressionRetriever over an in-memory store."""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
from typing import Any

from headroom import Headroom
from headroom.integration import MARKER_RE
from headroom_langchain import HeadroomDocumentCompressor
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore

DIMENSIONS = 512
TOPICS = {
    "billing": ("invoice", "refund", "currency", "payment", "subscription", "tax"),
    "deploys": ("rollout", "canary", "cluster", "rollback", "container", "release"),
    "security": ("password", "token", "audit", "encryption", "certificate", "access"),
}
FACTS = {
    "billing": "Refunds above 500 euros need approval from the finance lead, Dana Okafor.",
    "deploys": "A canary release runs on 5 percent of the cluster for 30 minutes before the full rollout.",
    "security": "Access tokens expire after 15 minutes and refresh tokens after 14 days.",
}


class BagOfWords(Embeddings):
    """A deterministic embedding that makes retrieval meaningful: hashed word counts, normalised."""

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


def handbook(topic: str, seed: int) -> str:
    """A long handbook chapter: many plausible sentences on one topic, one key fact in the middle."""
    rng = random.Random(seed)
    words = TOPICS[topic]
    sentences = []
    for i in range(60):
        a, b = rng.sample(words, 2)
        sentences.append(
            f"The {a} process in region {rng.randint(1, 9)} is reviewed together with the {b} checklist "
            f"every {rng.choice(['week', 'month', 'quarter'])} by team {rng.choice('ABCDEFG')}{i}."
        )
    sentences.insert(31, FACTS[topic])
    paragraphs = [" ".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6)]
    return f"# {topic.title()} handbook\n\n" + "\n\n".join(paragraphs)


def retriever(hr: Headroom) -> tuple[ContextualCompressionRetriever, InMemoryVectorStore, list[Document]]:
    store = InMemoryVectorStore(BagOfWords())
    documents = [
        Document(
            page_content=handbook(topic, seed), metadata={"topic": topic, "source": f"{topic}.md"}, id=topic
        )
        for seed, topic in enumerate(TOPICS)
    ]
    store.add_documents(documents)
    base = store.as_retriever(search_kwargs={"k": 2})
    compressor = HeadroomDocumentCompressor(headroom=hr)
    return ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base), store, documents


def check(hr: Headroom, found: list[Document], store: InMemoryVectorStore, originals: list[Document]) -> None:
    assert found[0].metadata["topic"] == "billing"  # meaningful retrieval
    top = found[0]
    assert FACTS["billing"] in top.page_content  # the answer survives, verbatim
    marker = MARKER_RE.search(top.page_content)
    assert marker is not None
    assert marker["tool"] is None  # the model reading RAG context has no retrieve tool
    assert top.metadata["headroom_ref"] == marker["ref"]
    assert top.metadata["source"] == "billing.md"  # metadata preserved
    assert top.id == "billing"
    count = hr.tokenizer().count
    original = next(d for d in originals if d.id == "billing")
    assert count(top.page_content) * 3 < count(original.page_content)
    assert hr.retrieve(top.metadata["headroom_ref"]) == original.page_content
    stored = store.get_by_ids(["billing"])[0]
    assert stored.page_content == original.page_content  # the indexed documents never change
    assert "headroom_ref" not in stored.metadata


def test_a_contextual_compression_retriever(lc_headroom: Headroom) -> None:
    compression, store, documents = retriever(lc_headroom)
    found = compression.invoke("Who approves refunds above 500 euros?")
    check(lc_headroom, list(found), store, documents)


def test_the_async_path(lc_headroom: Headroom) -> None:
    compression, store, documents = retriever(lc_headroom)
    found = asyncio.run(compression.ainvoke("Who approves refunds above 500 euros?"))
    check(lc_headroom, list(found), store, documents)


def test_small_documents_pass_through_unchanged(lc_headroom: Headroom) -> None:
    small = Document(page_content="Refunds need approval.", metadata={"a": 1})
    out = HeadroomDocumentCompressor(headroom=lc_headroom).compress_documents([small], "refunds")
    assert out == [small]
    assert "headroom_ref" not in small.metadata


def test_a_budget_option_keeps_less(lc_headroom: Headroom) -> None:
    document = Document(page_content=handbook("deploys", 4))
    query = "How long does a canary release run?"
    default: Any = HeadroomDocumentCompressor(headroom=lc_headroom).compress_documents([document], query)[0]
    tight: Any = HeadroomDocumentCompressor(headroom=lc_headroom, budget=0.05).compress_documents(
        [document], query
    )
    count = lc_headroom.tokenizer().count
    assert count(tight[0].page_content) < count(default.page_content)
    assert FACTS["deploys"] in tight[0].page_content
