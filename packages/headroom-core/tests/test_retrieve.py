from __future__ import annotations

import json

import pytest
from headroom import Headroom, RefNotFound
from headroom._markers import make_ref
from headroom._retrieve import MAX_MATCHES


def log_text(lines: int = 500) -> str:
    return (
        "\n".join(
            f"2026-03-01 10:{i // 60 % 60:02d}:{i % 60:02d} {'ERROR db: Connection timeout' if i % 50 == 3 else 'INFO served'} #{i}"
            for i in range(lines)
        )
        + "\n"
    )


def test_retrieve_returns_the_exact_original(hr: Headroom) -> None:
    text = log_text().replace("\n", "\r\n") + "\x00 tail \udcff"
    result = hr.compress_text(text, kind="log")
    assert result.ref is not None
    assert hr.retrieve(result.ref) == text
    assert hr.retrieve(result.ref.upper()) == text


def test_a_query_returns_numbered_matching_lines(hr: Headroom) -> None:
    text = log_text()
    ref = hr.compress_text(text).ref
    assert ref is not None
    answer = hr.retrieve(ref, query="connection TIMEOUT")
    lines = answer.splitlines()
    assert lines[0] == '[headroom_retrieve: 10 of 500 lines match "connection TIMEOUT"; showing 10]'
    assert lines[1] == "4\t2026-03-01 10:00:03 ERROR db: Connection timeout #3"
    assert all("Connection timeout" in line for line in lines[1:])


def test_a_query_is_capped(hr: Headroom) -> None:
    text = log_text(5000)
    ref = hr.compress_text(text).ref
    assert ref is not None
    lines = hr.retrieve(ref, query="served").splitlines()
    assert lines[0].startswith('[headroom_retrieve: 4900 of 5000 lines match "served"; showing ')
    shown = int(lines[0].rsplit(" ", 1)[1].rstrip("]"))
    assert shown == len(lines) - 1 <= MAX_MATCHES
    assert hr.tokenizer().count("\n".join(lines)) < 4500


def test_json_queries_return_the_deepest_matching_records(hr: Headroom) -> None:
    calls = [{"path": f"/issues?page={p}", "response": [{"id": p * 10 + i, "title": f"issue {p}-{i}"} for i in range(5)]}
             for p in range(6)]  # fmt: skip
    calls[3]["response"][2]["title"] = "payment gateway outage"
    text = json.dumps(calls, indent=2)
    ref = hr.compress_text(text).ref
    assert ref is not None
    lines = hr.retrieve(ref, query="gateway outage").splitlines()
    assert lines[0] == '[headroom_retrieve: 1 of 36 records match "gateway outage"; showing 1]'
    assert lines[1] == '[3].response[2]\t{"id":32,"title":"payment gateway outage"}'


def test_unknown_refs_raise_a_message_for_the_model(hr: Headroom) -> None:
    with pytest.raises(RefNotFound) as caught:
        hr.retrieve(make_ref("never stored"))
    assert (
        str(caught.value)
        == f"ref {make_ref('never stored')} is unknown or has expired; call the original tool again"
    )
    with pytest.raises(RefNotFound):
        hr.retrieve("not-a-ref")


def test_tool_calls_are_answered_without_raising(hr: Headroom) -> None:
    text = log_text()
    ref = hr.compress_text(text).ref
    assert hr.answer_tool_call({"ref": ref}) == text
    assert (
        hr.answer_tool_call(json.dumps({"ref": ref, "query": "timeout #53"}))
        .splitlines()[1]
        .startswith("54\t")
    )
    assert "unknown or has expired" in hr.answer_tool_call({"ref": "0" * 24})
    assert "needs a ref" in hr.answer_tool_call({})
    assert "JSON object" in hr.answer_tool_call("{not json")


def test_a_scope_confines_originals_to_itself(hr: Headroom) -> None:
    from headroom.integration import scope

    text = log_text()
    with scope("tenant-a"):
        ref = hr.compress_text(text, kind="log").ref
        assert ref is not None
        assert hr.retrieve(ref) == text
    for other in ("tenant-b", ""):
        with scope(other), pytest.raises(RefNotFound):
            hr.retrieve(ref)
    with scope("tenant-b"):  # the same content under another scope is kept again, for that scope
        assert hr.compress_text(text, kind="log").ref == ref
        assert hr.retrieve(ref) == text
    assert hr.store.get(f"tenant-a/{ref}") is not None
