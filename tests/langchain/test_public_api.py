"""The public surface of headroom_langchain, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import headroom_langchain
import pytest


def test_all_is_sorted_and_complete() -> None:
    assert headroom_langchain.__all__ == sorted(headroom_langchain.__all__)
    assert set(headroom_langchain.__all__) == {
        "HeadroomDocumentCompressor", "HeadroomMiddleware", "HeadroomRunnable", "__version__",
        "compress_messages_hook", "headroom_retrieve_tool",
    }  # fmt: skip
    for name in headroom_langchain.__all__:
        assert getattr(headroom_langchain, name) is not None
    assert set(headroom_langchain.__all__) <= set(dir(headroom_langchain))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = headroom_langchain.nope  # type: ignore[attr-defined]


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(run.stdout.split())


def test_importing_is_lazy() -> None:
    assert not {"langchain_core", "langchain", "langgraph"} & imported_after("import headroom")
    modules = imported_after("import headroom_langchain")
    assert "langchain.agents" not in modules
    assert "langchain_core.language_models" not in modules
    tool_only = imported_after("from headroom_langchain import headroom_retrieve_tool")
    assert "langchain.agents" not in tool_only  # only the parts an application uses are imported
