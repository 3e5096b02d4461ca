"""The freshness rule: recent tool results and current file views are sent whole, older ones are
compressed in batches, and the cached prefix changes only on those batch steps."""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest
from headroom import Config, ConfigError, Headroom


def _step(number: int, name: str, arguments: dict[str, Any], result: str) -> list[dict[str, Any]]:
    call = {"type": "tool_use", "id": f"t{number}", "name": name, "input": arguments}
    answer = {"type": "tool_result", "tool_use_id": f"t{number}", "content": result}
    return [{"role": "assistant", "content": [call]}, {"role": "user", "content": [answer]}]


def _conversation(outputs: Any, steps: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "why do payments fail?"}]
    for number in range(steps):
        log = outputs.app_log(lines=400, seed=number)
        messages += _step(number, "Bash", {"command": f"cat app-{number}.log"}, log)
    return messages


def _whole(messages: list[dict[str, Any]], sent: list[Any]) -> list[bool]:
    """For each tool result, whether it was sent as it is."""
    return [
        original["content"][0]["content"] == out["content"][0]["content"]
        for original, out in zip(messages, sent, strict=True)
        if isinstance(original["content"], list) and original["content"][0]["type"] == "tool_result"
    ]


def _engine(**settings: Any) -> Headroom:
    return Headroom(Config(store="memory", ledger=False, **settings))


def test_recent_results_stay_whole_and_older_ones_age_in_batches(outputs: Any) -> None:
    headroom = _engine(fresh_turns=3, fresh_batch=4, fresh_batch_tokens=0, fresh_max_tokens=10**6)
    full = _conversation(outputs, 20)
    previous: list[Any] | None = None
    changes = 0
    for steps in range(1, 21):
        messages = full[: 1 + 2 * steps]
        sent = list(headroom.compress(messages).messages)
        whole = _whole(messages, sent)
        fresh = whole[::-1].index(False) if False in whole else len(whole)
        assert whole == [False] * (len(whole) - fresh) + [True] * fresh  # the oldest go first
        assert min(3, steps) <= fresh <= 3 + 4 - 1  # between fresh_turns and fresh_turns + fresh_batch - 1
        if previous is not None and sent[: len(previous)] != previous:
            changes += 1
            assert len(previous) - 1 >= 2 * 3  # only results older than fresh_turns ever change
        previous = sent
    assert 3 <= changes <= 20 // 4 + 1  # the prefix changed on the batch steps only
    headroom.close()


def test_a_file_read_stays_whole_for_view_turns(outputs: Any) -> None:
    headroom = _engine(fresh_turns=2, fresh_batch=1, fresh_batch_tokens=0, fresh_max_tokens=10**6)
    body = "".join(f"    value_{k} = request.args.get('field_{k}', {k})\n" for k in range(8))
    source = "\n".join(f"def handler_{n}(request):\n{body}    return render(request, value_0)\n"
                       for n in range(60))  # fmt: skip
    read = _step(0, "Read", {"file_path": "/app/views.py"}, source)
    messages = [{"role": "user", "content": "fix the views"}, *read]
    for number in range(1, 8):
        messages += _step(number, "Bash", {"command": "cat app.log"}, outputs.app_log(400, seed=number))
    whole = _whole(messages, list(headroom.compress(messages).messages))
    assert whole[0]  # seven turns later, views.py as read is still whole
    assert not any(whole[1:-2])  # the logs aged out
    with closing(_engine(fresh_turns=2, fresh_batch=1, fresh_batch_tokens=0, fresh_max_tokens=10**6,
                         view_turns=4)) as limited:  # fmt: skip
        assert not _whole(messages, list(limited.compress(messages).messages))[0]
    headroom.close()


def test_a_huge_result_is_compressed_at_once_and_off_means_at_once(outputs: Any) -> None:
    messages = [
        {"role": "user", "content": "look"},
        *_step(0, "Bash", {"command": "cat"}, outputs.app_log(400)),
    ]
    with closing(_engine(fresh_max_tokens=100)) as headroom:
        assert _whole(messages, list(headroom.compress(messages).messages)) == [False]
    with closing(_engine(fresh_turns=0)) as headroom:
        assert _whole(messages, list(headroom.compress(messages).messages)) == [False]
    with closing(_engine(fresh_turns=5, fresh_max_tokens=10**6)) as headroom:
        result = headroom.compress(messages)
        assert _whole(messages, list(result.messages)) == [True]
        assert result.refs == ()  # nothing the model reads names a ref
        single = headroom.compress_tool_result(outputs.app_log(400), "Bash")  # the caller shows it now
        assert single.tokens_after < single.tokens_before


def test_a_single_result_under_the_freshness_rule(outputs: Any) -> None:
    """``compress_tool_result(fresh=True)``, for hooks that see a result once: sent whole up to
    ``fresh_max_tokens`` (a file read at any size), compressed at once above it."""
    log = outputs.app_log(400)
    with closing(_engine(fresh_turns=5)) as headroom:
        size = headroom.tokenizer().count(log)
    with closing(_engine(fresh_turns=5, fresh_max_tokens=size)) as headroom:
        assert headroom.compress_tool_result(log, "Bash", fresh=True).messages is log
    with closing(_engine(fresh_turns=5, fresh_max_tokens=size - 1)) as headroom:
        over = headroom.compress_tool_result(log, "Bash", fresh=True)
        assert over.tokens_after < over.tokens_before
        read = headroom.compress_tool_result(log, "Read", arguments={"file_path": "app.log"}, fresh=True)
        assert read.messages is log  # the text the agent edits next
    with closing(_engine(fresh_turns=0, fresh_max_tokens=10**6)) as headroom:  # the rule is off
        assert headroom.compress_tool_result(log, "Bash", fresh=True).tokens_after < size


def test_a_file_read_stays_whole_however_big(outputs: Any) -> None:
    source = "".join(f"{n + 1:6}→def handler_{n}(request):\n{n + 2:6}→    return request.get({n})\n"
                     for n in range(0, 1200, 2))  # fmt: skip
    messages = [
        {"role": "user", "content": "fix the handler"},
        *_step(0, "Read", {"file_path": "app/handlers.py"}, source),
        *_step(1, "Bash", {"command": "cat app.log"}, outputs.app_log(400)),
    ]
    with closing(_engine(fresh_turns=5, fresh_max_tokens=100)) as headroom:
        assert _whole(messages, list(headroom.compress(messages).messages)) == [True, False]


def test_the_knobs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_FRESH_TURNS", "7")
    monkeypatch.setenv("HEADROOM_FRESH_BATCH", "3")
    monkeypatch.setenv("HEADROOM_FRESH_BATCH_TOKENS", "100")
    monkeypatch.setenv("HEADROOM_VIEW_TURNS", "40")
    monkeypatch.setenv("HEADROOM_FRESH_MAX_TOKENS", "900")
    config = Config()
    assert (config.fresh_turns, config.fresh_batch, config.fresh_batch_tokens) == (7, 3, 100)
    assert (config.view_turns, config.fresh_max_tokens) == (40, 900)
    monkeypatch.setenv("HEADROOM_VIEW_TURNS", "none")
    assert Config().view_turns is None
    monkeypatch.setenv("HEADROOM_FRESH_BATCH", "0")
    with pytest.raises(ConfigError, match="fresh_batch"):
        Config()


def test_an_error_results_error_lines_stay_outside_its_last_lines() -> None:
    lines = [f"step {n}: loaded record {n * 7919} from the queue and checked its fields" for n in range(300)]
    lines[40] = "  Graph search error: SyntaxError near 'WHERE' (line 8, column 17)"
    lines[90] = "ValueError: chapter is None for record 712"
    text = "Exit code 1\n" + "\n".join(lines) + "\n"
    with closing(_engine(fresh_turns=0)) as headroom:
        result = headroom.compress_tool_result(text, "Bash", is_error=True)
    assert result.tokens_after < result.tokens_before
    assert lines[40] in result.messages
    assert lines[90] in result.messages
    assert lines[-1] in result.messages  # the last lines, as before


def test_an_edit_result_keeps_the_lines_it_shows(outputs: Any) -> None:
    snippet = (
        "The file app.log has been updated. Here's the result of running `cat -n` on a snippet:\n"
        + "".join(f"{n + 1:6}→{line}\n" for n, line in enumerate(outputs.app_log(300).split("\n")))
    )
    messages = [{"role": "user", "content": "fix it"}, *_step(0, "Edit", {"file_path": "app.log"}, snippet)]
    with closing(_engine(fresh_turns=0)) as headroom:
        result = headroom.compress(messages)
        assert _whole(messages, list(result.messages)) == [True]
        single = headroom.compress_tool_result(snippet, "Edit")
        assert single.tokens_after == single.tokens_before


def test_a_result_sent_whole_is_counted_once_as_sent(outputs: Any, tmp_path: Any) -> None:
    """The stats count a fresh result as what the model read (whole), not also as the compression
    computed for later: a saving is claimed only once the compressed text is sent."""
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/store.db", fresh_turns=2, fresh_batch=1,
                         fresh_batch_tokens=0, fresh_max_tokens=10**7, time_budget=0))  # fmt: skip
    messages = _conversation(outputs, 3)
    sent = hr.compress(messages, model="gpt-4o")
    whole = _whole(messages, sent.messages)
    assert whole == [False, True, True]  # the oldest result aged out; the two recent sent whole
    stats = hr.stats()
    assert stats["events"] == 3  # one per tool result, not one more per fresh result
    assert stats["compressed"] == 1
    assert stats["tokens_before"] - stats["tokens_after"] == sent.tokens_before - sent.tokens_after
    hr.close()
