from __future__ import annotations

import json

import pytest
from headroom import Headroom, RefNotFound
from headroom._markers import make_ref
from headroom._retrieve import MAX_TOKENS


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
    assert (
        lines[0] == '[headroom_retrieve: 10 of 500 lines match "connection TIMEOUT"; showing 10, ranked 1-10]'
    )
    assert lines[1] == "4\t2026-03-01 10:00:03 ERROR db: Connection timeout #3"
    assert all("Connection timeout" in line for line in lines[1:])


def test_a_query_is_capped_to_its_token_budget(hr: Headroom) -> None:
    text = log_text(5000)
    ref = hr.compress_text(text).ref
    assert ref is not None
    answer = hr.retrieve(ref, query="served")
    lines = answer.splitlines()
    assert lines[0].startswith('[headroom_retrieve: 4900 of 5000 lines match "served"; showing ')
    shown = [line for line in lines if line[:1].isdigit()]
    assert lines[0].endswith(f"ranked 1-{len(shown)}; {4900 - len(shown)} more: offset={len(shown)}]")
    assert hr.tokenizer().count(answer) <= MAX_TOKENS


def test_json_queries_return_the_deepest_matching_records(hr: Headroom) -> None:
    calls = [{"path": f"/issues?page={p}", "response": [{"id": p * 10 + i, "title": f"issue {p}-{i}"} for i in range(5)]}
             for p in range(6)]  # fmt: skip
    calls[3]["response"][2]["title"] = "payment gateway outage"
    text = json.dumps(calls, indent=2)
    ref = hr.compress_text(text).ref
    assert ref is not None
    lines = hr.retrieve(ref, query="gateway outage").splitlines()
    assert lines[0] == '[headroom_retrieve: 1 of 36 records match "gateway outage"; showing 1, ranked 1-1]'
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


# --- ranked queries, summaries, pages and line ranges (issue 18) ------------------------------------


def zookeeper_like(lines: int = 2000) -> list[str]:
    """A level-field log where WARN messages say ``error = N``: the trap for a substring match."""
    out = []
    for i in range(lines):
        stamp = f"2015-07-29 17:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d}"
        if i % 151 == 7:
            out.append(
                f"{stamp} - ERROR [CommitProcessor:{i % 3}:NIOServerCnxn@{i}] - Unexpected exception x{i}"
            )
        elif i % 161 == 9:
            out.append(f"{stamp} - ERROR [LearnerHandler-/10.0.0.{i % 9}:{i}] - Unexpected end of stream")
        elif i % 7 == 1:
            out.append(
                f"{stamp} - WARN  [SendWorker:{i % 5}:QuorumCnxManager@679] - Interrupted, error = {i % 7}"
            )
        else:
            out.append(
                f"{stamp} - INFO  [NIOServerCnxnFactory@197] - Accepted socket connection from /10.1.3.{i % 250}"
            )
    return out


def numbered(answer: str) -> list[int]:
    return [
        int(line.split("\t", 1)[0]) for line in answer.splitlines() if line[:1].isdigit() and "\t" in line
    ]


def test_a_level_word_finds_the_level_field_first(hr: Headroom) -> None:
    lines = zookeeper_like()
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    errors = [n for n, line in enumerate(lines, 1) if " - ERROR " in line]
    mentions = [n for n, line in enumerate(lines, 1) if "error = " in line]
    for query in ("ERROR", "error"):
        answer = hr.retrieve(ref, query=query)
        assert answer.startswith(
            f'[headroom_retrieve: {len(errors) + len(mentions)} of 2000 lines match "{query}"'
        )
        shown = numbered(answer)
        assert shown[: len(errors)] == errors  # the level first, in file order; the WARN messages after
        assert set(shown[len(errors) :]) <= set(mentions)
        assert hr.tokenizer().count(answer) <= MAX_TOKENS


def test_a_summary_lists_every_template_of_the_matches_when_they_do_not_fit(hr: Headroom) -> None:
    lines = zookeeper_like()
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    answer = hr.retrieve(ref, query="ERROR").splitlines()
    start, end = (
        answer.index("templates of the matches (count, first, template):"),
        answer.index("matches, best first:"),
    )
    groups = answer[start + 1 : end]
    assert len(groups) == 3
    assert "Unexpected exception x<*>" in groups[0]
    assert "Unexpected end of stream" in groups[1]
    assert "error = <*>" in groups[2]
    counts = [int(group.split()[0].lstrip("×")) for group in groups]
    total = int(answer[0].split()[1])
    assert sum(counts) == total
    assert groups[0].split()[1:3] == ["line", "8:"]  # the first line of the template


def test_pages_read_every_match_once_in_rank_order(hr: Headroom) -> None:
    lines = zookeeper_like()
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    first = hr.retrieve(ref, query="error")
    seen, offset, answer = numbered(first), 0, first
    while "more: offset=" in answer.splitlines()[0]:
        offset = int(answer.splitlines()[0].rsplit("offset=", 1)[1].rstrip("]"))
        answer = hr.answer_tool_call({"ref": ref, "query": "error", "offset": str(offset)})
        assert "templates of the matches" not in answer  # the summary is on the first page only
        assert hr.tokenizer().count(answer) <= MAX_TOKENS
        seen += numbered(answer)
    expected = [n for n, line in enumerate(lines, 1) if "error" in line.lower()]
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))
    past = hr.retrieve(ref, query="error", offset=5000)
    assert "offset 5000 is past the last match" in past


def test_whole_words_in_the_same_case_rank_above_parts_of_words(hr: Headroom) -> None:
    said = ["timeout waiting for the lock", "Time spent in the queue", "time budget left"]
    lines = [f"2026-03-01 10:00:{i % 60:02d} INFO worker {i}: {said[i % 3]}" for i in range(90)]
    ref = hr.compress_text("\n".join(lines), kind="log").ref
    assert ref is not None
    shown = numbered(hr.retrieve(ref, query="time"))
    by_grade = [[n for n in range(1, 91) if (n - 1) % 3 == grade] for grade in (2, 1, 0)]
    assert shown == by_grade[0] + by_grade[1] + by_grade[2]


def test_logcat_letters_are_levels(hr: Headroom) -> None:
    lines = [
        f"03-17 16:13:{i % 60:02d}.{i:03d}  1702  {2000 + i} {'E' if i % 97 == 5 else 'D'} WindowManager: Event {i}"
        for i in range(400)
    ]
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    answer = hr.retrieve(ref, query="E")
    assert numbered(answer) == [n for n, line in enumerate(lines, 1) if " E Window" in line]
    assert hr.retrieve(ref, query="ERROR").splitlines()[1:] == answer.splitlines()[1:]


def test_json_whole_keys_and_values_rank_first(hr: Headroom) -> None:
    records = [{"id": i, "state": "open", "title": f"issue {i} in the open tracker"} for i in range(40)]
    records[31]["state"] = "closed"
    records[12]["title"] = "closed by a bot, then reopened"
    text = json.dumps(records, indent=2)
    ref = hr.compress_text(text).ref
    assert ref is not None
    lines = hr.retrieve(ref, query="closed").splitlines()
    assert lines[0] == '[headroom_retrieve: 2 of 40 records match "closed"; showing 2, ranked 1-2]'
    assert lines[1].startswith("[31]\t")
    assert lines[2].startswith("[12]\t")


def test_a_miss_says_so_and_suggests_terms_that_occur(hr: Headroom) -> None:
    lines = zookeeper_like(400)
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    typo = hr.retrieve(ref, query="Unexpectd").splitlines()
    assert typo[0] == '[headroom_retrieve: 0 of 400 lines match "Unexpectd"; showing 0]'
    assert typo[1].startswith('no line holds "Unexpectd"; terms spelled like it: Unexpected (')
    apart = hr.retrieve(ref, query="Interrupted Accepted").splitlines()
    assert apart[1].startswith('every word occurs, but no line holds them all ("Interrupted" ')


def test_line_ranges_page_through_the_original(hr: Headroom) -> None:
    lines = zookeeper_like(3000)
    text = "\n".join(lines) + "\n"
    ref = hr.compress_text(text, kind="log").ref
    assert ref is not None
    page = hr.retrieve(ref, lines="120-124").splitlines()
    assert page == [
        "[headroom_retrieve: lines 120-124 of 3000]",
        *(f"{n}\t{lines[n - 1]}" for n in range(120, 125)),
    ]
    seen: list[int] = []
    answer = hr.answer_tool_call({"ref": ref, "lines": "1-"})
    while True:
        assert hr.tokenizer().count(answer) <= MAX_TOKENS
        seen += numbered(answer)
        header = answer.splitlines()[0]
        if "next: lines=" not in header:
            break
        answer = hr.answer_tool_call({"ref": ref, "lines": header.split('lines="', 1)[1].split('"')[0]})
    assert seen == list(range(1, 3001))
    within = hr.retrieve(ref, query="ERROR", lines="1-200")
    errors = [n for n, line in enumerate(lines[:200], 1) if " - ERROR " in line]
    mentions = sum(1 for line in lines[:200] if "error = " in line)
    assert within.startswith(
        f'[headroom_retrieve: {len(errors) + mentions} of 200 lines match "ERROR" in lines 1-200;'
    )
    assert numbered(within)[: len(errors)] == errors
    assert (
        hr.retrieve(ref, lines="4000-")
        == "[headroom_retrieve: the original has 3000 lines; ask for lines from 1 to 3000]"
    )


def test_bad_pages_and_ranges_get_a_message_for_the_model(hr: Headroom) -> None:
    ref = hr.compress_text(log_text(), kind="log").ref
    for arguments, message in [
        ({"lines": "9-3"}, 'lines must be a 1-based range such as "120-180"'),
        ({"lines": "abc"}, "lines must be"),
        ({"lines": [1, 2]}, "lines must be"),
        ({"offset": -1}, "offset must be a whole number of 0 or more"),
        ({"offset": "two"}, "offset must be"),
        ({"offset": True}, "offset must be"),
    ]:
        assert message in hr.answer_tool_call({"ref": ref, **arguments})
    with pytest.raises(ValueError, match="lines must be"):
        hr.retrieve(str(ref), lines="0-3")


def test_one_giant_line_is_cut_to_the_budget(hr: Headroom) -> None:
    lines = [f"INFO line {i}" for i in range(50)]
    lines[20] = "ERROR payload " + " ".join(f"tok{i}" for i in range(40_000))
    ref = hr.compress_text("\n".join(lines), kind="log").ref
    assert ref is not None
    for answer in (hr.retrieve(ref, query="payload"), hr.retrieve(ref, lines="21")):
        assert hr.tokenizer().count(answer) <= MAX_TOKENS
        assert '[… cut; ask for lines="21" alone' in answer


def test_members_of_a_map_keyed_by_versions_are_records(hr: Headroom) -> None:
    versions = {f"1.{minor}.{patch}": {"version": f"1.{minor}.{patch}", "deps": {"a": "^1"}, "size": 100 + patch}
                for minor in range(5) for patch in range(8)}  # fmt: skip
    versions["1.3.2"]["deprecated"] = "security hole in the parser"
    text = json.dumps({"name": "pkg", "versions": versions}, indent=2)
    ref = hr.compress_text(text).ref
    assert ref is not None
    lines = hr.retrieve(ref, query="parser").splitlines()
    assert lines[0] == '[headroom_retrieve: 1 of 40 records match "parser"; showing 1, ranked 1-1]'
    assert lines[1].startswith('versions["1.3.2"]\t{"1.3.2":{"version":"1.3.2"')
    by_key = hr.retrieve(ref, query="1.4.7").splitlines()
    assert by_key[1].startswith('versions["1.4.7"]\t')  # the key itself, its whole value, ranks first


def test_a_level_field_deep_in_the_header_is_found(hr: Headroom) -> None:
    """BGL-style RAS lines carry their level as the ninth token, after node names and two clocks."""
    lines = []
    for i in range(600):
        level = "FATAL" if i % 97 == 11 else "INFO"
        message = (
            "data TLB error interrupt" if level == "FATAL" else f"non-fatal cache parity error corrected {i}"
        )
        lines.append(f"- {1117838570 + i} 2005.06.03 R02-M1-N{i % 9}-C:J12-U11 2005-06-03-15.42.{i % 60:02d}.675872 "
                     f"R02-M1-N{i % 9}-C:J12-U11 RAS KERNEL {level} {message}")  # fmt: skip
    ref = hr.compress_text("\n".join(lines) + "\n", kind="log").ref
    assert ref is not None
    fatal = [n for n, line in enumerate(lines, 1) if " FATAL " in line]
    answer = hr.retrieve(ref, query="fatal")  # every line says "fatal"; the level field ranks first
    assert numbered(answer)[: len(fatal)] == fatal
