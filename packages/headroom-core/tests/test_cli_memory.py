"""``headroom memory`` on a real memory file beside a temporary store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from headroom._cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("HEADROOM_STORE", f"sqlite:///{tmp_path}/store.db")
    return CliRunner()


def call(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> tuple[str, str]:
    result = cli.invoke(main, ["memory", *args], input=stdin)
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.stdout, result.stderr


def test_save_list_search_show_delete(cli: CliRunner, tmp_path: Path) -> None:
    assert call(cli, "save", "The tests need Redis on port 6379", "-t", "testing")[0] == "saved #1 (repo)\n"
    assert call(cli, "save", "The tests  need Redis on port 6379")[0] == "duplicate #1 (repo)\n"
    assert call(cli, "save", "Releases are cut from main", "-p", "global")[0] == "saved #2 (global)\n"
    assert call(cli, "save", "Billing runs nightly at 02:00", "-p", "billing")[0] == "saved #3 (billing)\n"
    listed = call(cli, "list")[0].splitlines()
    assert [line.split()[0] for line in listed] == ["#2", "#1"]  # this project and global, newest first
    assert "repo [testing]  The tests need Redis on port 6379" in listed[1]
    assert len(call(cli, "list", "--all")[0].splitlines()) == 3
    found = json.loads(call(cli, "search", "redis", "port", "--json")[0])
    assert [(n["id"], n["project"], n["agent"]) for n in found] == [
        (1, str((tmp_path / "repo").resolve()), "cli")
    ]
    assert call(cli, "search", "billing")[1] == "no notes\n"  # another project's
    assert "Billing runs nightly" in call(cli, "search", "billing", "-p", "billing")[0]
    shown = call(cli, "show", "1")[0]
    assert "saved by cli (session -), 2 time(s)" in shown
    assert "tags: testing" in shown
    assert json.loads(call(cli, "show", "1", "--json")[0])["saves"] == 2
    assert call(cli, "delete", "1", "7", code=1)[1] == "deleted 1 note(s)\nheadroom: no note #7\n"
    assert call(cli, "show", "1", code=1)[1] == "headroom: no note #1\n"


def test_prune_export_import(cli: CliRunner, tmp_path: Path) -> None:
    call(cli, "save", "An old fact about the deploy script")
    call(cli, "save", "A global fact about code review", "-p", "global")
    assert "old fact" in call(cli, "prune", "--older-than", "0s", "--dry-run")[0]
    exported = call(cli, "export")[0]
    assert [json.loads(line)["text"] for line in exported.splitlines()] == [
        "An old fact about the deploy script",
        "A global fact about code review",
    ]
    call(cli, "prune", "--older-than", "0s", stdin="n\n", code=1)  # declined: nothing goes
    assert len(call(cli, "list")[0].splitlines()) == 2
    call(cli, "prune", "--older-than", "0s", "--yes")
    assert call(cli, "list")[1] == "no notes\n"
    dump = tmp_path / "notes.jsonl"
    dump.write_text(exported + "\n")
    assert call(cli, "import", str(dump))[1] == "2 saved, 0 duplicate, 0 updated\n"
    assert call(cli, "import", "-", stdin=exported)[1] == "0 saved, 2 duplicate, 0 updated\n"
    assert call(cli, "export")[0] == exported


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (["import", "-"], '{"text": "fine"}\nnot json\n', "line 2 is not JSON"),
        (["import", "-"], '{"text": ""}\n', "record 1: a note needs some text; nothing imported"),
        (["prune", "--older-than", "soon"], None, "is not 30m, 24h, 7d, 2w"),
        (["prune"], None, "Missing option '--older-than'"),
        (["search", "?!"], None, "the query needs at least one word"),
        (["save", "   "], None, "a note needs some text"),
        (["show", "x"], None, "'x' is not a valid integer"),
    ],
)
def test_bad_arguments_are_one_line(cli: CliRunner, args: list[str], stdin: str | None, says: str) -> None:
    result = cli.invoke(main, ["memory", *args], input=stdin)
    assert result.exit_code in (1, 2)
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert call(cli, "list")[1] == "no notes\n"  # nothing half-imported
