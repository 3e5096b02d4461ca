"""Directory listings (``ls -l``, ``ls -laR``, ``find``, ``git ls-tree -r -l``): every path kept under
its directory, with its size and (where unusual) its mode; a huge listing counts big directories by
extension and keeps the names the query matches."""

from __future__ import annotations

import random
import re

import pytest
from headroom import Config, Headroom

EXTENSIONS = [".py", ".js", ".json", ".md", ".cc", ".h", ".yml"]


def _tree(seed: int, files: int = 150) -> list[tuple[str, int, bool]]:
    """(path, size, executable) of generated files under a few nested directories."""
    rng = random.Random(seed)
    dirs = ["src", "src/core", "src/core/io", "tests", "tests/fixtures", "docs", "scripts"]
    return [(f"{rng.choice(dirs)}/{rng.choice(['util', 'main', 'parse', 'db', 'cache'])}_{n}{rng.choice(EXTENSIONS)}",
             rng.randint(0, 90_000), rng.random() < 0.1) for n in range(files)]  # fmt: skip


def _dirs(tree: list[tuple[str, int, bool]]) -> list[str]:
    found = {"/".join(p.split("/")[:i]) for p, _, _ in tree for i in range(1, p.count("/") + 1)}
    return sorted(found)


def _ls_laR(tree: list[tuple[str, int, bool]]) -> str:
    out = []
    for directory in ["", *_dirs(tree)]:
        out += [f"{directory or '.'}:", "total 64", "drwxr-xr-x  5 dev staff  4096 Mar  6 12:01 .",
                "drwxr-xr-x  9 dev staff  4096 Mar  6 12:01 .."]  # fmt: skip
        children = [d for d in _dirs(tree) if (d.rsplit("/", 1)[0] == directory and d != directory and "/" in d)
                    or (directory == "" and "/" not in d)]  # fmt: skip
        out += [f"drwxr-xr-x  3 dev staff  4096 Mar  6  2026 {d.rsplit('/', 1)[-1]}" for d in children]
        for path, size, executable in tree:
            if path.rsplit("/", 1)[0] == directory:
                mode = "-rwxr-xr-x" if executable else "-rw-r--r--"
                out.append(f"{mode}  1 dev staff {size:6} Mar  6  2026 {path.rsplit('/', 1)[1]}")
        out.append("")
    return "\n".join(out)


def _find(tree: list[tuple[str, int, bool]]) -> str:
    return "\n".join([".", *(f"./{d}" for d in _dirs(tree)), *(f"./{p}" for p, _, _ in tree)]) + "\n"


def _ls_tree(tree: list[tuple[str, int, bool]]) -> str:
    rng = random.Random(1)
    return "".join(f"{'100755' if x else '100644'} blob {rng.randrange(16**40):040x} {size:7}\t{path}\n"
                   for path, size, x in sorted(tree))  # fmt: skip


def _tree_drawing(tree: list[tuple[str, int, bool]]) -> str:
    """``tree``'s drawing of the same files: a root, then four columns of indent per level."""
    children: dict[str, list[str]] = {}
    for path in [*_dirs(tree), *(p for p, _, _ in tree)]:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        children.setdefault(parent, []).append(path)
    out = ["."]

    def draw(parent: str, prefix: str) -> None:
        kids = sorted(children.get(parent, []))
        for index, path in enumerate(kids):
            last = index == len(kids) - 1
            out.append(prefix + ("└── " if last else "├── ") + path.rsplit("/", 1)[-1])
            draw(path, prefix + ("    " if last else "│   "))

    draw("", "")
    return "\n".join([*out, "", f"{len(_dirs(tree))} directories, {len(tree)} files"]) + "\n"


def _paths(output: str) -> set[str]:
    """Every path the compressed listing shows: a group's directory joined with each name under it."""
    shown, directory = set(), ""
    for line in output.split("\n"):
        header = re.match(r"^(\S.*)/ \(", line)
        if header:
            directory = header[1].removeprefix("./").removeprefix(".")
        elif line.startswith("  ") and not line.startswith("  by extension"):
            for name in line.split():
                if not re.fullmatch(r"\d+|[-d][rwx-]{9}|\d{6}", name):
                    shown.add(f"{directory}/{name.rstrip('/')}".lstrip("/"))
    return shown


@pytest.mark.parametrize("render", [_ls_laR, _find, _ls_tree, _tree_drawing])
@pytest.mark.parametrize("seed", range(3))
def test_every_path_stays_with_its_size_and_unusual_mode(render, seed: int) -> None:  # type: ignore[no-untyped-def]
    tree = _tree(seed)
    text = render(tree)
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.outcome) == ("listing", "compressed")
    assert result.tokens_after * 1.5 < result.tokens_before
    assert {path for path, _, _ in tree} <= _paths(result.text)
    if render is _tree_drawing:
        assert f"{len(_dirs(tree))} directories, {len(tree)} files" in result.text.split(
            "\n"
        )  # tree's summary
    elif render is not _find:
        for path, size, executable in tree:
            name = path.rsplit("/", 1)[1]
            mode = ("-rwxr-xr-x" if render is _ls_laR else "100755") if executable else ""
            assert re.search(
                rf"^  {re.escape(mode + ' ') if mode else ''}{size} {re.escape(name)}$", result.text, re.M
            )
    assert headroom.retrieve(result.ref or "") == text
    headroom.close()


def test_a_huge_listing_counts_big_directories_and_keeps_what_the_query_names() -> None:
    tree = _tree(9, files=6000)
    headroom = Headroom(Config(store="memory", ledger=False))
    wanted = tree[1234][0].rsplit("/", 1)[1]
    result = headroom.compress_text(_find(tree), query=f"where is {wanted}")
    assert result.tokens_after * 5 < result.tokens_before
    assert "by extension: " in result.text
    assert wanted in result.text
    assert all(f"{d}/ (" in result.text for d in _dirs(tree))  # every directory
    headroom.close()


@pytest.mark.parametrize(
    "text",
    [
        "\n".join(f"word{n} and more words" for n in range(40)),
        "\n".join(f"https://x.org/a/{n}" for n in range(40)),
    ],
)
def test_what_is_not_a_listing_is_not_read_as_one(text: str) -> None:
    headroom = Headroom(Config(store="memory", ledger=False))
    assert headroom.compress_text(text).kind != "listing"
    headroom.close()
