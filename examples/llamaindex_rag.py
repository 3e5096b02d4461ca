"""A LlamaIndex query engine with Headroom: the retrieved chunks reach the LLM compressed by question.

Three handbook chapters go into a ``VectorStoreIndex``; the query engine retrieves the top 3 chunks and
``HeadroomNodePostprocessor`` keeps the sentences that answer the question. The stored nodes are never
changed, and each compressed node's ``headroom_ref`` gets its original back.

Run: uv run python examples/llamaindex_rag.py
With OPENAI_API_KEY set (and ``pip install llama-index-llms-openai llama-index-embeddings-openai``)
a real LLM and embedding model are used.
"""

import hashlib
import math
import os
import random
import re
from typing import Any

import headroom
from headroom_llamaindex import HeadroomNodePostprocessor
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import MockLLM

rng = random.Random(4)
FACT = "Refunds above 500 euros need approval from the finance lead, Dana Okafor."


def chapter(topic: str, words: list[str]) -> str:
    sentences = [f"The {rng.choice(words)} process in region {rng.randint(1, 9)} is reviewed with the "
                 f"{rng.choice(words)} checklist every {rng.choice(['week', 'month'])} by team {i}."
                 for i in range(36)]  # fmt: skip
    if topic == "billing":
        sentences.insert(19, FACT)
    return "\n\n".join(" ".join(sentences[i : i + 6]) for i in range(0, len(sentences), 6))


class BagOfWords(BaseEmbedding):
    """A deterministic stand-in for an embedding model: hashed word counts, normalised."""

    def _get_text_embedding(self, text: str) -> list[float]:
        vector = [0.0] * 512
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vector[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % 512] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)


def models() -> tuple[Any, Any]:
    if os.environ.get("OPENAI_API_KEY"):
        from llama_index.embeddings.openai import OpenAIEmbedding
        from llama_index.llms.openai import OpenAI

        return OpenAI(model="gpt-4o-mini"), OpenAIEmbedding()
    return MockLLM(), BagOfWords()  # MockLLM answers with the prompt it was given


topics = {
    "billing": ["invoice", "refund", "payment", "ledger"],
    "deploys": ["rollout", "canary", "cluster", "release"],
    "hiring": ["interview", "candidate", "offer", "referral"],
}
llm, embed_model = models()
documents = [Document(text=chapter(topic, words), doc_id=topic) for topic, words in topics.items()]
index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
question = "Who approves refunds above 500 euros?"
count = headroom.default().tokenizer().count

processor = HeadroomNodePostprocessor()
for processors in ([], [processor]):
    engine = index.as_query_engine(llm=llm, similarity_top_k=3, node_postprocessors=processors)
    response = engine.query(question)
    context = "\n\n".join(node.node.get_content() for node in response.source_nodes)
    label = "with Headroom   " if processors else "without Headroom"
    found = "answer in context" if FACT in context else "answer missing"
    print(f"{label}: {count(context):,} context tokens, {found}")
    if processors and isinstance(llm, MockLLM):
        ref = response.source_nodes[0].node.metadata["headroom_ref"]
        original = processor.headroom.retrieve(ref)
        print(f"node 1 back from its ref: {len(original):,} characters, as stored")
