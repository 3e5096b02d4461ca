"""HeadroomNodePostprocessor in real query and chat engines over a VectorStoreIndex."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from headroom import Config, Headroom
from headroom.integration import MARKER_RE
from headroom_llamaindex import HeadroomNodePostprocessor
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.schema import ImageNode, NodeWithScore, TextNode

TOPICS = {
    "billing": ("invoice", "refund", "currency", "payment", "subscription", "ledger"),
    "deploys": ("rollout", "canary", "cluster", "rollback", "container", "release"),
    "security": ("password", "token", "audit", "encryption", "certificate", "access"),
    "hiring": ("interview", "candidate", "offer", "recruiter", "onboarding", "referral"),
}
FACTS = {
    "billing": "Refunds above 500 euros need approval from the finance lead, Dana Okafor.",
    "deploys": "A canary release runs on 5 percent of the cluster for 30 minutes before the full rollout.",
    "security": "Access tokens expire after 15 minutes and refresh tokens after 14 days.",
    "hiring": "Every candidate meets two engineers and one product manager before an offer.",
}
QUESTION = "Who approves refunds above 500 euros?"


def handbook(topic: str, seed: int) -> str:
    """A long handbook chapter in paragraphs; one key fact sits in the middle."""
    rng = random.Random(seed)
    words = TOPICS[topic]
    sentences = []
    for i in range(48):
        a, b = rng.sample(words, 2)
        sentences.append(f"The {a} process in region {rng.randint(1, 9)} is reviewed together with the {b} "
                         f"checklist every {rng.choice(['week', 'month', 'quarter'])} by team {i}.")  # fmt: skip
    sentences.insert(25, FACTS[topic])
    return "\n\n".join(" ".join(sentences[i : i + 7]) for i in range(0, len(sentences), 7))


def build(kit: Any) -> VectorStoreIndex:
    documents = [Document(text=handbook(topic, seed), metadata={"topic": topic}, doc_id=topic)
                 for seed, topic in enumerate(TOPICS)]  # fmt: skip
    return VectorStoreIndex.from_documents(documents, embed_model=kit.BagOfWords())


def check_answer(hr: Headroom, index: VectorStoreIndex, prompt: str, sources: list[NodeWithScore]) -> None:
    retrieved = index.as_retriever(similarity_top_k=4).retrieve(QUESTION)  # what the engine got
    assert FACTS["billing"] in prompt  # the LLM received the answer
    assert "headroom_ref" not in prompt  # the ref is metadata for the application, hidden from the LLM
    assert not MARKER_RE.search(prompt)  # no retrieve tool in a query engine: no marker names one
    stored = {node.node_id: node.get_content() for node in index.docstore.docs.values()}
    for source in sources:
        original = hr.retrieve(source.node.metadata["headroom_ref"])
        assert stored[source.node.node_id] == original  # the stored node is unchanged, the ref restores it
        assert source.node.get_content() != original
    count = hr.tokenizer().count
    shown = sum(count(n.node.get_content()) for n in sources)
    assert shown * 3 < sum(count(n.node.get_content()) for n in retrieved)


def test_a_query_engine(kit: Any, li_hr: Headroom) -> None:
    index = build(kit)
    before = {node.node_id: node.get_content() for node in index.docstore.docs.values()}
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=4,
                                   node_postprocessors=[HeadroomNodePostprocessor(headroom=li_hr)])  # fmt: skip
    response = engine.query(QUESTION)
    assert response.source_nodes
    assert response.source_nodes[0].node.metadata["topic"] == "billing"  # retrieval is meaningful
    check_answer(li_hr, index, str(response), response.source_nodes)
    assert {node.node_id: node.get_content() for node in index.docstore.docs.values()} == before
    assert li_hr.ledger is not None
    li_hr.ledger.flush()
    assert any(
        e.event == "compress" and e.outcome == "compressed" for e in li_hr.ledger.events(source="llamaindex")
    )


def test_a_query_engine_async(kit: Any, li_hr: Headroom) -> None:
    index = build(kit)
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=4,
                                   node_postprocessors=[HeadroomNodePostprocessor(headroom=li_hr)])  # fmt: skip
    response = asyncio.run(engine.aquery(QUESTION))
    check_answer(li_hr, index, str(response), response.source_nodes)


def test_a_context_chat_engine(kit: Any, li_hr: Headroom) -> None:
    index = build(kit)
    # ChatMemoryBuffer: the default Memory opens an aiosqlite database it never closes
    engine = index.as_chat_engine(chat_mode="context", llm=MockLLM(), similarity_top_k=4,
                                  memory=ChatMemoryBuffer.from_defaults(),
                                  node_postprocessors=[HeadroomNodePostprocessor(headroom=li_hr)])  # fmt: skip
    reply = engine.chat(QUESTION)  # MockLLM answers with the prompt it was given
    check_answer(li_hr, index, str(reply), reply.source_nodes)
    again = asyncio.run(engine.achat(QUESTION))
    check_answer(li_hr, index, str(again), again.source_nodes)


def test_a_token_budget_shrinks_and_drops(kit: Any, li_hr: Headroom) -> None:
    index = build(kit)
    nodes = index.as_retriever(similarity_top_k=8).retrieve(QUESTION)
    count = li_hr.tokenizer().count
    capped = HeadroomNodePostprocessor(headroom=li_hr, max_tokens=120).postprocess_nodes(
        nodes, query_str=QUESTION
    )
    assert sum(count(n.node.get_content()) for n in capped) <= 160
    assert any(FACTS["billing"] in n.node.get_content() for n in capped)
    assert len(capped) < len(nodes)  # the least relevant nodes are dropped
    kept_ids = [n.node.node_id for n in capped]
    assert kept_ids == [n.node.node_id for n in nodes if n.node.node_id in kept_ids]  # order and scores kept
    assert all(n.score == next(m.score for m in nodes if m.node.node_id == n.node.node_id) for n in capped)


def test_overlapping_chunks_are_shown_once(li_hr: Headroom) -> None:
    shared = " ".join(
        f"Overlapping sentence {j} explains how refunds are logged in the ledger." for j in range(6)
    )
    unique = [f"Chunk {i} adds that the billing team {verb} every refund request."
              for i, verb in enumerate(("reviews", "files", "checks"))]  # fmt: skip
    nodes = [NodeWithScore(node=TextNode(text=f"{shared}\n\n{u} " + " ".join(f"Note {i}.{j} on refunds." for j in range(8)),
                                         id_=f"n{i}"), score=1.0 - i / 10)
             for i, u in enumerate(unique)]  # fmt: skip
    out = HeadroomNodePostprocessor(headroom=li_hr, budget=0.6).postprocess_nodes(
        nodes, query_str="how are refunds logged"
    )
    context = "\n".join(n.node.get_content() for n in out)
    assert context.count("Overlapping sentence 3 explains") == 1


def test_empty_lists_images_and_retrievable_markers(li_hr: Headroom) -> None:
    processor = HeadroomNodePostprocessor(headroom=li_hr)
    assert processor.postprocess_nodes([], query_str=QUESTION) == []
    image = NodeWithScore(node=ImageNode(image="iVBORw0KGgo=", text="a chart"), score=0.9)
    text = NodeWithScore(node=TextNode(text=handbook("billing", 1), id_="t"), score=0.8)
    out = processor.postprocess_nodes([image, text], query_str=QUESTION)
    assert out[0] is image  # non-text nodes pass through
    assert FACTS["billing"] in out[1].node.get_content()
    agent_view = HeadroomNodePostprocessor(headroom=li_hr, retrievable=True).postprocess_nodes(
        [text], query_str=QUESTION
    )
    marker = MARKER_RE.search(agent_view[0].node.get_content())
    assert marker is not None
    assert marker["tool"] == "headroom_retrieve"
    assert text.node.get_content() == handbook("billing", 1)  # the caller's node is never changed


def test_settings(li_hr: Headroom) -> None:
    with pytest.raises(Exception, match="not both"):
        HeadroomNodePostprocessor(headroom=li_hr, config=Config())
    default = HeadroomNodePostprocessor()
    assert default.headroom.source == "llamaindex"
    assert HeadroomNodePostprocessor.class_name() == "HeadroomNodePostprocessor"
    default.headroom.close()
