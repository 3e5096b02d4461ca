from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from headroom import Config, ConfigError, Headroom
from headroom._markers import MARKER_RE, Marker, make_ref


def big_log(lines: int = 400) -> str:
    return (
        "\n".join(
            f"2026-03-01 10:{i // 60 % 60:02d}:{i % 60:02d} INFO app: request {i} served"
            for i in range(lines)
        )
        + "\n"
    )


def test_small_texts_pass_through_and_are_counted(store_url: str) -> None:
    hr = Headroom(Config(store=store_url))
    result = hr.compress_text("a short tool result")
    assert (result.text, result.outcome, result.ref) == ("a short tool result", "below_min_tokens", None)
    assert result.tokens_before == result.tokens_after > 0
    assert hr.outcomes["below_min_tokens"] == 1


def test_results_that_save_too_little_are_discarded(store_url: str) -> None:
    hr = Headroom(Config(store=store_url, min_tokens=0, min_saving=0.99))
    result = hr.compress_text(big_log())
    assert result.outcome == "below_min_saving"
    assert result.text == big_log()
    assert hr.outcomes["below_min_saving"] == 1


def test_a_compressed_result_is_stored_first(hr: Headroom) -> None:
    result = hr.compress_text(big_log())
    assert result.outcome == "compressed"
    assert result.kind == "log"
    assert result.ref == make_ref(big_log())
    assert result.refs == (result.ref,)
    assert result.tokens_after < result.tokens_before
    assert hr.store.contains(result.ref)
    assert hr.outcomes["compressed"] == 1


def test_text_a_compressor_cannot_shrink_passes_through(hr: Headroom) -> None:
    code = "def f(x):\n    return x\n" * 200  # nothing but short bodies: nothing to elide
    result = hr.compress_text(code, path="module.py")
    assert (result.outcome, result.kind, result.language, result.text) == (
        "not_compressible",
        "code",
        "python",
        code,
    )


def test_when_the_store_cannot_keep_the_original_nothing_is_dropped(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    broken = Headroom(Config(store=f"sqlite:///{blocker}/store.db", min_tokens=0))
    result = broken.compress_text(big_log())
    assert (result.text, result.outcome, result.ref) == (big_log(), "store_failed", None)
    assert broken.outcomes["store_errors"] == 1
    full = Headroom(Config(store=f"sqlite:///{tmp_path}/s.db", min_tokens=0, max_store_bytes=100))
    assert full.compress_text(big_log()).outcome == "store_failed"


def test_compressed_text_is_never_compressed_again(hr: Headroom) -> None:
    once = hr.compress_text(big_log())
    padded = once.text + "\n" + big_log(50)
    twice = hr.compress_text(padded)
    assert twice.outcome == "already_compressed"
    assert twice.text == padded


def test_mixed_content_carrying_our_marker_is_never_compressed_again(hr: Headroom) -> None:
    once = hr.compress_text(big_log())
    prose = "The deploy failed twice overnight. Here is what the log said.\n\n"
    mixed = prose + "```\n" + once.text + "\n" + big_log(300) + "```\n"
    twice = hr.compress_text(mixed)
    assert twice.outcome == "already_compressed"
    assert twice.text == mixed


def test_foreign_marker_lookalikes_are_ordinary_text(hr: Headroom) -> None:
    fake = Marker(make_ref("nothing we stored"), True)(5, "lines")
    result = hr.compress_text(big_log() + fake + "\n")
    assert result.outcome == "compressed"


def test_lossy_mode_names_no_tool(hr: Headroom) -> None:
    result = hr.compress_text(big_log(), retrievable=False)
    match = MARKER_RE.search(result.text)
    assert match is not None
    assert match["tool"] is None
    assert match["ref"] == result.ref
    assert "headroom_retrieve" not in result.text


def test_mixed_content_is_split_routed_and_reassembled(hr: Headroom) -> None:
    payload = json.dumps([{"id": i, "state": "ok", "host": f"node-{i % 3}"} for i in range(60)], indent=2)
    doc = f"# Incident notes\n\nThe API returned this:\n\n```json\n{payload}\n```\n\nAnd the log:\n\n```\n{big_log()}```\n\nEnd.\n"
    result = hr.compress_text(doc)
    assert result.kind == "mixed"
    assert result.text.startswith("# Incident notes\n\nThe API returned this:\n\n```json\n")
    assert result.text.endswith("```\n\nEnd.\n")
    assert len(result.refs) == 3  # the whole document and both parts
    assert result.ref == result.refs[0] == make_ref(doc)
    assert hr.retrieve(result.ref) == doc
    assert {hr.retrieve(ref) for ref in result.refs[1:]} == {payload + "\n", big_log()}


def test_a_log_with_an_embedded_json_payload(hr: Headroom) -> None:
    payload = json.dumps({"items": [{"id": i, "ok": True, "zone": "eu"} for i in range(80)]}, indent=2)
    text = big_log(200) + "2026-03-01 11:00:00 INFO app: upstream answered\n" + payload + "\n" + big_log(200)
    result = hr.compress_text(text)
    assert result.kind == "mixed"
    assert "items[80] id" in result.text
    assert hr.retrieve(result.ref or "") == text


def test_the_same_input_gives_the_same_bytes(store_url: str) -> None:
    first = Headroom(Config(store=store_url, min_tokens=0)).compress_text(big_log(), query="request 7")
    second = Headroom(Config(store="memory", min_tokens=0)).compress_text(big_log(), query="request 7")
    assert first == second


def test_async_variants_do_not_block_the_loop(hr: Headroom) -> None:
    async def main() -> tuple[str, str]:
        text, messages = await asyncio.gather(
            hr.acompress_text(big_log()),
            hr.acompress([{"role": "tool", "tool_call_id": "x", "content": big_log()}]),
        )
        return text.text, messages.messages[0]["content"]

    text, content = asyncio.run(main())
    assert text == content
    assert MARKER_RE.search(text)


def test_bad_arguments_raise() -> None:
    hr = Headroom(Config(store="memory"))
    with pytest.raises(ConfigError):
        hr.compress_text("x", kind="yaml")
    with pytest.raises(ConfigError):
        hr.compress_text("x", budget=1.5)
    with pytest.raises(ConfigError):
        Headroom(source="somewhere")


def test_a_store_that_cannot_open_is_not_dialled_for_every_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headroom import _originals

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    opens: list[str] = []
    real_open = _originals.open_store

    def counting_open(url: str, **kwargs: int) -> _originals.Store:
        opens.append(url)
        return real_open(url, **kwargs)

    monkeypatch.setattr(_originals, "open_store", counting_open)
    hr = Headroom(Config(store=f"sqlite:///{blocker}/store.db", min_tokens=0))
    for _ in range(3):
        result = hr.compress_text(big_log())
        assert (result.text, result.outcome) == (big_log(), "store_failed")
    assert len(opens) == 1
