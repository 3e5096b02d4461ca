"""A JSON body behind an agent's or a tool's framing (Codex's header, ``curl -i``, a label line): the
framing reaches the model verbatim, the body is compressed as JSON."""

from __future__ import annotations

import json
import random

import pytest
from headroom import Config, Headroom

HEADERS = [
    "Chunk ID: 4f2a\nWall time: 0.214 seconds\nProcess exited with code 3\nOriginal token count: 3120\nOutput:\n",
    "HTTP/1.1 404 Not Found\nContent-Type: application/json\nX-Request-Id: 9c1e77a2\n\n",
    "Result of GET /api/v2/orders?page=3:\n",
]


def _body(seed: int, pretty: bool) -> str:
    rng = random.Random(seed)
    records = [{"id": 1000 + i, "status": rng.choice(["paid", "paid", "paid", "refunded"]),
                "amount": rng.randint(1, 900), "customer": f"cus_{rng.randrange(16**8):08x}"}
               for i in range(120)]  # fmt: skip
    return json.dumps(records, indent=2 if pretty else None)


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("pretty", [True, False])
def test_the_framing_stays_and_the_body_is_read_as_json(header: str, pretty: bool) -> None:
    body = _body(len(header), pretty)
    footer = "\n[exit status 3]\n" if header.startswith("Chunk") else "\n"
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(header + body + footer)
    assert result.kind == "mixed"
    assert result.text.startswith(header)  # every header line verbatim, the exit code line with them
    assert result.text.endswith(footer)
    assert result.tokens_after * 5 < result.tokens_before
    assert headroom.retrieve(result.refs[-1]) in (body, header + body + footer)
    headroom.close()


def test_prose_that_mentions_json_is_not_framed() -> None:
    text = "Notes:\n" + "We read {the config} and [the list] every morning before the stand-up.\n" * 40
    headroom = Headroom(Config(store="memory", ledger=False))
    assert headroom.compress_text(text).kind != "mixed"
    headroom.close()
