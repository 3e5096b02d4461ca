"""The examples in examples/ run and print what they promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("quickstart.py", 'match "timed out"'),
        ("conversation.py", "9077"),
        ("long_session.py", "old results stubbed; over_budget=False"),
        ("langchain_agent.py", "with Headroom   : 16 payments failed with card_declined"),
        ("agno_agent.py", "with Headroom   : 16 payments failed with card_declined"),
        ("llamaindex_rag.py", "with Headroom   : 542 context tokens, answer in context"),
    ],
)
def test_example_runs(name: str, expected: str) -> None:
    # no API key: the examples run their scripted models, never a real one
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | {
        "HEADROOM_STORE": "memory",
        "AGNO_TELEMETRY": "false",
    }
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert expected in run.stdout
