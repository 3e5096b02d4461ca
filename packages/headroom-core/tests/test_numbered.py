"""File reads with line numbers (Claude Code's ``N→``, ``cat -n``, ``nl``): compressed as the file they
show, and every line left on the page keeps the number it has in the file."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from headroom import Config, Headroom

_SHOWN = re.compile(r"^ *(\d+)(?:→|\t)(.*)$")


def _python(rng: random.Random) -> str:
    out = ['"""Orders service."""', "", "import logging", "from dataclasses import dataclass", ""]
    for n in range(rng.randint(8, 14)):
        name = f"handle_{rng.choice(['order', 'refund', 'invoice', 'payment'])}_{n}"
        out += ["", "", f"def {name}(request, retries: int = {n}) -> dict:", f'    """Handle {name}."""']
        for k in range(rng.randint(4, 12)):
            out.append(f"    value_{k} = request.get('field_{k}', {rng.randint(0, 999)})")
            if k % 3 == 0:
                out += [f"    if value_{k} is None:", "        return {}", ""]
        out.append("    return {'ok': True}")
    return "\n".join(out) + "\n"


def _go(rng: random.Random) -> str:
    out = ["package orders", "", 'import "fmt"', ""]
    for n in range(rng.randint(8, 14)):
        out += [
            f"func Handle{n}(id int) error {{",
            f"\tif id < {n} {{",
            '\t\treturn fmt.Errorf("bad id")',
            "\t}",
        ]
        out += [f'\tfmt.Println("step {k}", id+{k})' for k in range(rng.randint(3, 9))]
        out += ["\treturn nil", "}", ""]
    return "\n".join(out) + "\n"


def _javascript(rng: random.Random) -> str:
    out = ["'use strict';", "", "const express = require('express');", ""]
    for n in range(rng.randint(8, 14)):
        out += [f"function route{n}(req, res) {{", f"  const id = req.params.id + {n};"]
        out += [f"  res.set('x-step-{k}', String(id * {k}));" for k in range(rng.randint(3, 9))]
        out += ["  return res.json({ id });", "}", ""]
    out.append("module.exports = { route0 };")
    return "\n".join(out) + "\n"


def _claude(lines: list[str], first: int) -> str:
    return "".join(f"{first + i:6}→{line}\n" for i, line in enumerate(lines))


def _cat_n(lines: list[str], first: int) -> str:
    return "".join(f"{first + i:6}\t{line}\n" for i, line in enumerate(lines))


def _nl(lines: list[str], first: int) -> str:
    """``nl``'s default: blank lines are not numbered (and do not count)."""
    out, number = [], first
    for line in lines:
        if line.strip():
            out.append(f"{number:6}\t{line}\n")
            number += 1
        else:
            out.append("\n")
    return "".join(out)


FILES: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "python": ("app/orders.py", _python),
    "go": ("orders/handle.go", _go),
    "javascript": ("lib/routes.js", _javascript),
}
FORMATS = {"claude": _claude, "cat_n": _cat_n, "nl": _nl}


def _numbers(read: str) -> dict[int, str]:
    """Line number -> line, for every numbered line of a read."""
    return {int(m[1]): m[2] for m in map(_SHOWN.match, read.split("\n")) if m}


@pytest.mark.parametrize("language", FILES)
@pytest.mark.parametrize("style", FORMATS)
@pytest.mark.parametrize("seed", range(3))
def test_a_numbered_read_is_compressed_as_code_and_keeps_its_numbers(
    language: str, style: str, seed: int
) -> None:
    rng = random.Random(seed)
    path, make = FILES[language]
    first = rng.choice([1, 1, 120])  # a read from an offset starts at its own line
    read = FORMATS[style](make(rng).split("\n")[:-1], first)
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(read, path=path)
    assert (result.kind, result.language, result.outcome) == ("code", language, "compressed")
    assert result.tokens_after * 1.5 < result.tokens_before
    original, shown = _numbers(read), _numbers(result.text)
    assert shown
    # each numbered line is that line of the file (a signature may carry the marker of its elided body)
    assert all(line == original[n] or line.startswith(original[n] + " /*") for n, line in shown.items())
    assert sorted(shown) == list(shown)  # in the file's order
    signatures = [n for n, line in original.items() if re.match(r"(def|func|function) ", line)]
    assert all(n in shown for n in signatures)  # the shape of the file, each line citable by number
    assert headroom.retrieve(result.ref) == read  # the original, numbers and all
    headroom.close()


def test_the_header_and_footer_around_a_read_are_kept() -> None:
    header = "The file app/orders.py has been updated. Here's the result of running `cat -n` on a snippet:\n"
    footer = (
        "\n<system-reminder>\nWhenever you read a file, consider whether it is malware.\n</system-reminder>\n"
    )
    lines = _python(random.Random(7)).split("\n")[:-1]
    text = header + _claude(lines, 1) + footer
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text, path="app/orders.py")
    assert result.outcome == "compressed"
    assert result.text.startswith(header)
    assert result.text.endswith(footer)
    headroom.close()


def test_the_language_is_read_from_the_content_without_a_path() -> None:
    text = _cat_n(_javascript(random.Random(3)).split("\n")[:-1], 1)
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.language) == ("code", "javascript")
    headroom.close()


def test_lines_a_compressor_writes_carry_no_number() -> None:
    lines = _python(random.Random(1)).split("\n")[:-1]
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(_claude(lines, 1), path="app/orders.py")
    unnumbered = [line for line in result.text.split("\n") if line.strip() and not _SHOWN.match(line)]
    assert unnumbered
    assert all("lines" in line for line in unnumbered)  # the markers, nothing else
    headroom.close()


@pytest.mark.parametrize(
    "text",
    [
        "".join(f"{n}\tuser_{n}\t{n * 7 % 13}\n" for n in range(5, 400, 7)),  # numbers out of order: a table
        "".join(f"src/app.py:{n}:    value = {n}\n" for n in range(1, 200)),  # grep -n, not a read
    ],
)
def test_other_numbered_text_is_not_taken_for_a_read(text: str) -> None:
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    if result.outcome == "compressed":
        assert result.kind != "code"
    headroom.close()
