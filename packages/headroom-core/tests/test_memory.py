"""Cross-agent memory on real SQLite files: deduplication, BM25 search, scopes, export and import, and
several processes saving and searching at once."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from headroom import Config, Headroom
from headroom._memory import GLOBAL, MAX_NOTE_CHARS, Memory, memory_path, near_duplicate, project_of


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    opened = Memory(tmp_path / "memory.db")
    yield opened
    opened.close()


def test_an_exact_duplicate_is_one_note_with_its_tags_merged(memory: Memory) -> None:
    first = memory.save("The tests need Redis on port 6379.", ["Testing"], "/repo", agent="claude-code")
    again = memory.save(
        "  The tests need Redis   on port 6379. ", ["redis", "testing"], "/repo", agent="codex"
    )
    assert (first.status, again.status) == ("saved", "duplicate")
    assert again.note.id == first.note.id
    assert again.note.tags == ("testing", "redis")
    assert again.note.saves == 2
    assert again.note.agent == "codex"  # who saved it last
    assert memory.count() == 1


@pytest.mark.parametrize(
    ("old", "new", "same"),
    [
        ("The tests need Redis running on port 6379", "Tests need a running Redis on port 6379", True),
        ("Run the linter with make lint before pushing", "Before pushing, run the linter: make lint", True),
        ("Deploys go through the release branch only", "deploys go through the RELEASE branch only", True),
        ("The tests need Redis running on port 6379", "The tests need Redis running on port 6380", False),
        ("Config lives in src/app/settings.py now", "Config lives in src/api/settings.py now", False),
        ("Use uv", "Use pip", False),  # too short to be anything but an exact duplicate
        ("The build uses uv and a lock file", "Never commit secrets to the repository", False),
    ],
)
def test_a_near_duplicate_is_the_same_fact_reworded(old: str, new: str, same: bool) -> None:
    assert near_duplicate(old, new) is same


def test_a_reworded_note_updates_the_note_it_repeats(memory: Memory) -> None:
    first = memory.save("Run the linter with make lint before pushing", ["ci"], "/repo")
    reworded = memory.save("Before pushing, run the linter: make lint", ["lint"], "/repo")
    other = memory.save("Run the linter with make lint before pushing", [], "/elsewhere")
    fact = memory.save("The tests need Redis running on port 6379", [], "/repo")
    changed = memory.save("The tests need Redis running on port 6380", [], "/repo")
    assert reworded.status == "updated"
    assert reworded.note.id == first.note.id
    assert reworded.note.text == "Before pushing, run the linter: make lint"  # the newer wording
    assert reworded.note.tags == ("ci", "lint")
    assert other.status == "saved"  # another project's note is its own
    assert (fact.status, changed.status) == ("saved", "saved")  # another port is another fact
    assert memory.count() == 4
    # the old wording is gone from the index, the new one found
    assert [n.id for n in memory.search("before pushing linter", ["/repo"])] == [first.note.id]


def test_search_ranks_by_bm25_within_the_scopes_asked(memory: Memory) -> None:
    memory.save("Redis must be running for the integration tests", ["testing"], "/repo")
    memory.save("The proxy listens on port 8787 by default", [], "/repo")
    memory.save("Redis keys expire after thirty days; redis eviction is LRU", ["redis"], GLOBAL)
    memory.save("Redis is also used by the other project", [], "/other")
    found = memory.search("redis eviction", ["/repo", GLOBAL])  # the notes holding every word
    assert [n.text for n in found] == ["Redis keys expire after thirty days; redis eviction is LRU"]
    found = memory.search("redis integration flakiness", ["/repo", GLOBAL])  # none holds all: any, ranked
    assert [n.text for n in found] == [
        "Redis must be running for the integration tests",
        "Redis keys expire after thirty days; redis eviction is LRU",
    ]
    assert len(memory.search("redis", None)) == 3  # every scope
    assert [n.text for n in memory.search("run", ["/repo"])] == [
        "Redis must be running for the integration tests"  # porter stemming: run ~ running
    ]
    assert [n.project for n in memory.search("testing", ["/repo"])] == ["/repo"]  # tags are searched
    assert len(memory.search("redis", None, limit=1)) == 1


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(a b", "a* AND (", "col:value", "-x ^y", "ünïcödé"])
def test_query_syntax_never_reaches_fts(memory: Memory, query: str) -> None:
    memory.save("Some note about unbalanced quotes and value columns", [], GLOBAL)
    assert isinstance(memory.search(query), list)


@pytest.mark.parametrize(
    ("bad", "says"),
    [("", "needs some text"), ("   ", "needs some text"), ("x" * (MAX_NOTE_CHARS + 1), "at most")],
)
def test_bad_notes_are_refused(memory: Memory, bad: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        memory.save(bad)
    assert memory.count() == 0


def test_bad_searches_and_tags_are_refused(memory: Memory) -> None:
    with pytest.raises(ValueError, match="at least one word"):
        memory.search("?!")
    with pytest.raises(ValueError, match="limit"):
        memory.search("redis", limit=0)
    with pytest.raises(ValueError, match="tags"):
        memory.save("a note", [f"t{i}" for i in range(40)])


def test_list_filters_by_scope_tag_and_age(memory: Memory) -> None:
    memory.save("old global fact about backups", ["ops"], GLOBAL, when=1_000.0)
    memory.save("new project fact about builds", ["build"], "/repo", when=2_000.0)
    assert [n.text for n in memory.notes()] == [
        "new project fact about builds",
        "old global fact about backups",
    ]
    assert [n.tags for n in memory.notes(tag="OPS")] == [("ops",)]
    assert [n.project for n in memory.notes(["/repo"])] == ["/repo"]
    assert [n.text for n in memory.notes(before=1_500.0)] == ["old global fact about backups"]
    assert memory.delete([1, 99]) == [1]
    assert memory.count() == 1


def test_export_and_import_round_trip(memory: Memory, tmp_path: Path) -> None:
    memory.save("The tests need Redis running on port 6379", ["testing"], "/repo", agent="claude-code",
                session="s1")  # fmt: skip
    memory.save("Never commit secrets; use the vault", [], GLOBAL, agent="codex", session="s2")
    memory.save("ünïcödé and emoji 🎉 survive", ["i18n"], "named-project", agent="cli")
    exported = list(memory.export())
    other = Memory(tmp_path / "other.db")
    assert other.import_(exported) == {"saved": 3, "duplicate": 0, "updated": 0}
    strip = [{k: v for k, v in record.items() if k != "id"} for record in exported]
    assert [{k: v for k, v in r.items() if k != "id"} for r in other.export()] == strip
    assert json.loads(json.dumps(exported)) == exported  # JSON all the way
    assert other.import_(exported) == {"saved": 0, "duplicate": 3, "updated": 0}
    with pytest.raises(ValueError, match="record 2"):
        other.import_([exported[0], {"text": ""}])
    assert other.count() == 3  # all or nothing
    other.close()


def test_the_file_is_private_wal_and_migrated(tmp_path: Path) -> None:
    hr = Headroom(Config(store=f"sqlite:///{tmp_path}/store.db"))
    hr.memory.save("a note")
    path = memory_path(hr.config.store)
    assert path == tmp_path / "memory.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    import sqlite3

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT id, name FROM migrations").fetchall() == [(1, "_m001_notes")]
    db.close()
    hr.close()
    reopened = Memory(path)  # a second open applies nothing twice
    assert reopened.count() == 1
    reopened.close()


def test_the_scope_is_the_git_root_a_name_or_global(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "pkg").mkdir(parents=True)
    loose = tmp_path / "loose"
    loose.mkdir()
    assert project_of(None, repo / "src" / "pkg") == str(repo.resolve())
    assert project_of(str(repo / "src")) == str(repo.resolve())
    assert project_of(str(loose)) == str(loose.resolve())  # an explicit directory outside any repo
    assert project_of(None, loose) == GLOBAL  # a working directory outside any repo: global
    assert project_of("global") == project_of("") == GLOBAL
    assert project_of(" billing-service ") == "billing-service"


_WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from headroom._memory import Memory

    path, worker, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    memory = Memory(path)
    sys.stdin.readline()  # every worker starts at once
    for i in range(count):
        saved = memory.save(f"worker {worker} learned fact {i}: module m{worker}x{i} needs flag f{i}",
                            [f"w{worker}"], "/repo", agent=f"agent-{worker}")
        assert saved.status == "saved", saved
        shared = memory.save(f"Shared fact {i % 10}: the build cache lives in .cache/b{i % 10}", [], "/repo")
        assert shared.status in ("saved", "duplicate"), shared
        found = memory.search(f"m{worker}x{i}", ["/repo"])
        assert [n.text for n in found][:1] == [saved.note.text], found
    memory.close()
    """
)


def test_four_processes_saving_and_searching_at_once_lose_nothing(tmp_path: Path) -> None:
    path, count = tmp_path / "memory.db", 60
    Memory(path).close()  # created (and migrated) once, as a first agent would
    command = [sys.executable, "-c", _WORKER, str(path)]
    workers = [
        subprocess.Popen(
            [*command, str(w), str(count)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for w in range(4)
    ]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    memory = Memory(path)
    notes = memory.notes(limit=None)
    assert len(notes) == 4 * count + 10
    shared = [n for n in notes if n.text.startswith("Shared fact")]
    assert sum(n.saves for n in shared) == 4 * count
    for w in range(4):
        assert len(memory.notes(tag=f"w{w}", limit=None)) == count
    memory.close()


def test_a_deleted_note_is_no_near_duplicate_and_leaves_no_index(memory: Memory) -> None:
    first = memory.save("Run the linter with make lint before pushing", [], "/repo")
    memory.delete([first.note.id])
    again = memory.save("Before pushing, run the linter: make lint", [], "/repo")
    assert again.status == "saved"
    assert memory.search("linter", ["/repo"]) == [again.note]
    db = memory._db  # the index tables follow the notes table
    assert db.execute("SELECT COUNT(DISTINCT note) FROM bands").fetchone() == (1,)
    assert db.execute("SELECT COUNT(*) FROM notes_fts WHERE notes_fts MATCH 'pushing'").fetchone() == (1,)
