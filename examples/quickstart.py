"""Compress a noisy build log, read what survived, and pull back exactly the lines you need.

Run: uv run python examples/quickstart.py
"""

import headroom

TIMEOUT = "ERROR db: connection to orders-db:5432 timed out"
log = "\n".join(
    f"2026-11-02 10:{i // 60:02d}:{i % 60:02d} "
    + (TIMEOUT if i % 97 == 13 else f"INFO worker: processed batch {i}")
    for i in range(1200)
)

result = headroom.compress_text(log, query="why did the database time out?")
print(result.text)
print(f"\n{result.kind}: {result.tokens_before:,} -> {result.tokens_after:,} tokens ({result.ratio:.0f}x)\n")

# Everything is still there: the original by its ref, or only the lines that matter.
assert headroom.retrieve(result.ref) == log
print(headroom.retrieve(result.ref, query="timed out"))
