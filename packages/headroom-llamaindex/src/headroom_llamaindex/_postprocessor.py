"""``HeadroomNodePostprocessor``: retrieved nodes compressed as one context, with the query.

The nodes a retriever returns are read together (``Headroom.compress_texts``): their sentences are
scored against the query and kept under one budget for the whole context, so the best-matching nodes
keep the most, a node with nothing relevant is dropped, and passages repeated across overlapping chunks
are shown once. Nodes are copies: ids, scores, relationships and metadata are kept, the stored nodes are
never changed. Image nodes and other non-text nodes pass through.

In a plain query or chat engine the LLM has no retrieve tool, so the text names none
(``retrievable=False``, omissions show as ``…``) and the ref of each original goes into the node's
metadata under ``headroom_ref``, excluded from the LLM's and the embedding's views of the metadata.
With ``retrievable=True`` (an agent with ``headroom_retrieve_tool()``) each node ends with a marker
instead, and a dropped node leaves its marker so the agent can still pull it back.
"""

from __future__ import annotations

from typing import Any

from headroom import Compressed, Config, Headroom
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import ImageNode, NodeWithScore, QueryBundle, TextNode

from ._shared import REF_KEY, engine


class HeadroomNodePostprocessor(BaseNodePostprocessor):
    """Compresses retrieved nodes with the query; ``index.as_query_engine(node_postprocessors=[...])``.

    Args:
        headroom: a shared engine (the application retrieves originals through it); default: a new one
            with ``source="llamaindex"``.
        config: settings for that new engine.
        retrievable: True when the LLM has ``headroom_retrieve_tool()`` (an agent); default False.
        budget: share of the nodes' tokens to keep (default: a quarter with a query, half without).
        max_tokens: a cap on the tokens kept across all nodes, whatever the share.
    """

    retrievable: bool = Field(default=False, description="Whether the LLM can call headroom_retrieve.")
    budget: float | None = Field(default=None, description="Share of the nodes' tokens to keep.")
    max_tokens: int | None = Field(default=None, description="Cap on the tokens kept across all nodes.")
    _headroom: Headroom = PrivateAttr()

    def __init__(
        self,
        *,
        headroom: Headroom | None = None,
        config: Config | None = None,
        retrievable: bool = False,
        budget: float | None = None,
        max_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        fields: dict[str, Any] = {"retrievable": retrievable, "budget": budget, "max_tokens": max_tokens}
        super().__init__(**fields, **kwargs)
        self._headroom = engine(headroom, config)

    @classmethod
    def class_name(cls) -> str:
        return "HeadroomNodePostprocessor"

    @property
    def headroom(self) -> Headroom:
        return self._headroom

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        texts, where = _texts(nodes)
        if not texts:
            return list(nodes)
        results = self._headroom.compress_texts(
            texts, _query(query_bundle), budget=self.budget, max_tokens=self.max_tokens,
            retrievable=self.retrievable,
        )  # fmt: skip
        return _rebuild(nodes, where, results)

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        texts, where = _texts(nodes)
        if not texts:
            return list(nodes)
        results = await self._headroom.acompress_texts(
            texts, _query(query_bundle), budget=self.budget, max_tokens=self.max_tokens,
            retrievable=self.retrievable,
        )  # fmt: skip
        return _rebuild(nodes, where, results)


def _query(bundle: QueryBundle | None) -> str | None:
    return bundle.query_str if bundle is not None and bundle.query_str.strip() else None


def _texts(nodes: list[NodeWithScore]) -> tuple[list[str], list[int]]:
    """The texts of the text nodes, and where each sits in ``nodes``; image and other nodes stay out."""
    texts: list[str] = []
    where: list[int] = []
    for index, scored in enumerate(nodes):
        node = scored.node
        if isinstance(node, TextNode) and not isinstance(node, ImageNode) and node.text.strip():
            texts.append(node.text)
            where.append(index)
    return texts, where


def _rebuild(nodes: list[NodeWithScore], where: list[int], results: list[Compressed]) -> list[NodeWithScore]:
    """The nodes with compressed copies in place of the changed ones; dropped ones left out."""
    changed = {index: result for index, result in zip(where, results, strict=True) if result.ref is not None}
    out: list[NodeWithScore] = []
    for index, scored in enumerate(nodes):
        result = changed.get(index)
        if result is None:
            out.append(scored)
        elif result.text:
            out.append(NodeWithScore(node=_copy(scored.node, result), score=scored.score))
    return out


def _copy(node: Any, result: Compressed) -> TextNode:
    """A copy of ``node`` with the compressed text and the ref in its metadata (hidden from the LLM)."""
    return node.model_copy(  # type: ignore[no-any-return]
        update={
            "text": result.text,
            "metadata": {**node.metadata, REF_KEY: result.ref},
            "excluded_llm_metadata_keys": [*node.excluded_llm_metadata_keys, REF_KEY],
            "excluded_embed_metadata_keys": [*node.excluded_embed_metadata_keys, REF_KEY],
        }
    )
