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
