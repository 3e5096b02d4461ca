from __future__ import annotations

import random
from collections import Counter

import pytest
from headroom import Headroom
from headroom._compressors import Job
from headroom._compressors.diff import compress
from headroom._markers import MARKER_RE, Marker
from headroom._tokens import get_tokenizer

MARKER = Marker("ab" * 12, True)


def run(text: str, query: str | None = None, budget: float | None = None) -> str:
    out = compress(Job(text=text, query=query, budget=budget, marker=MARKER))
    assert out is not None
    return out


def code(tag: str, count: int, start: int = 0) -> list[str]:
    return [
        f"    value_{tag}_{i} = compute_{tag}(request, index={i})  # step {i}"
        for i in range(start, start + count)
    ]


def hunk(start: int, before: list[str], removed: list[str], added: list[str], after: list[str]) -> list[str]:
    old = len(before) + len(removed) + len(after)
    new = len(before) + len(added) + len(after)
    return [
        f"@@ -{start},{old} +{start},{new} @@ def section_{start}(request):",
        *(f" {line}" for line in before),
        *(f"-{line}" for line in removed),
        *(f"+{line}" for line in added),
        *(f" {line}" for line in after),
    ]


def file_diff(path: str, *hunks: list[str], header: tuple[str, ...] = ()) -> list[str]:
    return [
        f"diff --git a/{path} b/{path}",
        *header,
        "index 83db48f..bf269f4 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
        *(line for lines in hunks for line in lines),
    ]


def new_file(path: str, lines: list[str]) -> list[str]:
    return [
        f"diff --git a/{path} b/{path}",
        "new file mode 100644",
        "index 0000000..e69de29",
        "--- /dev/null",
        f"+++ b/{path}",
        f"@@ -0,0 +1,{len(lines)} @@",
        *(f"+{line}" for line in lines),
    ]


def edits() -> list[str]:
    return file_diff(
        "src/app/handlers.py",
        hunk(10, code("a", 10), ["    old_timeout = 30"], ["    new_timeout = 60"], code("b", 10)),
        hunk(80, code("c", 3), code("gone", 2), [], code("d", 3)),
    )


def commit(sha: str, subject: str, body: list[str], diff: list[str]) -> list[str]:
    message = [f"    {subject}", *(["", *(f"    {line}" for line in body)] if body else [])]
    return [
        f"commit {sha}",
        "Author: Ada Lovelace <ada@example.org>",
        "Date:   Mon Mar 2 10:04:03 2026 +0100",
        "",
        *message,
        "",
        *diff,
    ]


def text_of(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def is_changed(line: str) -> bool:
    return line[:1] in "+-" and not line.startswith(("+++ ", "--- "))


def test_context_is_trimmed_to_one_line_around_each_change() -> None:
    out = run(text_of(edits())).split("\n")
    assert "     value_a_9 = compute_a(request, index=9)  # step 9" in out  # the line before the change
    assert "     value_b_0 = compute_b(request, index=0)  # step 0" in out  # the line after it
    assert "     value_a_5 = compute_a(request, index=5)  # step 5" not in out
    assert "  … 9 unchanged lines" in out
    assert out.count("  … 9 unchanged lines") == 2
    assert len(MARKER_RE.findall("\n".join(out))) == 1
    assert "  … 2 unchanged lines" in out  # the second hunk keeps 1 of its 3 context lines a side
    assert out[-1] == MARKER(9 + 9 + 2 + 2, "lines")


def test_every_header_and_every_changed_line_is_kept() -> None:
    lines = [
        *edits(),
        *file_diff(
            "bin/run.sh",
            hunk(1, code("r", 6), ["exit 1"], ["exit 0"], []),
            header=("old mode 100644", "new mode 100755"),
        ),
        "diff --git a/old.py b/old.py",
        "deleted file mode 100644",
        "index 3b18e51..0000000",
        "--- a/old.py",
        "+++ /dev/null",
        "@@ -1,3 +0,0 @@",
        *(f"-{line}" for line in code("old", 3)),
    ]
    out = run(text_of(lines)).split("\n")
    for line in lines:
        if line.startswith(
            ("diff ", "index ", "--- ", "+++ ", "@@ ", "old mode", "new mode", "deleted file")
        ):
            assert line in out
        if is_changed(line):
            assert line in out


def test_a_pure_hunk_over_50_lines_collapses_to_its_ends_with_a_count() -> None:
    added = code("gen", 80)
    out = run(text_of([*edits(), *new_file("src/app/generated.py", added)])).split("\n")
    assert [f"+{line}" for line in added[:3]] == out[
        out.index("@@ -0,0 +1,80 @@") + 1 : out.index("  … 75 added lines")
    ]
    assert out[out.index("  … 75 added lines") + 1 :][:2] == [f"+{line}" for line in added[-2:]]
    assert f"+{added[40]}" not in out
    assert out[-1] == MARKER(75 + 22, "lines")


def test_a_pure_hunk_of_50_lines_is_kept_whole() -> None:
    added = code("gen", 50)
    out = run(text_of([*edits(), *new_file("src/app/generated.py", added)]))
    assert all(f"+{line}" in out.split("\n") for line in added)
    assert "added lines" not in out


def test_a_long_run_inside_a_mixed_hunk_is_a_pure_block_too() -> None:
    removed, added = code("v1", 60), code("v2", 60)
    out = run(text_of(file_diff("src/app/tables.py", hunk(5, code("a", 3), removed, added, code("b", 3)))))
    assert "  … 55 deleted lines" in out
    assert "  … 55 added lines" in out
    assert f"-{removed[0]}" in out
    assert f"+{added[-1]}" in out


def test_generated_files_collapse_shorter_blocks() -> None:
    wheels = [
        f'    {{ url = "https://files.example.org/pkg-{i}.whl", hash = "sha256:{i:064x}" }},'
        for i in range(30)
    ]
    lock = file_diff("uv.lock", hunk(40, ["wheels = ["], [], wheels, ["]"]))
    source = file_diff("src/app/wheels.py", hunk(40, ["wheels = ["], [], wheels, ["]"]))
    assert "  … 25 added lines" in run(text_of(lock))
    assert (
        compress(Job(text=text_of(source), query=None, budget=None, marker=MARKER)) is None
    )  # nothing worth cutting


def test_a_combined_diff_keeps_both_prefix_columns() -> None:
    lines = [
        "diff --cc src/app/config.py",
        "index 83234d8,6c79cdd..ee52870",
        "--- a/src/app/config.py",
        "+++ b/src/app/config.py",
        "@@@ -2,22 -2,22 +2,22 @@@ def load(request):",
        *(f"  {line}" for line in code("a", 10)),
        "- timeout = 30  # main",
        " -timeout = 45  # side",
        "++timeout = 60  # merged",
        *(f"  {line}" for line in code("b", 11)),
        "diff --cc src/app/other.py",
        "index 1111111,2222222..3333333",
        "--- a/src/app/other.py",
        "+++ b/src/app/other.py",
        "@@@ -1,3 -1,3 +1,3 @@@",
        "- a = 1",
        " -a = 2",
        "++a = 3",
        "  b = 4",
        "  c = 5",
    ]
    out = run(text_of(lines)).split("\n")
    for line in ("- timeout = 30  # main", " -timeout = 45  # side", "++timeout = 60  # merged", "++a = 3"):
        assert line in out
    assert f"  {code('a', 10)[-1]}" in out
    assert f"  {code('a', 10)[0]}" not in out
    assert "  … 9 unchanged lines" in out
    assert "  … 10 unchanged lines" in out
    assert "diff --cc src/app/other.py" in out  # the first hunk ended where its counts said


def test_renames_mode_changes_and_binary_markers_are_kept() -> None:
    lines = [
        *edits(),
        "diff --git a/docs/old_name.md b/docs/new_name.md",
        "similarity index 96%",
        "rename from docs/old_name.md",
        "rename to docs/new_name.md",
        "index 1a2b3c4..5d6e7f8 100644",
        "--- a/docs/old_name.md",
        "+++ b/docs/new_name.md",
        "@@ -1,2 +1,2 @@",
        "-# Old title",
        "+# New title",
        " Body.",
        "diff --git a/logo.png b/logo.png",
        "index 3f2a9c0..1b7d4a5 100644",
        "Binary files a/logo.png and b/logo.png differ",
        "diff --git a/icon.ico b/icon.ico",
        "new file mode 100644",
        "index 0000000000000000000000000000000000000000..e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
        "GIT binary patch",
        "literal 2048",
        *["zcmeAS@N?(olHy`uVBq!ia0vp^0wB!73?$)BsnrHjEa{HEjtmSN`?>!lvI6-A0X`wF|Ns97GlBx" for _ in range(12)],
        "",
        "literal 0",
        "HcmV?d00001",
        "",
    ]
    out = run(text_of(lines)).split("\n")
    for line in lines[len(edits()) :]:
        if not line.startswith("zcmeAS"):
            assert line in out
    assert "zcmeAS" not in "\n".join(out)
    assert "  … 12 binary patch lines" in out


def test_git_log_p_keeps_every_commit_header_and_message() -> None:
    log = [
        *commit(
            "2ac89889f4cc330eabd50f295dcef02828522c69",
            "Raise the default timeout",
            ["Requests to slow backends failed.", "Fixes #4521."],
            edits(),
        ),
        *commit(
            "689362089edd09b6d68f7cfe99075e1345e0fede",
            "Add generated tables",
            [],
            new_file("src/app/tables.py", code("t", 70)),
        ),
        *commit("258d68b6ff5e2244386540f48b48bab90d6ab827", "Merge branch 'stable'", [], []),
        *commit("a31e6b73469cb2bf7eb8f70b5ff21f710fd2e23c", "Tidy handlers", [], edits()),
    ]
    out = run(text_of(log)).split("\n")
    for line in log:
        if line.startswith(
            (
                "commit ",
                "Author: ",
                "Date: ",
                "    Raise",
                "    Requests",
                "    Fixes",
                "    Add",
                "    Merge",
            )
        ):
            assert line in out
    assert out.count("-    old_timeout = 30") == 2
    assert "  … 65 added lines" in out
    assert len(MARKER_RE.findall("\n".join(out))) == 1


def test_the_query_keeps_a_matching_context_line() -> None:
    text = text_of(edits())
    line = "     value_a_3 = compute_a(request, index=3)  # step 3"
    assert line not in run(text).split("\n")
    out = run(text, query="step 3").split("\n")
    assert line in out
    assert "  … 3 unchanged lines" in out
    assert "  … 5 unchanged lines" in out


def test_the_query_keeps_a_matching_line_of_a_collapsed_block() -> None:
    added = code("gen", 80)
    added[41] = "    SECRET_FLAG = load_flag('rollout')"
    out = run(text_of(new_file("src/app/generated.py", added)), query="rollout flag").split("\n")
    assert "+    SECRET_FLAG = load_flag('rollout')" in out
    assert "  … 38 added lines" in out
    assert "  … 36 added lines" in out


def test_a_budget_cuts_context_and_message_bodies_further() -> None:
    body = [f"Explains why change number {i} was needed, at some length." for i in range(8)]
    log = [
        *commit("2ac89889f4cc330eabd50f295dcef02828522c69", "Raise the default timeout", body, edits()),
        *commit(
            "a31e6b73469cb2bf7eb8f70b5ff21f710fd2e23c",
            "Add tables",
            [],
            new_file("src/app/t.py", code("t", 30)),
        ),
    ]
    text = text_of(log)
    default, tight, tightest = run(text), run(text, budget=0.5), run(text, budget=0.2)
    assert len(tightest) < len(tight) < len(default) * 0.6
    assert "    Raise the default timeout" in tight
    assert f"    {body[3]}" in default
    assert f"    {body[3]}" not in tight
    assert "  … 9 message lines" in tight
    assert "-    old_timeout = 30" in tight
    assert "     value_a_9 = compute_a(request, index=9)  # step 9" not in tight.split("\n")
    assert "  … 25 added lines" in tight  # a 30-line pure block collapses under a budget
    assert "  … 27 added lines" in tightest  # and keeps fewer lines under a smaller one


def test_crlf_diffs_read_like_lf_diffs() -> None:
    lf = text_of(edits())
    assert run(lf.replace("\n", "\r\n")) == run(lf)
    assert run(lf.replace("\n", "\r\n").removesuffix("\r\n")) == run(lf.removesuffix("\n"))


def test_carriage_returns_of_a_crlf_file_in_an_lf_diff_are_kept() -> None:
    lines = file_diff(
        "win.txt",
        hunk(1, [f"{line}\r" for line in code("w", 8)], ["    ending = 'x'\r"], ["    ending = 'x'"], []),
    )
    out = run(text_of(lines)).split("\n")
    assert "-    ending = 'x'\r" in out
    assert "+    ending = 'x'" in out
    assert f" {code('w', 8)[-1]}\r" in out


def test_deleted_lines_that_look_like_headers_stay_in_their_hunk() -> None:
    lines = file_diff("notes.md", hunk(1, code("n", 8), ["-- a/b"], ["++ b/c"], code("m", 8)))
    out = run(text_of(lines)).split("\n")
    assert "--- a/b" in out
    assert "+++ b/c" in out
    assert out.count("  … 7 unchanged lines") == 2  # the context after them is still context


def test_what_is_not_a_diff_returns_none() -> None:
    prose = "The meeting moved to Tuesday.\n" * 40
    log = "".join(f"2026-03-01 10:00:{i:02d} INFO served /api/items/{i}\n" for i in range(60))
    stray = "Some notes about a patch\n@@ -1 +1 @@\n-a\n+b\n" + "More notes about it, in prose.\n" * 10
    for text in ("", prose, log, stray):
        assert compress(Job(text=text, query=None, budget=None, marker=MARKER)) is None


def test_a_diff_with_nothing_worth_cutting_returns_none() -> None:
    lines = file_diff("a.py", hunk(1, ["x = 1"], ["y = 2"], ["y = 3"], ["z = 4"]))
    assert compress(Job(text=text_of(lines), query=None, budget=None, marker=MARKER)) is None


def test_the_same_input_gives_the_same_bytes() -> None:
    text = text_of([*edits(), *new_file("src/gen.py", code("g", 90))])
    assert run(text, query="step 4") == run(text, query="step 4")
    assert run(text, budget=0.3) == run(text, budget=0.3)


def test_through_the_engine_the_original_comes_back_byte_for_byte(hr: Headroom) -> None:
    log = [
        *commit("2ac89889f4cc330eabd50f295dcef02828522c69", "Raise the default timeout", [], edits()),
        *commit(
            "689362089edd09b6d68f7cfe99075e1345e0fede",
            "Add tables",
            [],
            new_file("src/app/t.py", code("t", 90)),
        ),
    ]
    text = text_of(log).replace("\n", "\r\n")
    c = hr.compress_text(text)
    assert c.kind == "diff"
    assert c.ref is not None
    assert c.tokens_after * 2 < c.tokens_before
    marker = MARKER_RE.search(c.text)
    assert marker is not None
    assert marker["ref"] == c.ref
    assert hr.retrieve(c.ref) == text


def small_commits(seed: int, commits: int, most: int = 3) -> list[str]:
    """A ``git log -p`` of many small commits, as CI bumps, releases and one-line fixes look: up to
    ``most`` lines deleted and added per hunk (one each when 1), three context lines a side, index lines,
    authors, dates and message bodies."""
    rng = random.Random(seed)
    paths = [".github/workflows/ci.yml", "Cargo.toml", "src/lib.rs", "src/de.rs", "src/value/mod.rs",
             "tests/test.rs", "README.md", "src/read.rs"]  # fmt: skip
    log: list[str] = []
    for c in range(commits):
        files = []
        for path in rng.sample(paths, rng.randint(1, 3)):
            hunks = []
            for h in range(rng.randint(1, 3)):
                start = 10 + 40 * h + rng.randint(0, 30)
                tag = f"{c}_{path[-6:-3]}_{h}"
                least = 1 if most == 1 else 0
                removed = [f"    let limit_{tag}_{i} = parse(input, {rng.randint(1, 99)})?;"
                           for i in range(rng.randint(least, most))]  # fmt: skip
                added = [f"    let limit_{tag}_{i} = parse(input, {rng.randint(100, 999)})?;"
                         for i in range(rng.randint(1 if not removed else least, most))]  # fmt: skip
                hunks.append(hunk(start, code(f"x{tag}", 3), removed, added, code(f"y{tag}", 3)))
            files += file_diff(path, *hunks)
        body = [f"Detail {i} of why commit {c} was made, wrapped at seventy columns." for i in range(c % 4)]
        sha = f"{rng.getrandbits(160):040x}"
        log += commit(sha, f"Fix clippy lint number {c} in the parser", body, files)
    return log


@pytest.mark.parametrize(("seed", "most"), [(seed, most) for seed in range(4) for most in (1, 3)])
def test_many_small_commits_halve_and_keep_every_header_and_changed_line(seed: int, most: int) -> None:
    lines = small_commits(seed, 30, most)
    text = text_of(lines)
    out = run(text)
    tokens = get_tokenizer("o200k_base")
    assert tokens.count(text) >= 2 * tokens.count(out)
    visible = Counter(out.split("\n"))
    required = Counter(line for line in lines if line.startswith(("diff --git ", "--- ", "+++ ", "commit ")))
    required.update(line for line in lines if is_changed(line) and line)
    required.update(line for line in lines if line.startswith("    Fix clippy"))  # every subject
    assert not required - visible
    assert "index 83db48f..bf269f4 100644" not in visible  # blob hashes go first
    assert "  … 3 unchanged lines" not in visible  # a hunk's edges go without a note
    assert retrieve_ok(text, out)


def retrieve_ok(text: str, out: str) -> bool:
    marker = MARKER_RE.search(out)
    return marker is not None and marker["ref"] == MARKER.ref and text.count("\n") > out.count("\n")


def test_one_small_change_keeps_its_context_and_metadata() -> None:
    lines = commit("2ac89889f4cc330eabd50f295dcef02828522c69", "Raise the timeout", ["Why."], edits())
    out = run(text_of(lines)).split("\n")
    assert "Author: Ada Lovelace <ada@example.org>" in out
    assert "index 83db48f..bf269f4 100644" in out
    assert "     value_a_9 = compute_a(request, index=9)  # step 9" in out
