"""The public surface of headroom_llamaindex, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import headroom_llamaindex
import pytest


def test_all_is_sorted_and_complete() -> None:
    assert headroom_llamaindex.__all__ == sorted(headroom_llamaindex.__all__)
    assert set(headroom_llamaindex.__all__) == {
        "HeadroomNodePostprocessor", "__version__", "headroom_retrieve_tool", "wrap_tool",
    }  # fmt: skip
    for name in headroom_llamaindex.__all__:
        assert getattr(headroom_llamaindex, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = headroom_llamaindex.nope  # type: ignore[attr-defined]


def test_importing_is_lazy() -> None:
    code = "import sys, headroom_llamaindex; print('llama_index.core' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"  # LlamaIndex (over a second to import) only when an export is used
