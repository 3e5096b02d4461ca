"""``git log`` and ``git show --stat``: one line per commit with its hash, date, author and subject;
with ``--stat`` every file with its count and the summary line; the commits the query is about whole."""

from __future__ import annotations

import random
import re

import pytest
from headroom import Config, Headroom

AUTHORS = ["Ada Lovelace <ada@example.org>", "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
           "Kevin Deldycke <kevin@deldycke.com>", "Grace Hopper <grace@navy.example>"]  # fmt: skip
FILES = ["src/app/core.py", "src/app/cli.py", "tests/test_core.py", "docs/index.md", ".github/workflows/ci.yml",
         "pyproject.toml", "src/app/_internal/utils.py"]  # fmt: skip


def _log(seed: int, *, stat: bool, fuller: bool = False, decorate: bool = False) -> tuple[str, list[dict]]:
    rng = random.Random(seed)
    commits, out = [], []
    for n in range(rng.randint(20, 60)):
        commit = {"hash": f"{rng.randrange(16**40):040x}", "author": rng.choice(AUTHORS),
                  "date": f"{rng.choice(['Mon', 'Tue', 'Wed'])} Aug {rng.randint(1, 28)} "
                          f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:07 2026 -0600",
                  "subject": f"{rng.choice(['Fix', 'Add', 'Bump', 'Refactor'])} {rng.choice(FILES)} handling (#{7000 + n})",
                  "files": rng.sample(FILES, rng.randint(1, 4))}  # fmt: skip
        commits.append(commit)
        refs = " (HEAD -> main, origin/main)" if decorate and n == 0 else ""
        out.append(f"commit {commit['hash']}{refs}")
        if n % 9 == 4:
            out.append(f"Merge: {commit['hash'][:8]} {commit['hash'][8:16]}")
        if fuller:
            out += [f"Author:     {commit['author']}", f"AuthorDate: {commit['date']}",
                    f"Commit:     {commit['author']}", f"CommitDate: {commit['date']}"]  # fmt: skip
        else:
            out += [f"Author: {commit['author']}", f"Date:   {commit['date']}"]
        out += ["", f"    {commit['subject']}", ""]
        for k in range(rng.randint(0, 12)):
            out.append(f"    Detail {k} of the change: the {rng.choice(FILES)} path now retries {k} times.")
        if out[-1]:
            out.append("")
        if stat:
            counts = [rng.randint(1, 300) for _ in commit["files"]]
            width = max(map(len, commit["files"]))
            out += [f" {path.ljust(width)} | {count:3} {'+' * min(count, 30)}"
                    for path, count in zip(commit["files"], counts, strict=True)]  # fmt: skip
            commit["stat"] = f" {len(counts)} files changed, {sum(counts)} insertions(+), {n} deletions(-)"
            commit["counts"] = counts
            out += [commit["stat"], ""]
    return "\n".join(out), commits


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("stat", [False, True])
@pytest.mark.parametrize("style", ["plain", "fuller", "decorate"])
def test_every_commit_keeps_its_hash_date_author_and_subject(seed: int, stat: bool, style: str) -> None:
    text, commits = _log(seed, stat=stat, fuller=style == "fuller", decorate=style == "decorate")
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.outcome) == ("git", "compressed")
    assert result.tokens_after * 1.3 < result.tokens_before
    lines = result.text.split("\n")
    for commit in commits:
        line = next(line for line in lines if line.startswith(commit["hash"]))
        name = commit["author"].split(" <")[0]
        assert all(part in line for part in (commit["date"], name, commit["subject"]))
        if stat:
            for path, count in zip(commit["files"], commit["counts"], strict=True):
                assert f" {path} | {count}" in result.text
            assert commit["stat"] in lines
    for author in {commit["author"] for commit in commits}:
        assert author in result.text  # with its e-mail address, once
    assert headroom.retrieve(result.ref or "") == text
    headroom.close()


def test_the_commits_the_query_is_about_keep_their_message() -> None:
    text, _ = _log(5, stat=True)
    found = re.search(r"\(#(\d+)\)\n\n    (Detail \d+ of the change: [^\n]+)", text)
    assert found is not None
    number, detail = found[1], found[2]
    headroom = Headroom(Config(store="memory", ledger=False))
    assert detail not in headroom.compress_text(text).text
    assert detail in headroom.compress_text(text, query=f"why was {number} merged").text
    headroom.close()


def test_git_log_with_patches_stays_a_diff() -> None:
    text, _ = _log(1, stat=False)
    patch = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-old = 1\n+new = 2\n ctx\n"
    patched = text.replace("\ncommit ", f"\n{patch}\ncommit ")
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(patched)
    assert result.kind == "diff"
    headroom.close()


def test_git_blame_names_each_commit_once_per_run_and_keeps_every_line() -> None:
    rng = random.Random(4)
    commits = [(f"{rng.randrange(16**8):08x}", author.split(" <")[0], f"2026-0{k + 1}-1{k} 10:0{k}:00 +0100")
               for k, author in enumerate(AUTHORS)]  # fmt: skip
    rows, owner = [], []
    for number in range(1, 301):
        if number == 1 or rng.random() < 0.1:
            current = rng.choice(commits)
        code = f"    value_{number} = compute({number})"
        rows.append(f"{current[0]} ({current[1]:<16} {current[2]} {number:>3}) {code}")
        owner.append((number, code, current[0]))
    text = "\n".join(rows) + "\n"
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert (result.kind, result.outcome) == ("git", "compressed")
    assert result.tokens_after * 2 < result.tokens_before
    above = ""
    lines = {}
    for line in result.text.split("\n"):
        if re.match(r"^\s*\d+\| ", line):
            number, code = line.split("| ", 1)
            lines[int(number)] = (code, above)
        elif line and not line.startswith("["):
            above = line.split()[0]
    assert all(lines[number] == (code, commit) for number, code, commit in owner)
    headroom.close()


STATES = ["modified", "new file", "deleted", "renamed", "typechange"]
DIRS = ["src/app", "src/app/_internal", "tests", "docs", "", "web/static/js"]


def _status(seed: int) -> tuple[str, list[tuple[str, str]], list[str]]:
    """A long-format ``git status``: (its text, every (state, path), the lines it must keep)."""
    rng = random.Random(seed)
    head = rng.choice(["On branch main", "On branch feature/x-17", "HEAD detached at 3f2a9c0"])
    lines = [head, rng.choice(["Your branch is ahead of 'origin/main' by 2 commits.",
                               "Your branch is up to date with 'origin/main'."]), ""]  # fmt: skip
    keep, entries = [lines[0], lines[1]], []
    sections = [("Changes to be committed:", ['  (use "git restore --staged <file>..." to unstage)'], True),
                ("Changes not staged for commit:", ['  (use "git add <file>..." to update what will be committed)',
                 '  (use "git restore <file>..." to discard changes in working directory)'], True),
                ("Unmerged paths:", ['  (use "git add <file>..." to mark resolution)'], True),
                ("Untracked files:", ['  (use "git add <file>..." to include in what will be committed)'], False)]  # fmt: skip
    for title, hints, stated in rng.sample(sections, rng.randint(2, 4)):
        lines += [title, *hints]
        keep.append(title)
        for n in range(rng.randint(3, 40)):
            directory = rng.choice(DIRS)
            path = f"{directory}/{'file' if n % 5 else 'my file'}_{seed}_{n}.py".lstrip("/")
            if '"' not in path and " " in path:
                path = f'"{path}"'
            state = rng.choice(STATES) if stated else ""
            if title == "Unmerged paths:":
                state = "both modified"
            if state == "renamed":
                path = f"{path} -> {path.replace('file', 'moved')}"
            lines.append(f"\t{state}:   {path}" if state else f"\t{path}")
            entries.append((state, path))
        lines.append("")
    ending = 'no changes added to commit (use "git add" and/or "git commit -a")'
    lines.append(ending)
    keep.append(ending)
    return "\n".join(lines) + "\n", entries, keep


@pytest.mark.parametrize("seed", range(8))
def test_git_status_keeps_every_path_with_its_state_and_drops_the_hints(seed: int) -> None:
    text, entries, keep = _status(seed)
    headroom = Headroom(Config(store="memory", ledger=False))
    result = headroom.compress_text(text)
    assert result.kind == "git"
    if result.outcome != "compressed":  # too few paths, or too scattered to save min_saving
        assert result.outcome in ("below_min_saving", "not_compressible") or len(entries) < 8
        assert result.text == text
        return
    assert result.tokens_after * 1.15 < result.tokens_before
    lines = result.text.split("\n")
    assert all(line in lines for line in keep)
    assert '  (use "git' not in result.text  # the hint lines; the last line keeps its own
    for state, path in entries:  # each path on the line of its state, under its directory
        directory, _, name = path.rpartition("/")
        whole = " -> " in path or '"' in path
        where = "" if whole else (f"{directory}/" if directory else "")
        label = f"  {state} (" if state else "  ("
        assert any(line.startswith(label) and f": {where}" in line and f" {path if whole else name}" in line
                   for line in lines), (state, path)  # fmt: skip
    assert headroom.retrieve(result.ref or "") == text
    headroom.close()


def test_text_that_starts_like_git_status_but_is_not_one_is_not_read_as_one() -> None:
    text = "On branch policy, the team agreed to ship weekly.\n" + "We keep the notes short. " * 80 + "\n"
    assert Headroom(Config(store="memory", ledger=False)).compress_text(text).kind == "text"
