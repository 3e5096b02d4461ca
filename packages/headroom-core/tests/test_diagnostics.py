"""Compiler, type checker and linter output: every distinct diagnostic whole with its location, each
repeat counted with its location, every other line as printed."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from headroom import Config, Headroom

Output = tuple[str, list[str], list[str]]  # the output, lines that must stay, locations that must show

FILES = ["src/app/core.py", "src/app/cli.py", "src/app/db/models.py", "tests/test_core.py"]


def _ruff(rng: random.Random) -> Output:
    out, locations = [], []
    for n in range(rng.randint(40, 120)):
        location = f"{rng.choice(FILES)}:{n * 7 + 3}:{rng.randint(80, 130)}"
        out.append(f"{location}: E501 Line too long ({rng.randint(111, 160)} > 110)")
        locations.append(location)
    unique = f"{FILES[0]}:9:1: F401 [*] `os` imported but unused"
    out.insert(5, unique)
    summary = f"Found {len(out)} errors."
    return "\n".join([*out, summary]) + "\n", [out[0], unique, summary], locations


def _mypy(rng: random.Random) -> Output:
    out, locations = [], []
    for n in range(rng.randint(40, 100)):
        location = f"{rng.choice(FILES)}:{n * 3 + 1}"
        out.append(f"{location}: error: Function is missing a return type annotation  [no-untyped-def]")
        locations.append(location)
    distinct = [f'{FILES[1]}:77: error: Argument 1 to "run" has incompatible type "str"; expected "int"  [arg-type]',
                f"{FILES[2]}:12: note: See https://mypy.readthedocs.io/en/stable/error_code_list.html"]  # fmt: skip
    out[10:10] = distinct
    summary = f"Found {len(out) - 1} errors in 4 files (checked 52 source files)"
    return "\n".join([*out, summary]) + "\n", [out[0], *distinct, summary], locations


def _gcc(rng: random.Random) -> Output:
    out, locations = ["src/net.c: In function 'send_all':"], []
    for n in range(rng.randint(30, 80)):
        location = f"src/net.c:{n * 5 + 20}:{rng.randint(3, 30)}"
        out += [f"{location}: warning: comparison of integer expressions of different signedness [-Wsign-compare]",
                f"  {n * 5 + 20} |   for (i = 0; i < len; i++) {{", "      |                 ^"]  # fmt: skip
        locations.append(location)
    error = ["src/net.c:301:5: error: 'sock' undeclared (first use in this function)",
             "  301 |     sock = socket(AF_INET, SOCK_STREAM, 0);", "      |     ^~~~"]  # fmt: skip
    out += [*error, "make: *** [Makefile:12: net.o] Error 1"]
    return "\n".join(out) + "\n", [out[0], *out[1:4], *error, out[-1]], locations


def _tsc(rng: random.Random) -> Output:
    out, locations = [], []
    for n in range(rng.randint(30, 80)):
        location = f"src/{rng.choice(['api', 'ui', 'store'])}.ts({n * 4 + 2},{rng.randint(1, 40)})"
        out.append(f"{location}: error TS7006: Parameter 'event' implicitly has an 'any' type.")
        locations.append(location)
    distinct = "src/api.ts(90,14): error TS2322: Type 'string' is not assignable to type 'number'."
    out.insert(3, distinct)
    return "\n".join(out) + "\n", [out[0], distinct], locations


def _rustc(rng: random.Random) -> Output:
    out, locations = ["   Compiling store v0.1.0 (/work/store)"], []
    for n in range(rng.randint(12, 30)):
        location = f"src/lib.rs:{n * 9 + 4}:9"
        out += ["warning: unused variable: `config`", f"  --> {location}", "   |",
                f"{n * 9 + 4:<3}|     let config = load();", "   |         ^^^^^^ help: prefix it with an underscore", ""]  # fmt: skip
        locations.append(location)
    error = ["error[E0308]: mismatched types", "  --> src/main.rs:4:18", "   |",
             '4  |     let x: i32 = "a";', "   |            ---   ^^^ expected `i32`, found `&str`"]  # fmt: skip
    tail = ['error: could not compile `store` (bin "store") due to 1 previous error; 30 warnings emitted']
    out += [*error, "", *tail]
    return "\n".join(out) + "\n", [out[0], *out[1:6], *error, *tail], locations


def _javac(rng: random.Random) -> Output:
    out, locations = [], []
    for n in range(rng.randint(20, 50)):
        location = f"src/main/java/app/Svc{n % 5}.java:{n * 3 + 1}"
        out += [f"{location}: error: cannot find symbol", "        Foo x = new Foo();", "        ^",
                "  symbol:   class Foo", f"  location: class Svc{n % 5}"]  # fmt: skip
        locations.append(location)
    distinct = ["src/main/java/app/Api.java:88: error: incompatible types: String cannot be converted to int",
                '        int port = config.get("port");', "                             ^"]  # fmt: skip
    out += [*distinct, f"{len(locations) + 1} errors"]
    return "\n".join(out) + "\n", [*out[:5], *distinct, out[-1]], locations


TOOLS: dict[str, Callable[[random.Random], Output]] = {
    "ruff": _ruff, "mypy": _mypy, "gcc": _gcc, "tsc": _tsc, "rustc": _rustc, "javac": _javac,
}  # fmt: skip


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("seed", range(3))
def test_every_distinct_diagnostic_stays_and_repeats_are_counted(tool: str, seed: int) -> None:
    text, keep, locations = TOOLS[tool](random.Random(seed))
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.outcome) == ("diagnostics", "compressed")
    assert result.tokens_after * 2 < result.tokens_before
    shown = result.text.split("\n")
    assert all(line in shown for line in keep)
    repeats = [line for line in shown if line.startswith("  [×")]
    assert sum(int(line[4:].split()[0]) for line in repeats) == len(locations) - 1
    assert all(location in result.text for location in locations[:21])  # the first 20 repeats by place
    assert headroom.retrieve(result.ref or "") == text
    headroom.close()


def test_distinct_messages_are_all_kept() -> None:
    text = "".join(
        f'src/a.py:{n}:1: error: Name "var_{n}" is not defined  [name-defined]\n' for n in range(60)
    )
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert all(f'"var_{n}"' in result.text for n in range(60))
    headroom.close()
