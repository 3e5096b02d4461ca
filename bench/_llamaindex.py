"""LlamaIndex RAG: SQuAD articles as paragraph nodes in a ``VectorStoreIndex``, top-8 per question.

Each SQuAD article (bench-data, not this repository's) becomes one index whose nodes are its paragraphs,
embedded with a deterministic hashed bag of words (so retrieval is meaningful and repeatable). For every
answerable question, the real retriever returns the top 8 nodes and ``HeadroomNodePostprocessor``
compresses them with the question. Measured on the context the LLM would see (node contents joined):

- ratio: tokens of the top-8 contexts / tokens after the postprocessor, over every question (>= 4x);
- retention: of the questions whose gold answer is in the uncompressed top-8, the share whose answer is
  still there after compression (SQuAD normalisation; target >= 97%), and the absolute share of all
  questions;
- overhead: the postprocessor's time minus the time inside ``Headroom.compress_texts``, per node
  (median over questions; target < 1 ms).
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
import tempfile
import time
from typing import Any

from ._adapters import time_core
from ._core import Check, Context, Section, read_text
from ._format import fmt_int, fmt_ms, fmt_pct, mark, plain
from ._text import answer_retained, load_articles, normalize_answer

TOP_K = 8
RATIO_TARGET = 4.0
RETENTION_TARGET = 0.97
OVERHEAD_TARGET_MS = 1.0
DIMENSIONS = 1024


def _embedding() -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    def vector(text: str) -> list[float]:
        counts = [0.0] * DIMENSIONS
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            if len(word) > 2:
                counts[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(v * v for v in counts)) or 1.0
        return [v / norm for v in counts]

    class BagOfWords(BaseEmbedding):
        def _get_text_embedding(self, text: str) -> list[float]:
            return vector(text)

        def _get_query_embedding(self, query: str) -> list[float]:
            return vector(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return vector(query)

    return BagOfWords()


def run_llamaindex(ctx: Context) -> Section:
    from headroom import Config, Headroom
    from headroom_llamaindex import HeadroomNodePostprocessor
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import MetadataMode, TextNode

    title = f"llamaindex: SQuAD paragraphs as nodes, top-{TOP_K}, postprocessed with the question"
    section = Section("llamaindex", title,
                      ["article", "questions", "answer in top-8", "tokens before", "tokens after", "ratio",
                       "kept (of top-8)", "kept (all)", "overhead ms/node"], text_columns=1)  # fmt: skip
    count = ctx.engine.count
    every = 10 if ctx.quick else 1
    articles = load_articles(read_text(ctx.data_dir / "qa" / "squad_v2_dev_answerable.jsonl"), every)
    embed = _embedding()
    totals = {"questions": 0, "had": 0, "kept": 0, "before": 0, "after": 0}
    overheads: list[float] = []
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="headroom-llamaindex-") as tmp:
        hr = Headroom(Config(store=f"sqlite:///{tmp}/store.db", ledger=False), source="llamaindex")
        spent = time_core(hr, "compress_texts")
        processor = HeadroomNodePostprocessor(headroom=hr)
        for article in articles:
            ctx.say(f"llamaindex: {article.title}")
            nodes = [
                TextNode(text=text, id_=f"{article.title}-{i}")
                for i, text in sorted(article.paragraphs.items())
            ]
            retriever = VectorStoreIndex(nodes, embed_model=embed).as_retriever(similarity_top_k=TOP_K)
            tally = {"questions": 0, "had": 0, "kept": 0, "before": 0, "after": 0}
            for question in article.questions:
                found = retriever.retrieve(question.question)
                before = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM) for n in found)
                spent.clear()
                started = time.perf_counter()
                compressed = processor.postprocess_nodes(found, query_str=question.question)
                total_ms = (time.perf_counter() - started) * 1000
                overheads.append((total_ms - sum(spent)) / max(len(found), 1))
                after = "\n\n".join(n.node.get_content(metadata_mode=MetadataMode.LLM) for n in compressed)
                tally["questions"] += 1
                tally["before"] += count(before)
                tally["after"] += count(after)
                if answer_retained(question.answers, normalize_answer(before)):
                    tally["had"] += 1
                    tally["kept"] += answer_retained(question.answers, normalize_answer(after))
            for key, value in tally.items():
                totals[key] += value
            rows.append({"article": article.title, **tally})
            section.rows.append(_cells(plain(article.title), tally, None))
        hr.close()
    overhead = statistics.median(overheads)
    section.rows.append(_cells("[bold]all[/]", totals, overhead))
    ratio = totals["before"] / max(totals["after"], 1)
    kept = totals["kept"] / max(totals["had"], 1)
    absolute = totals["kept"] / max(totals["questions"], 1)
    section.notes.append(
        f"the uncompressed top-{TOP_K} holds the answer for "
        f"{fmt_pct(totals['had'] / max(totals['questions'], 1))} of the questions; after compression "
        f"{fmt_pct(absolute)} of all questions keep it"
    )
    section.checks += [
        Check(f"llamaindex top-{TOP_K} context >= 4x smaller", ratio >= RATIO_TARGET, f"{ratio:.2f}x"),
        Check("llamaindex keeps >= 97% of the answers the top-8 held", kept >= RETENTION_TARGET,
              f"{fmt_pct(kept)} ({totals['kept']}/{totals['had']}); absolute {fmt_pct(absolute)}"),
        Check("llamaindex overhead per node < 1 ms beyond the core", overhead < OVERHEAD_TARGET_MS,
              f"median {fmt_ms(overhead)} ms"),
    ]  # fmt: skip
    section.data = {"articles": rows, **totals, "ratio": ratio, "retention": kept, "absolute": absolute,
                    "overhead_ms_per_node": overhead}  # fmt: skip
    return section


def _cells(name: str, tally: dict[str, int], overhead: float | None) -> list[str]:
    ratio = tally["before"] / max(tally["after"], 1)
    kept = tally["kept"] / max(tally["had"], 1)
    return [
        name, fmt_int(tally["questions"]), fmt_int(tally["had"]), fmt_int(tally["before"]),
        fmt_int(tally["after"]),
        mark(f"{ratio:.2f}x", ratio >= RATIO_TARGET), mark(fmt_pct(kept), kept >= RETENTION_TARGET),
        fmt_pct(tally["kept"] / max(tally["questions"], 1)),
        "" if overhead is None else mark(fmt_ms(overhead), overhead < OVERHEAD_TARGET_MS),
    ]  # fmt: skip
