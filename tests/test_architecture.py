"""The rules of ``docs/ARCHITECTURE.md`` that a machine can check.

- Every package's ``__all__`` is sorted and is exactly what the document's "Public names" table lists.
- No file outside ``packages/headroom-core`` imports a private module of the core (``headroom._*``):
  adapters, the proxy, the benchmark, the examples and their tests use ``headroom`` and
  ``headroom.integration`` only.
- The import graph of ``headroom-core`` has no cycles, function-level imports included.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "packages" / "headroom-core"
CORE_SRC = CORE / "src"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
_DYNAMIC = {"import_module", "__import__"}
_SKIP_DIRS = {".venv", ".tools", "node_modules", ".git", "__pycache__", ".mypy_cache", ".ruff_cache"}


def documented_names() -> dict[str, list[str]]:
    """Module -> names, from the rows of the document's "Public names" table."""
    section = DOC.read_text(encoding="utf-8").split("## Public names", 1)[1].split("\n## ", 1)[0]
    table: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`") and cells[0] != "`__all__`":
            table[cells[0].strip("`")] = re.findall(r"`([^`]+)`", cells[1])
    return table


def test_the_document_lists_every_package() -> None:
    assert set(documented_names()) == {
        "headroom",
        "headroom.integration",
        "headroom_langchain",
        "headroom_agno",
        "headroom_llamaindex",
        "headroom_proxy",
        "headroom_mcp",
    }


def isort_order(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then everything else."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


@pytest.mark.parametrize("module", sorted(documented_names()))
def test_all_is_sorted_and_is_what_the_document_lists(module: str) -> None:
    exported = list(importlib.import_module(module).__all__)
    assert exported == sorted(exported, key=isort_order), f"{module}.__all__ is not sorted"
    assert exported == documented_names()[module], f"docs/ARCHITECTURE.md lists other names for {module}"


def _python_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*.py"):
        if not _SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def private_core_imports(path: Path) -> list[str]:
    """``headroom._*`` modules that ``path`` imports, at any level (``importlib`` strings included)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("headroom._")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("headroom._"):
                found.append(node.module)
            elif node.module == "headroom":
                found += [f"headroom.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] in _DYNAMIC and node.args:
            first = node.args[0]  # importlib.import_module("headroom._x"), __import__("headroom._x")
            if isinstance(first, ast.Constant) and str(first.value).startswith("headroom._"):
                found.append(str(first.value))
    return [name for name in found if name != "headroom.__version__"]


def test_nothing_outside_the_core_imports_its_private_modules() -> None:
    offenders = {
        str(path.relative_to(ROOT)): names
        for path in _python_files(ROOT)
        if CORE not in path.parents and (names := private_core_imports(path))
    }
    assert offenders == {}, "use headroom or headroom.integration instead"


def test_the_check_catches_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import headroom._store\nfrom headroom._markers import MARKER_RE\nfrom headroom import _engine\n"
        "from headroom import Headroom, __version__\nfrom headroom.integration import TOOL_NAME\n"
        "import importlib\nimportlib.import_module('headroom._tokens')\n"
    )
    found = private_core_imports(sample)
    assert sorted(found) == ["headroom._engine", "headroom._markers", "headroom._store", "headroom._tokens"]


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, at module level or inside functions (not
    under ``TYPE_CHECKING``, which never runs)."""
    modules: dict[str, Path] = {}
    for path in _python_files(package):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, node.module] if node.module else base)
                targets = [
                    f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_core_import_graph_has_no_cycles() -> None:
    graph = import_graph(CORE_SRC / "headroom")
    assert {"headroom._pipeline", "headroom._policy.conversation"} <= set(graph)
    assert "headroom._pipeline" in graph["headroom._policy.conversation"]  # the graph is read at all
    assert cycles(graph) == []


@pytest.mark.parametrize("package", sorted(p.name for p in (ROOT / "packages").glob("headroom-*/src/*")))
def test_no_package_has_an_import_cycle(package: str) -> None:
    (source,) = (ROOT / "packages").glob(f"headroom-*/src/{package}")
    assert cycles(import_graph(source)) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
