"""A JSON body behind an agent's or a tool's framing (Codex's header, ``curl -i``, a label line): the
framing reaches the model verbatim, the body is compressed as JSON."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

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
    assert result.kind in ("mixed", "json")  # a framed body, or JSON behind a label line
    assert result.text.startswith(header)  # every header line verbatim, the exit code line with them
    assert result.text.endswith(footer)
    assert result.tokens_after * 5 < result.tokens_before
    assert body in headroom.retrieve(result.refs[-1])  # the body as it came, or the whole
    headroom.close()


def test_prose_that_mentions_json_is_not_framed() -> None:
    text = "Notes:\n" + "We read {the config} and [the list] every morning before the stand-up.\n" * 40
    headroom = Headroom(Config(store="memory", ledger=False))
    assert headroom.compress_text(text).kind != "mixed"
    headroom.close()


CODEX = "Chunk ID: 9b1c\nWall time: 1.0032 seconds\nProcess exited with code {code}\nOriginal token count: 4100\nOutput:\n"


def _log(outputs: Any) -> str:
    return str(outputs.app_log(600))


def _source(_: Any) -> str:
    methods = "".join(f"    def step_{n}(self, state: list[int]) -> None:\n"
                      + "".join(f"        state.append(self.base + {n * k})\n" for k in range(8)) + "\n"
                      for n in range(30))  # fmt: skip
    return f"import logging\nfrom pathlib import Path\n\n\nclass Steps:\n    base = 3\n\n{methods}"


def _numbered_source(outputs: Any) -> str:
    return "".join(f"{n + 1:6}\t{line}\n" for n, line in enumerate(_source(outputs).split("\n")[:-1]))


@pytest.mark.parametrize(("make", "kind"), [(_log, "log"), (_source, "code"), (_numbered_source, "code")])
@pytest.mark.parametrize("code", [0, 1])
def test_a_codex_framed_output_is_compressed_as_its_body_with_the_header_whole(
    outputs: Any, make: Callable[[Any], str], kind: str, code: int
) -> None:
    header = CODEX.format(code=code)
    body = make(outputs)
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(header + body)
    assert result.kind == kind
    assert result.text.startswith(header)  # the exit code line with the rest of the header
    assert result.tokens_after * 2 < result.tokens_before
    assert headroom.retrieve(result.ref or "") == body
    headroom.close()


@pytest.mark.parametrize("footer", ["[exit status 2]\n", "\nExit code: 137\n", "Process exited with code 1"])
def test_an_exit_status_line_at_the_end_is_always_kept(outputs: Any, footer: str) -> None:
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(_log(outputs) + footer)
    assert result.outcome == "compressed"
    assert result.text.endswith(footer)
    headroom.close()


def test_curl_headers_before_html_are_kept() -> None:
    header = "HTTP/2 200\r\ncontent-type: text/html; charset=utf-8\r\nx-cache: HIT\r\n\r\n"
    page = "<!doctype html><html><body>" + "".join(
        f"<div class='card'><h2>Item {n}</h2><p>Item {n} ships in {n % 5 + 1} days from the warehouse.</p>"
        f"<a href='/items/{n}'>details</a></div>" for n in range(120)) + "</body></html>"  # fmt: skip
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(header + page)
    assert result.kind == "html"
    assert result.text.startswith(header)
    headroom.close()


def test_a_field_list_that_is_not_a_frame_is_left_to_detection() -> None:
    text = "".join(f"Name: user{n}\nRole: admin of project {n} since 2019\n" for n in range(100))
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert result.text.startswith("Name: user0") or result.outcome != "compressed"
    headroom.close()
