from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import headroom
import pytest
from headroom import Headroom

ROOT = Path(__file__).resolve().parents[3]


def test_all_is_sorted_and_complete() -> None:
    assert headroom.__all__ == sorted(headroom.__all__)
    public = {
        name
        for name, value in vars(headroom).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)  # submodules: integration
    } - {"annotations", "threading", "Any", "TYPE_CHECKING"}
    assert set(headroom.__all__) - {"__version__"} == public
    for name in ("Headroom", "Config", "Compressed", "CompressResult", "HeadroomError", "RefNotFound"):
        assert name in headroom.__all__


def test_one_version_for_every_package() -> None:
    versions = {
        path.parent.name: re.search(r'^version = "([^"]+)"', path.read_text(), re.M).group(1)  # type: ignore[union-attr]
        for path in (ROOT / "packages").glob("*/pyproject.toml")
    }
    assert len(versions) == 6
    assert set(versions.values()) == {headroom.__version__}


def test_module_level_functions_use_one_default_instance() -> None:
    text = "\n".join(f"2026-01-01 10:00:{i % 60:02d} INFO app: item {i} ok" for i in range(300)) + "\n"
    result = headroom.compress_text(text)
    assert result.ref is not None
    assert headroom.retrieve(result.ref) == text
    assert headroom.default() is headroom.default()
    assert headroom.compress([{"role": "tool", "tool_call_id": "1", "content": text}]).refs == (result.ref,)


def test_import_stays_light() -> None:
    code = (
        "import sys, headroom; heavy = [m for m in ('tiktoken', 'click', 'rich', 'sqlite3', 'langchain', "
        "'agno', 'llama_index', 'starlette', 'httpx') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "package", ["headroom_langchain", "headroom_agno", "headroom_llamaindex", "headroom_proxy"]
)
def test_adapter_packages_exist_and_share_the_version(package: str) -> None:
    module = __import__(package)
    assert module.__version__ == headroom.__version__


def test_headroom_instances_are_independent(tmp_path: Path) -> None:
    a = Headroom(headroom.Config(store="memory"), source="langchain")
    b = Headroom(headroom.Config(store="memory"), source="proxy")
    assert a.store is not b.store
    assert (a.source, b.source) == ("langchain", "proxy")
