"""The policies: what of a conversation or a RAG context is compressed, with which query, and how.

- ``conversation``: ``Headroom.compress`` and ``compress_tool_result`` (tool results, user turns,
  errors, causal queries, the memo), over the blocks ``blocks`` reads out of a provider's shapes;
- ``texts``: ``Headroom.compress_texts``, RAG chunks under one budget;
- ``budget``: old tool results stubbed to fit ``max_context_tokens``, in cache-friendly steps;
- ``prefix``: what busts the prompt cache in the system prompt and tools, and cache alignment.

Each receives the ``Pipeline`` and sends every text through it; none knows the facade.
"""
