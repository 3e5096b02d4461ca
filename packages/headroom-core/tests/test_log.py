from __future__ import annotations

import json
import random
import re

from headroom._compressors import Job
from headroom._compressors.log import compress
from headroom._markers import MARKER_RE, Marker, make_ref


def run(text: str, query: str | None = None) -> str:
    out = compress(Job(text=text, query=query, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    return out


def service_log(lines: int = 600, seed: int = 1) -> str:
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        stamp = f"2026-03-01 10:{i // 60 % 60:02d}:{i % 60:02d},{rng.randint(0, 999):03d}"
        roll = rng.random()
        if roll < 0.6:
            out.append(
                f"{stamp} INFO [worker-{rng.randint(1, 8)}] app.http: served /api/items/{rng.randint(1, 999)} in {rng.randint(1, 90)}ms"
            )
        elif roll < 0.9:
            out.append(f"{stamp} DEBUG [cache] app.cache: hit ratio {rng.randint(50, 99)}%")
        elif roll < 0.97:
            out.append(f"{stamp} WARN [db] app.db: slow query {rng.randint(900, 4000)}ms on table orders")
        else:
            out.append(
                f"{stamp} ERROR [pay] app.payments: charge {rng.randint(1000, 9999)} failed: card_declined"
            )
    out.insert(300, "2026-03-01 10:05:00,000 FATAL [main] app.server: out of memory, shutting down worker-3")
    return "\n".join(out) + "\n"


def test_every_error_and_warning_template_survives_with_a_count() -> None:
    text = service_log()
    out = run(text)
    errors = [line for line in text.splitlines() if " ERROR " in line]
    warnings = [line for line in text.splitlines() if " WARN " in line]
    assert f"[×{len(errors)}] {errors[0]}" in out
    assert f"[×{len(warnings)}] {warnings[0]}" in out
    assert "FATAL [main] app.server: out of memory, shutting down worker-3" in out
    assert len(out) * 10 < len(text)


def test_repeated_info_lines_collapse_to_a_template_with_count_and_span() -> None:
    text = service_log()
    out = run(text)
    served = [line for line in text.splitlines() if "app.http: served" in line]
    first, last = served[0][11:19], served[-1][11:19]
    pattern = re.escape(
        f"[×{len(served)} {first}–{last}] INFO [worker-<*>] app.http: served /api/items/<*> in <*>ms"
    )
    assert re.search(pattern, out)


def test_first_and_last_lines_stay_and_one_marker_counts_the_rest() -> None:
    text = service_log()
    out = run(text)
    lines = text.splitlines()
    assert out.startswith(lines[0])
    assert lines[-1] in out
    markers = MARKER_RE.findall(out)
    assert len(markers) == 1
    shown_verbatim = sum(
        1
        for line in lines
        if line in out.splitlines() or any(o.endswith("] " + line) for o in out.splitlines())
    )
    assert int(markers[0][0]) == len(lines) - shown_verbatim


def test_python_tracebacks_stay_whole() -> None:
    trace = [
        "2026-03-01 10:00:05,000 ERROR [api] app: request failed",
        "Traceback (most recent call last):",
        '  File "/srv/app.py", line 10, in handle',
        "    return process(payload)",
        '  File "/srv/app.py", line 22, in process',
        "    raise ValueError(f'bad payload {payload!r}')",
        "ValueError: bad payload {}",
    ]
    text = service_log(200).replace("\n", "\n" + "\n".join(trace) + "\n", 1)
    out = run(text)
    assert "\n".join(trace) in out


def test_java_stack_traces_stay_whole() -> None:
    trace = [
        "2026-03-01 10:00:05,000 ERROR [main] org.example.Client: call failed",
        "java.net.ConnectException: Connection refused",
        "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
        "\tat org.example.Client.call(Client.java:42)",
        "Caused by: java.io.IOException: broken pipe",
        "\t... 12 more",
    ]
    text = service_log(200) + "\n".join(trace) + "\n" + service_log(50, seed=2)
    assert "\n".join(trace) in run(text)


def test_pytest_output_keeps_failures_and_the_summary() -> None:
    passed = [f"tests/test_mod{i}.py::test_case_{j} PASSED" for i in range(20) for j in range(10)]
    failure = [
        "=================================== FAILURES ===================================",
        "_________________________________ test_total __________________________________",
        "",
        "    def test_total():",
        ">       assert total([1, 2]) == 4",
        "E       assert 3 == 4",
        "",
        "tests/test_cart.py:12: AssertionError",
        "=========================== short test summary info ============================",
        "FAILED tests/test_cart.py::test_total - assert 3 == 4",
        "======================== 1 failed, 200 passed in 3.21s =========================",
    ]
    text = (
        "\n".join(
            [
                "============================= test session starts ==============================",
                *passed,
                *failure,
            ]
        )
        + "\n"
    )
    out = run(text)
    for line in failure[1:]:
        if line:
            assert line in out
    assert "[×200" in out


def test_json_lines_logs_keep_their_errors() -> None:
    records = [
        {"ts": f"2026-03-01T10:00:{i % 60:02d}Z", "level": "info", "msg": "request served", "ms": i}
        for i in range(200)
    ]
    records[77] = {"ts": "2026-03-01T10:01:17Z", "level": "error", "msg": "upstream timeout", "ms": 30000}
    text = "\n".join(json.dumps(record) for record in records) + "\n"
    out = run(text)
    assert json.dumps(records[77]) in out
    assert "[×199" in out


def test_failed_http_requests_do_not_hide_among_successes() -> None:
    lines = [
        f"2026-03-01 10:00:{i % 60:02d} INFO app.http: GET /api/orders/{100 + i} {500 if i % 50 == 7 else 200} {i % 90}ms"
        for i in range(300)
    ]
    out = run("\n".join(lines))
    failed = [line for line in lines if " 500 " in line]
    assert f"[×{len(failed)}] {failed[0]}" in out


def test_query_keeps_matching_lines() -> None:
    text = service_log()
    target = next(line for line in text.splitlines() if "served /api/items/" in line)
    item = re.search(r"/api/items/(\d+)", target).group(1)  # type: ignore[union-attr]
    out = run(text, query=f"what happened to /api/items/{item} ?")
    assert target in out


def test_crlf_logs_compress_like_lf_logs() -> None:
    text = service_log()
    without_marker = [MARKER_RE.sub("", run(t)) for t in (text, text.replace("\n", "\r\n"))]
    assert without_marker[0] == without_marker[1]


def test_output_is_deterministic() -> None:
    text = service_log()
    assert run(text) == run(text)


def test_too_short_or_unstructured_input_is_left_alone() -> None:
    assert compress(Job(text="one\ntwo\n", query=None, budget=None, marker=Marker("0" * 24, True))) is None


def test_a_budget_trims_templates_but_never_errors() -> None:
    words = ["".join(chr(97 + (k * 7 + j * 3) % 26) for j in range(6)) for k in range(120)]
    text = "\n".join(
        f"2026-03-01 10:00:{i % 60:02d} {'ERROR' if i % 97 == 0 else 'INFO'} app: "
        f"{words[i % 40]} {words[40 + i % 40]} {words[80 + i % 40]} finished task {i}"
        for i in range(2000)
    )
    default = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    tight = compress(Job(text=text, query=None, budget=0.0005, marker=Marker(make_ref(text), True)))
    assert default is not None
    assert tight is not None
    assert len(tight) < len(default)
    errors = [line for line in text.splitlines() if " ERROR " in line]
    # each error message (its words differ from line to line) keeps an example, with its count
    for error in errors:
        assert error.split(" finished ")[0].split(" app: ")[1] in tight
    counts = [int(m.group(1) or 1) for m in re.finditer(r"^(?:\[×(\d+)\] )?\S+ \S+ ERROR ", tight, re.M)]
    assert sum(counts) == len(errors)


def test_a_budget_can_drop_single_info_lines_but_not_warnings() -> None:
    # each message has its own length, so every line is a template of its own
    lines = [
        f"2026-03-01 10:00:{i:02d} INFO app: setup {' '.join(['stage'] * (i + 1))} done" for i in range(50)
    ]
    lines[30] = "2026-03-01 10:00:30 WARN app: disk almost full"
    lines += [f"2026-03-01 10:01:{i % 60:02d} INFO app: heartbeat {i} ok" for i in range(400)]
    text = "\n".join(lines)
    default = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    tight = compress(Job(text=text, query=None, budget=0.05, marker=Marker(make_ref(text), True)))
    assert default is not None
    assert tight is not None
    assert sum(1 for line in lines if line in default) > sum(1 for line in lines if line in tight)
    assert "2026-03-01 10:00:30 WARN app: disk almost full" in tight
