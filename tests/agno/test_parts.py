"""The Agno exports on their own: the toolkit's definition, the hook's reading of results, the API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import headroom_agno
import pytest
from agno.agent import Agent
from agno.tools.function import ToolResult
from headroom import Config, ConfigError, Headroom, retrieve_tool
from headroom.integration import MARKER_RE
from headroom_agno import HeadroomCompressionManager, HeadroomHook, HeadroomTools, with_headroom
from pydantic import BaseModel


def test_the_toolkit_defines_the_cores_tool(agno_hr: Headroom) -> None:
    tools = HeadroomTools(headroom=agno_hr)
    function = tools.functions["headroom_retrieve"]
    function.process_entrypoint()
    spec = retrieve_tool("json_schema")
    assert function.description is not None
    assert function.description.startswith(spec["description"])
    assert function.parameters["required"] == ["ref"]
    assert set(function.parameters["properties"]) == {"ref", "query", "offset", "lines"}
    assert "headroom_retrieve" in tools.get_async_functions()


def test_the_toolkit_answers_and_never_raises(outputs: Any, agno_hr: Headroom) -> None:
    log = outputs.app_log()
    ref = agno_hr.compress_text(log).ref
    assert ref is not None
    tools = HeadroomTools(headroom=agno_hr)
    assert tools.headroom_retrieve(ref) == log
    query = "payment card_declined"
    assert asyncio.run(tools.aheadroom_retrieve(ref, query)) == outputs.expected_retrieval(log, query)
    page = tools.headroom_retrieve(ref, lines="2-3").splitlines()
    assert page == [
        f"[headroom_retrieve: lines 2-3 of {len(log.splitlines())}]",
        *(f"{n}\t{log.splitlines()[n - 1]}" for n in (2, 3)),
    ]
    assert "offset must be" in tools.headroom_retrieve(ref, query, offset=-2)
    assert "unknown or has expired" in tools.headroom_retrieve("0123456789abcdef01234567")
    assert "needs a ref" in tools.headroom_retrieve("")


def test_the_toolkit_shares_the_hooks_engine(agno_hr: Headroom) -> None:
    hook = HeadroomHook(headroom=agno_hr)
    assert HeadroomTools(hook).headroom is agno_hr
    assert HeadroomCompressionManager(headroom=agno_hr).headroom is agno_hr
    with pytest.raises(ConfigError, match="not both"):
        HeadroomHook(headroom=agno_hr, config=Config())


class Order(BaseModel):
    id: str
    status: int
    note: str


def test_the_hook_reads_results_as_the_model_would(outputs: Any, agno_hr: Headroom) -> None:
    hook = HeadroomHook(headroom=agno_hr)
    records = json.loads(outputs.api_records())
    as_dict = hook.compress(records, "list_orders")
    assert isinstance(as_dict, str)
    assert MARKER_RE.search(as_dict)
    models = [Order(id=f"ord_{i}", status=502 if i == 7 else 200, note="ok " * 20) for i in range(200)]
    as_models = hook.compress({"orders": [m.model_dump() for m in models]}, "list_orders")
    assert "ord_7" in as_models
    one = Order(id="ord_1", status=200, note="fine")
    assert hook.compress(one, "get_order") is one  # too small: the very object, shown by Agno as always
    result = ToolResult(content=outputs.app_log(), metadata={"lines": 2000})
    compressed = hook.compress(result, "snapshot")
    assert isinstance(compressed, ToolResult)
    assert compressed.metadata == {"lines": 2000}
    assert MARKER_RE.search(compressed.content)

    def stream() -> Any:
        yield "line"

    generator = stream()
    assert hook.compress(generator, "tail") is generator  # streaming tools pass through
    raw = b"\x00\x01" * 5000
    assert hook.compress(raw, "read_bytes") is raw


def test_the_hook_runs_the_chain_and_leaves_retrievals_alone(outputs: Any, agno_hr: Headroom) -> None:
    log = outputs.app_log()
    hook = HeadroomHook(headroom=agno_hr)
    calls: list[dict[str, Any]] = []

    def tool(**kwargs: Any) -> str:
        calls.append(kwargs)
        return log

    assert hook("headroom_retrieve", tool, {"ref": "x"}) == log
    assert MARKER_RE.search(hook("read_logs", tool, {"service": "a"}))
    assert calls == [{"ref": "x"}, {"service": "a"}]


def test_with_headroom_refuses_a_tools_factory() -> None:
    def tools_for_run() -> list[Any]:  # Agno resolves a callable here on every run
        return []

    agent = Agent(tools=tools_for_run, telemetry=False)
    with pytest.raises(TypeError, match="not a list"):
        with_headroom(agent)


def test_the_public_api() -> None:
    assert headroom_agno.__all__ == sorted(headroom_agno.__all__)
    assert set(headroom_agno.__all__) == {
        "HeadroomCompressionManager", "HeadroomHook", "HeadroomTools", "__version__", "with_headroom",
    }  # fmt: skip
    for name in headroom_agno.__all__:
        assert getattr(headroom_agno, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = headroom_agno.nope  # type: ignore[attr-defined]
    code = "import sys, headroom_agno; print('agno' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"  # Agno is imported only when an export is used
