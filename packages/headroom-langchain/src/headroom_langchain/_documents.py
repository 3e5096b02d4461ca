"""``HeadroomDocumentCompressor``: query-aware compression of retrieved documents.

A ``BaseDocumentCompressor`` for ``ContextualCompressionRetriever`` (or any code that post-processes
retrieved documents). Each document is compressed with the query; the model that later reads it has
no retrieve tool, so markers name none (``retrievable=False``) and the ref of the original goes into
the document's metadata (``headroom_ref``) for the application. Documents are copied, never changed
in place; a document that cannot be made smaller is returned as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from headroom import Compressed, Config, Headroom
from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

from ._shared import engine

REF_KEY = "headroom_ref"


class HeadroomDocumentCompressor(BaseDocumentCompressor):
    """Compresses each retrieved document with the query; the original's ref goes into its metadata.

    Args:
        headroom: a shared engine (the application retrieves originals through it); default: a new
            one with ``source="langchain"``.
        config: settings for that new engine.
        budget: share of tokens to keep per document (0 < budget <= 1), None for the default.

    Example:
        >>> retriever = ContextualCompressionRetriever(  # doctest: +SKIP
        ...     base_compressor=HeadroomDocumentCompressor(), base_retriever=store.as_retriever(k=8))
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    headroom: Headroom
    budget: float | None = None

    def __init__(
        self, *, headroom: Headroom | None = None, config: Config | None = None, budget: float | None = None
    ) -> None:
        fields: dict[str, Any] = {"headroom": engine(headroom, config), "budget": budget}
        super().__init__(**fields)

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        return [self._compress(document, query) for document in documents]

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        return await asyncio.to_thread(self.compress_documents, documents, query, callbacks)

    def _compress(self, document: Document, query: str) -> Document:
        result: Compressed = self.headroom.compress_text(
            document.page_content, query=query or None, budget=self.budget, retrievable=False
        )
        if result.ref is None:
            return document
        metadata: dict[str, Any] = {**document.metadata, REF_KEY: result.ref}
        return document.model_copy(update={"page_content": result.text, "metadata": metadata})
