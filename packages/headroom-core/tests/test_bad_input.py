"""Bad input never crashes and never loses data: the text passes through, or its ref gives it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from headroom import Compressed, Config, Headroom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LOG_LINE = "2026-03-01 10:00:{:02d} {} app: request {} took {}ms"


def lossless(hr: Headroom, text: str, result: Compressed) -> None:
    if result.ref is None:
        assert result.text == text
    else:
        assert hr.retrieve(result.ref) == text


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Headroom]:
    path = tmp_path_factory.mktemp("bad") / "store.db"
    instance = Headroom(Config(store=f"sqlite:///{path}", min_tokens=0, min_saving=0.0))
    yield instance
    instance.close()


def log(lines: int) -> str:
    return "\n".join(
        LOG_LINE.format(i % 60, "ERROR" if i % 9 == 0 else "INFO", i, i * 7) for i in range(lines)
    )


CASES = {
    "malformed json": '{"items": [{"id": 1,, "x": }]}' * 50,
    "truncated json": json.dumps({"items": [{"id": i, "name": "x" * 20} for i in range(200)]})[:-7],
    "nested 10000 arrays": "[" * 10_000 + "]" * 10_000,
    "nested 10000 objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "nested 900 objects": '{"a":' * 900 + '"deep"' + "}" * 900,
    "nul and binary": "\x00\x01\x02 binary \xff\xfe " * 2000 + log(200),
    "lone surrogates": "start \ud800 middle \udfff end\n" * 300,
    "invalid utf-8": (b"\xff\xfe\xc3\x28 caf\xc3\xa9 \xed\xa0\x80\n" * 500).decode(
        "utf-8", "surrogateescape"
    ),
    "crlf": log(300).replace("\n", "\r\n"),
    "empty": "",
    "whitespace": " \n\t\r\n" * 100,
    "marker lookalike": "[… 12 lines omitted; headroom_retrieve ref=" + "a" * 24 + "]\n" + log(300),
    "json of strings with newlines": json.dumps([{"id": i, "text": "line\n" * 5} for i in range(100)]),
    "grep with odd lines": "\n".join(f"src/a{i % 3}.py:{i}:x = {i}" for i in range(200))
    + "\nBinary file x matches\n",
    "python with a syntax error": "import os\n\ndef broken(:\n" + "    x = compute(1)\n" * 400,
    "python nested 400 levels": "".join(" " * i + "if x:\n" for i in range(400)) + " " * 400 + "pass\n",
    "html without a body": "<!doctype html><html><head><title>t</title><script>var a = 1;</script>"
    + "<style>p { color: red }</style>" * 300
    + "</head></html>",
    "html nested 10000 divs": "<html><body>" + "<div>" * 10_000 + "deep text" + "</div>" * 10_000,
    "binary disguised as html": "<!doctype html><html><body>" + "\x00\x01\xff\ufffd" * 3000,
    "binary disguised as a diff": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n"
    + "+\x00\x01\x02\n-\xff\xfe\n" * 500,
    "prose without sentence ends": "word " * 20_000,
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_never_raises_and_never_loses_data(shared: Headroom, name: str) -> None:
    text = CASES[name]
    result = shared.compress_text(text)
    lossless(shared, text, result)
    assert result.outcome != "error"


@pytest.mark.parametrize(
    "kind",
    ["json", "log", "search", "code", "diff", "git", "listing", "tests", "diagnostics", "html", "text"],
)
def test_forcing_a_wrong_kind_is_harmless(shared: Headroom, kind: str) -> None:
    text = CASES["nul and binary"]
    lossless(shared, text, shared.compress_text(text, kind=kind))


def test_a_ten_megabyte_single_line(shared: Headroom) -> None:
    text = "x" * 5_000_000 + " ".join(str(i) for i in range(900_000))[:5_000_000]
    assert len(text) == 10_000_000
    result = shared.compress_text(text)
    lossless(shared, text, result)
    assert result.tokens_before > 0


def test_a_five_megabyte_minified_javascript_line(shared: Headroom) -> None:
    text = "(function(){" + "var a=b(c,d);if(a){e.f(a)}else{g()};" * 140_000 + "})();"
    assert len(text) > 5_000_000
    for path in (None, "bundle.min.js"):
        result = shared.compress_text(text, path=path)
        lossless(shared, text, result)
        assert result.outcome != "error"


def test_bytes_are_accepted_and_every_byte_is_recoverable(shared: Headroom) -> None:
    raw = b"\xff\xfe" + log(300).encode() + b"\x80"
    result = shared.compress_text(raw)
    assert result.ref is not None
    assert shared.retrieve(result.ref).encode("utf-8", "surrogateescape") == raw


def test_a_store_that_fails_on_write_drops_nothing(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("x")
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/not-a-dir/store.db", min_tokens=0))
    text = log(400)
    result = hr.compress_text(text)
    assert result.text == text
    assert result.outcome == "store_failed"


# --- properties -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)
records = st.lists(
    st.fixed_dictionaries(
        {"id": st.integers(), "status": st.sampled_from([200, 201, 404, 500]), "name": st.text(max_size=10)}
    ),
    min_size=3,
    max_size=40,
)
log_lines = st.lists(
    st.tuples(
        st.sampled_from(["INFO", "WARN", "ERROR", "DEBUG"]), st.integers(0, 10**6), st.text(max_size=15)
    ),
    min_size=8,
    max_size=80,
).map(lambda rows: "\n".join(f"2026-03-01 10:00:{n % 60:02d} {lv} app: {t!r} #{n}" for lv, n, t in rows))
grep_lines = st.lists(
    st.tuples(st.sampled_from(["a.py", "src/b.go", "c/d.ts"]), st.integers(1, 999), st.text(max_size=20)),
    min_size=3,
    max_size=60,
).map(lambda rows: "\n".join(f"{p}:{n}:{t}" for p, n, t in rows))
sentences = ["The mill opened in 1850.", "Dr. Ames ran it.", "Why?", "## Heading", "- item `x.y()`", "",
             "Costs rose by 12%.", "e.g. this", "A\u2019s view!", "…", "| a | b |", "```"]  # fmt: skip
code_lines = ["def f(x):", "    return x", "class A:", "    y = 1", "    def g(self):", "        pass",
              "func H() {", "}", "    # comment", '    """doc', '    """', "", "@dec", "import os",
              "fn k() -> i32 {", "    1", "if (", "(("]  # fmt: skip
html_pieces = ["<html>", "<body>", "<main>", "<p>", "text. ", "</p>", "<nav>menu</nav>", "<div>", "</div>",
               "<h1>", "Title", "</h1>", "<pre>", "code()", "</pre>", "<table><tr><td>1</td></tr>",
               "<script>x()</script>", "<!--", "-->", "&amp;", "<ul><li>item"]  # fmt: skip
diff_lines = ["+added", "-removed", " context", "@@ -5,2 +5,2 @@", "\\ No newline at end of file",
              "diff --git a/g b/g", "Binary files a/x and b/x differ", "+", "-", " "]  # fmt: skip
texts = st.one_of(
    st.text(),
    st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
    json_values.map(json.dumps),
    records.map(lambda r: json.dumps({"items": r}, indent=1)),
    log_lines,
    grep_lines,
    st.tuples(log_lines, json_values).map(
        lambda pair: f"{pair[0]}\n{json.dumps(pair[1], indent=2)}\n{pair[0]}"
    ),
    st.tuples(st.text(), records).map(
        lambda pair: f"{pair[0]}\n```json\n{json.dumps(pair[1], indent=2)}\n```\n"
    ),
    st.lists(st.sampled_from(sentences), min_size=4, max_size=60).map(" ".join),
    st.lists(st.sampled_from(code_lines), min_size=30, max_size=120).map("\n".join),
    st.lists(st.sampled_from(html_pieces), min_size=5, max_size=80).map("".join),
    st.lists(st.sampled_from(diff_lines), min_size=5, max_size=80).map(
        lambda rows: "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,9 +1,9 @@\n" + "\n".join(rows)
    ),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, query=st.none() | st.text(max_size=12))
def test_compress_text_never_raises_and_retrieve_gives_the_original_back(
    shared: Headroom, text: str, query: str | None
) -> None:
    result = shared.compress_text(text, query=query)
    assert result.outcome != "error"
    lossless(shared, text, result)
    for ref in result.refs:
        assert shared.retrieve(ref)  # every emitted ref resolves
    if result.ref is not None and query:
        shared.retrieve(result.ref, query=query)  # query retrieval never raises either


# --- whole conversations -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
part = st.fixed_dictionaries({"type": st.sampled_from(["text", "tool_result", "image", "tool_use", "input_text"])},
                             optional={"text": texts | json_values, "content": texts | json_values,
                                       "tool_use_id": st.text(max_size=4), "id": st.text(max_size=4),
                                       "input": json_values, "is_error": json_values})  # fmt: skip
message = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function"]) | st.text(max_size=6),
        "type": st.sampled_from(["message", "function_call", "function_call_output", "reasoning"]),
        "content": texts | st.lists(part | json_values, max_size=4) | json_values,
        "tool_calls": st.lists(json_values | st.fixed_dictionaries({"id": st.text(max_size=4), "function": st.fixed_dictionaries({"name": st.text(max_size=8), "arguments": texts | json_values})}), max_size=3),
        "tool_call_id": st.text(max_size=4), "call_id": st.text(max_size=4), "name": st.text(max_size=8),
        "output": texts | json_values, "arguments": texts | json_values,
    },
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(message | json_values, max_size=8), tools=st.none() | st.lists(json_values, max_size=3)
)
def test_compress_never_raises_on_odd_conversations(
    tmp_path_factory: pytest.TempPathFactory, messages: list[object], tools: list[object] | None
) -> None:
    path = tmp_path_factory.mktemp("conv") / "store.db"
    hr = Headroom(Config(store=f"sqlite:///{path}", min_tokens=0, min_saving=0.0, max_context_tokens=50,
                         keep_last_turns=1, align_cache=True))  # fmt: skip
    before = json.dumps(messages, default=repr)
    result = hr.compress(messages, tools=tools, system=None)
    assert json.dumps(messages, default=repr) == before  # the caller's objects are never changed
    assert len(result.messages) == len(messages)
    for ref in result.refs:
        assert hr.retrieve(ref) is not None
    hr.close()


def test_deeply_nested_tool_inputs_and_tools(shared: Headroom) -> None:
    deep: object = "leaf"
    for _ in range(10_000):
        deep = {"a": deep}
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": deep}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log(400)}]},
    ]
    result = shared.compress(messages, tools=[{"name": "x", "input_schema": deep}])
    assert result.messages[1] is messages[1]
    assert shared.retrieve(result.refs[0]) == log(400)


def test_a_compression_over_its_time_budget_passes_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from headroom import _pipeline

    monkeypatch.setattr(_pipeline, "MIN_TIME_BUDGET", 0.0)
    hr = Headroom(Config(store=f"sqlite:///{tmp_path / 's.db'}", time_budget=0.001))
    text = log(40_000)  # about 3 MB: far more than 3 ms of work
    result = hr.compress_text(text, kind="log")
    assert result.outcome == "timed_out"
    assert result.text == text
    assert hr.outcomes["timed_out"] == 1
    assert hr.ledger is not None
    hr.ledger.flush()
    [event] = [e for e in hr.ledger.events() if e.event == "compress"]
    assert (event.outcome, event.reason) == ("timed_out", "over the time budget")
    monkeypatch.setattr(_pipeline, "MIN_TIME_BUDGET", 60.0)
    assert hr.compress_text(text, kind="log").outcome == "compressed"  # no stray interruption left
    hr.close()


def test_time_budgets_firing_in_many_threads_never_hang_or_leak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interruptions land anywhere in the compressors (imports, pools, logging): nothing deadlocks,
    and a budget that fired never interrupts anything after its compression."""
    import gc
    import random
    import threading

    from headroom import _pipeline

    monkeypatch.setattr(_pipeline, "MIN_TIME_BUDGET", 0.0)
    # hypothesis (earlier tests) leaves a gc callback behind; a raise landing in it is swallowed and
    # reported as unraisable (the compression then runs on unbudgeted: see _deadline)
    saved = list(gc.callbacks)
    gc.callbacks.clear()  # the gc module holds this very list
    texts = [log(n) for n in (400, 4000, 12000)]
    texts += [
        json.dumps([{"id": i, "name": f"n{i}", "tags": ["a", "b"]} for i in range(n)]) for n in (300, 6000)
    ]
    texts += ["\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(n)) for n in (200, 3000)]
    engines = [
        Headroom(Config(store=f"sqlite:///{tmp_path / 's.db'}", time_budget=b)) for b in (1e-4, 1e-2, 30.0)
    ]
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(15):
                hr, text = rng.choice(engines), rng.choice(texts)
                result = hr.compress_text(text, path=rng.choice([None, "x.py"]))
                assert result.text == text or (result.ref is not None and hr.retrieve(result.ref) == text)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,), daemon=True) for seed in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        gc.callbacks.extend(saved)
    assert not any(thread.is_alive() for thread in threads), "a compression deadlocked"
    assert failures == []
    total = sum((hr.outcomes for hr in engines), start=__import__("collections").Counter())
    assert total["timed_out"] > 0
    assert total["compressed"] > 0
    for hr in engines:
        hr.close()
