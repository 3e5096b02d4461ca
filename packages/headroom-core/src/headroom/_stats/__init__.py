"""The stats ledger and what reads it.

- ``events``: the ``Event`` row and its vocabulary (event types, outcomes), and where the file lives;
- ``recorder``: turns what the pipeline and policies did into events (one per engine);
- ``ledger``: the batched, never-blocking SQLite writer; ``db``: the schema, inserts and reads;
- ``perf``, ``report``, ``advice``, ``prices``: ``headroom stats`` and ``headroom perf``.
"""
