"""Cross-agent memory: short notes any agent on this machine saves and searches (``Headroom.memory``).

One SQLite file, ``memory.db`` beside the ledger (so beside a SQLite store), made like every file of
headroom's (0600, WAL, numbered migrations, several processes at once). Search ranks with FTS5's
BM25 over the note and its tags (porter stemming, no model). Each note belongs to a project (the git
root of the agent's working directory, or a name) or to the global scope (``""``), and records the
agent and session that saved it last.

Saving deduplicates:

- an exact duplicate (the same text, whitespace aside, in the same scope) is the same note: its tags
  are merged and it counts one more save;
- a near duplicate (the same note reworded) replaces the older wording: its significant words
  (``query_terms``: lower case, no stopwords, a plural's ``s`` dropped) overlap by ``NEAR`` or more
  (Jaccard), both carry the same numbers and code-like words (a different port or path is another
  fact, kept apart), and each has at least ``NEAR_MIN_WORDS`` words (a two-word note is only ever an
  exact duplicate). The candidates come from MinHash bands over those words (``_BANDS`` bands of
  ``_ROWS`` hashes, keyed by scope): a note reworded that far shares a band with 98% chance, an
  unrelated one with well under 1%, so a save costs a few indexed lookups however many notes exist.

Search finds the notes holding every significant word of the query, BM25-ranked; when no note holds
them all, the notes holding any. (Ranking every note that holds any common word costs tens of
milliseconds on 100,000 notes; requiring all of them is what a search box does first.)

Memory never enters a prompt by itself: only a tool call or a command reads it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ._errors import HeadroomError
from ._query import query_terms
from ._sqlite_util import Migration, open_file, transaction

GLOBAL = ""  # the scope of notes that belong to no project
MAX_NOTE_CHARS = 8_000  # a note is short: a fact, a decision, a command that works
MAX_TAGS = 16
NEAR = 0.6
NEAR_MIN_WORDS = 4
_CANDIDATES = 8
_BANDS, _ROWS = 16, 3
_SALTS = [bytes([i]) * 16 for i in range(_BANDS * _ROWS // 16)]  # one 64-byte digest: 16 hashes
_UNPACK = struct.Struct("<16I").unpack

Status = Literal["saved", "duplicate", "updated"]
_SPECIFIC = re.compile(r"\d|[./_$:]|[a-z][A-Z]")  # numbers, paths, identifiers: a fact's particulars
_TAG = re.compile(r"[^\w.:/-]+")


@dataclass(frozen=True)
class Note:
    """One note. ``project`` is ``""`` for the global scope; times are unix seconds."""

    id: int
    text: str
    tags: tuple[str, ...]
    project: str
    agent: str
    session: str
    created: float
    updated: float
    saves: int

    def as_json(self) -> dict[str, Any]:
        """The note as ``headroom memory export`` writes it (times in ISO 8601, UTC)."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        for key in ("created", "updated"):
            data[key] = datetime.fromtimestamp(data[key], timezone.utc).isoformat(timespec="milliseconds")
        return data


@dataclass(frozen=True)
class Saved:
    """What a save did: ``saved`` a new note, found a ``duplicate``, or ``updated`` a near duplicate."""

    status: Status
    note: Note


def _m001_notes(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, project TEXT NOT NULL, text TEXT NOT NULL,"
        " tags TEXT NOT NULL, hash TEXT NOT NULL, agent TEXT NOT NULL, session TEXT NOT NULL,"
        " created REAL NOT NULL, updated REAL NOT NULL, saves INTEGER NOT NULL, scope TEXT NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX notes_hash ON notes (project, hash)")
    db.execute("CREATE INDEX notes_updated ON notes (updated)")
    # the scope is an indexed token of its own, so a search in one project is an index intersection
    db.execute(
        "CREATE VIRTUAL TABLE notes_fts USING fts5(text, tags, scope, content='notes',"
        " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute(f"INSERT INTO notes_fts (notes_fts, rank) VALUES ('rank', 'bm25({_WEIGHTS})')")
    new = "INSERT INTO notes_fts (rowid, text, tags, scope) VALUES (new.id, new.text, new.tags, new.scope)"
    old = (
        "INSERT INTO notes_fts (notes_fts, rowid, text, tags, scope)"
        " VALUES ('delete', old.id, old.text, old.tags, old.scope)"
    )
    db.execute(f"CREATE TRIGGER notes_insert AFTER INSERT ON notes BEGIN {new}; END")
    db.execute(
        f"CREATE TRIGGER notes_delete AFTER DELETE ON notes BEGIN {old};"
        " DELETE FROM bands WHERE note = old.id; END"
    )
    # near-duplicate candidates: each note's MinHash band keys (see the module's docstring)
    db.execute(
        "CREATE TABLE bands (key INTEGER NOT NULL, note INTEGER NOT NULL, PRIMARY KEY (key, note))"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX bands_note ON bands (note)")
    db.execute(f"CREATE TRIGGER notes_update AFTER UPDATE OF text, tags ON notes BEGIN {old}; {new}; END")


MIGRATIONS: list[Migration] = [_m001_notes]
_WEIGHTS = "1.0, 0.5, 0.0"  # text, tags (half a word), scope (a filter, never a score)
_COLUMNS = "id, text, tags, project, agent, session, created, updated, saves"


def memory_path(store_url: str) -> Path:
    """Where the memory of ``Config.store`` lives: ``memory.db`` beside the ledger."""
    from ._stats.events import ledger_path

    return ledger_path(store_url).with_name("memory.db")


def project_of(where: str | None, cwd: Path | None = None) -> str:
    """The scope a note belongs to.

    ``None`` is the project of ``cwd`` (default: the working directory): its git root, or the global
    scope outside a repository. ``"global"`` or ``""`` is the global scope. An existing directory is
    the project of that directory (its git root, else the directory itself); anything else is a
    project name, as given.
    """
    if where is not None:
        name = where.strip()
        if name.lower() in ("", "global"):
            return GLOBAL
        path = Path(name).expanduser()
        if not path.is_absolute() or not path.is_dir():
            return name
        return _git_root(path) or str(path.resolve())
    return _git_root(cwd or Path.cwd()) or GLOBAL


def _git_root(start: Path) -> str | None:
    try:
        here = start.resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return str(folder)
    return None


def _normal(text: str) -> str:
    return " ".join(text.split())


def _hash(text: str) -> str:
    return hashlib.sha256(_normal(text).encode("utf-8", "surrogatepass")).hexdigest()


def _words(text: str) -> frozenset[str]:
    """A note's significant words for the near-duplicate test (``s`` of plurals dropped)."""
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                     for w in query_terms(text))  # fmt: skip


def _particulars(text: str) -> frozenset[str]:
    """Numbers, paths and identifiers in ``text``: two notes that differ in them are two facts."""
    words = (w.strip(".,;:!?()[]{}'\"`") for w in text.split())
    return frozenset(w.lower() for w in words if _SPECIFIC.search(w))


def near_duplicate(old: str, new: str) -> bool:
    """Whether ``new`` is ``old`` reworded (see the module's docstring)."""
    a, b = _words(old), _words(new)
    if min(len(a), len(b)) < NEAR_MIN_WORDS or _particulars(old) != _particulars(new):
        return False
    return len(a & b) / len(a | b) >= NEAR


def _band_keys(words: frozenset[str], project: str) -> list[int]:
    """The note's MinHash band keys in ``project``; none for a note too short to be a near duplicate.

    Each word's ``_BANDS * _ROWS`` hashes are 4-byte slices of salted BLAKE2b digests; a note's
    signature is their minimum per position over its words."""
    if len(words) < NEAR_MIN_WORDS:
        return []
    rows = []
    for word in words:
        data = word.encode("utf-8", "surrogatepass")
        rows.append([v for salt in _SALTS for v in _UNPACK(hashlib.blake2b(data, salt=salt).digest())])
    mins = list(map(min, zip(*rows, strict=True)))
    scope = _scope_token(project).encode()
    return [
        int.from_bytes(hashlib.blake2b(repr(mins[band * _ROWS : (band + 1) * _ROWS]).encode(), digest_size=8,
                                       salt=band.to_bytes(2, "big"), key=scope).digest(), "big", signed=True)
        for band in range(_BANDS)
    ]  # fmt: skip


def _scope_token(project: str) -> str:
    """The token that stands for ``project`` in the index (a path or name is many tokens)."""
    return "s" + hashlib.sha256(project.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _match(text: str, projects: Sequence[str] | None, join: str = "AND") -> str | None:
    """An FTS5 query for notes holding every (``join="OR"``: any) significant word of ``text`` (each
    quoted: no operator syntax gets through) in one of ``projects`` (any when None)."""
    terms = query_terms(text) or tuple(w.lower() for w in re.findall(r"\w+", text))
    if not terms:
        return None
    quoted = f" {join} ".join('"' + t.replace('"', '""') + '"' for t in terms[:64])
    words = "{text tags} : (" + quoted + ")"
    if projects is None:
        return words
    return f"scope : ({' OR '.join(_scope_token(p) for p in projects)}) AND {words}"


def clean_tags(tags: Iterable[str] | None) -> tuple[str, ...]:
    """Tags lower-cased, without spaces or repeats.

    Raises:
        ValueError: more than ``MAX_TAGS``, or a tag that is not a string.
    """
    out: dict[str, None] = {}
    for tag in tags or ():
        if not isinstance(tag, str):
            raise ValueError(f"a tag must be a string, got {type(tag).__name__}")
        cleaned = _TAG.sub("-", tag.strip().lower()).strip("-")[:64]
        if cleaned:
            out.setdefault(cleaned, None)
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(out)}")
    return tuple(out)


def _checked(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a note needs some text")
    if len(text) > MAX_NOTE_CHARS:
        raise ValueError(
            f"a note is at most {MAX_NOTE_CHARS:,} characters ({len(text):,} given): save the fact, "
            "not the document (headroom_compress keeps documents)"
        )
    return text.strip()


def _note(row: Sequence[Any]) -> Note:
    return Note(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4], row[5], row[6], row[7], row[8])


class Memory:
    """The notes in one SQLite file, safe to share between threads and processes.

    Raises (every method):
        HeadroomError: the file cannot be opened, read or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = open_file(path, MIGRATIONS, busy_ms=30_000)
        except (OSError, sqlite3.Error) as exc:
            raise HeadroomError(f"cannot open the memory at {path}: {exc}") from exc

    @contextmanager
    def _transaction(self, what: str, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        try:
            with transaction(self._db, self._lock, write=write):
                yield self._db
        except sqlite3.Error as exc:
            raise HeadroomError(f"memory {self.path}: {what} failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- saving --------------------------------------------------------------------------------------

    def save(
        self,
        text: str,
        tags: Iterable[str] | None = None,
        project: str = GLOBAL,
        *,
        agent: str = "",
        session: str = "",
        when: float | None = None,
    ) -> Saved:
        """Save a note in ``project`` (a scope from ``project_of``), deduplicated.

        Raises:
            ValueError: no text, a text over ``MAX_NOTE_CHARS``, or bad tags.
        """
        text, cleaned = _checked(text), clean_tags(tags)
        now = time.time() if when is None else when
        with self._transaction("save") as db:
            return self._save(db, text, cleaned, project, agent, session, now, now, None)

    def _save(
        self,
        db: sqlite3.Connection,
        text: str,
        tags: tuple[str, ...],
        project: str,
        agent: str,
        session: str,
        created: float,
        updated: float,
        saves: int | None,
    ) -> Saved:
        """``saves`` None is one more save; an imported note brings its count (a re-import adds none)."""
        digest = _hash(text)
        more = "saves + 1" if saves is None else f"MAX(saves, {int(saves)})"
        row = db.execute(
            f"SELECT {_COLUMNS} FROM notes WHERE project = ? AND hash = ?", (project, digest)
        ).fetchone()
        if row is not None:
            old = _note(row)
            merged = tuple(dict.fromkeys((*old.tags, *tags)))
            db.execute(
                f"UPDATE notes SET tags = ?, updated = MAX(updated, ?), saves = {more}, agent = ?,"
                " session = ? WHERE id = ?",
                (json.dumps(merged), updated, agent or old.agent, session or old.session, old.id),
            )
            return Saved("duplicate", self._get(db, old.id))
        keys = _band_keys(_words(text), project)
        near = self._near(db, text, keys)
        if near is not None:
            merged = tuple(dict.fromkeys((*near.tags, *tags)))
            db.execute(
                "UPDATE notes SET text = ?, hash = ?, tags = ?, updated = MAX(updated, ?),"
                f" saves = {more}, agent = ?, session = ? WHERE id = ?",
                (text, digest, json.dumps(merged), updated, agent, session, near.id),
            )
            db.execute("DELETE FROM bands WHERE note = ?", (near.id,))
            db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", [(key, near.id) for key in keys])
            return Saved("updated", self._get(db, near.id))
        cursor = db.execute(
            "INSERT INTO notes (project, text, tags, hash, agent, session, created, updated, saves, scope)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (project, text, json.dumps(tags), digest, agent, session, created, updated, saves or 1,
             _scope_token(project)),
        )  # fmt: skip
        note_id = cursor.lastrowid
        assert note_id is not None
        db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", [(key, note_id) for key in keys])
        return Saved("saved", self._get(db, note_id))

    def _near(self, db: sqlite3.Connection, text: str, keys: list[int]) -> Note | None:
        """The note ``text`` rewords best, among those sharing a band (of ``keys``) with it."""
        if not keys:
            return None
        columns = ", ".join("n." + c for c in _COLUMNS.split(", "))
        rows = db.execute(
            f"SELECT {columns} FROM (SELECT note, COUNT(*) AS shared FROM bands"
            f" WHERE key IN ({', '.join('?' * len(keys))}) GROUP BY note ORDER BY shared DESC LIMIT ?)"
            " AS c JOIN notes n ON n.id = c.note ORDER BY c.shared DESC",
            (*keys, _CANDIDATES),
        ).fetchall()
        words = _words(text)

        def overlap(row: Any) -> float:
            theirs = _words(row[1])
            return len(theirs & words) / len(theirs | words)

        best = max((row for row in rows if near_duplicate(row[1], text)), key=overlap, default=None)
        return _note(best) if best is not None else None

    @staticmethod
    def _ranked(db: sqlite3.Connection, match: str, limit: int) -> list[Any]:
        """The rows of the best ``limit`` notes for an FTS5 query, best first (BM25 ranked inside the
        index, then joined: the table is read for those rows only)."""
        columns = ", ".join("n." + c for c in _COLUMNS.split(", "))
        return db.execute(
            f"SELECT {columns} FROM (SELECT rowid, rank FROM notes_fts WHERE notes_fts MATCH ?"
            " ORDER BY rank LIMIT ?) AS hit JOIN notes n ON n.id = hit.rowid ORDER BY hit.rank",
            (match, limit),
        ).fetchall()

    @staticmethod
    def _get(db: sqlite3.Connection, note_id: int) -> Note:
        return _note(db.execute(f"SELECT {_COLUMNS} FROM notes WHERE id = ?", (note_id,)).fetchone())

    # --- reading -------------------------------------------------------------------------------------

    def search(self, query: str, projects: Sequence[str] | None = None, limit: int = 10) -> list[Note]:
        """The notes holding every word of ``query`` (when none does: any word), best first (BM25; a
        tag weighs half a word), in ``projects`` (all scopes when None).

        Raises:
            ValueError: the query has no word, or ``limit`` is below 1.
        """
        match = _match(query, projects) if isinstance(query, str) else None
        if match is None:
            raise ValueError("the query needs at least one word")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        with self._transaction("search", write=False) as db:
            rows = self._ranked(db, match, limit)
            if not rows:
                rows = self._ranked(db, _match(query, projects, "OR") or match, limit)
        return [_note(row) for row in rows]

    def notes(
        self,
        projects: Sequence[str] | None = None,
        *,
        tag: str | None = None,
        limit: int | None = 50,
        before: float | None = None,
    ) -> list[Note]:
        """Notes newest first: in ``projects`` (all when None), with ``tag``, last saved before ``before``."""
        clauses: list[str] = []
        args: list[object] = []
        if projects is not None:
            clauses.append(f"project IN ({', '.join('?' * len(projects))})")
            args.extend(projects)
        if tag is not None:
            clauses.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
            args.append(tag.strip().lower())
        if before is not None:
            clauses.append("updated < ?")
            args.append(before)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = " LIMIT ?" if limit is not None else ""
        with self._transaction("list", write=False) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM notes{where} ORDER BY updated DESC, id DESC{tail}",
                (*args, *([limit] if limit is not None else [])),
            ).fetchall()
        return [_note(row) for row in rows]

    def get(self, note_id: int) -> Note | None:
        with self._transaction("get", write=False) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM notes WHERE id = ?", (note_id,)).fetchone()
        return _note(row) if row is not None else None

    def count(self) -> int:
        with self._transaction("count", write=False) as db:
            return int(db.execute("SELECT COUNT(*) FROM notes").fetchone()[0])

    # --- removing ------------------------------------------------------------------------------------

    def delete(self, note_ids: Iterable[int]) -> list[int]:
        """Delete notes by id; returns the ids that existed."""
        ids = list(dict.fromkeys(note_ids))
        with self._transaction("delete") as db:
            found = [i for i in ids if db.execute("SELECT 1 FROM notes WHERE id = ?", (i,)).fetchone()]
            db.executemany("DELETE FROM notes WHERE id = ?", [(i,) for i in found])
        return found

    # --- export and import ---------------------------------------------------------------------------

    def export(self) -> Iterator[dict[str, Any]]:
        """Every note, oldest first, as ``Note.as_json``."""
        for note in reversed(self.notes(limit=None)):
            yield note.as_json()

    def import_(self, records: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Add exported notes, deduplicated like saves, keeping their scope, agent, session and times.
        All or nothing: a bad record raises before anything is written.

        Returns:
            How many were ``saved``, ``duplicate`` and ``updated``.

        Raises:
            ValueError: a record is not an exported note (its position is named).
        """
        notes = [_record(number, record) for number, record in enumerate(records, start=1)]
        counts = {"saved": 0, "duplicate": 0, "updated": 0}
        with self._transaction("import") as db:
            for text, tags, project, agent, session, created, updated, saves in notes:
                saved = self._save(db, text, tags, project, agent, session, created, updated, saves)
                counts[saved.status] += 1
        return counts


def _record(number: int, record: Any) -> tuple[str, tuple[str, ...], str, str, str, float, float, int]:
    """An exported note's fields, checked; a missing time is now."""
    try:
        if not isinstance(record, dict):
            raise ValueError("not an object")
        text, tags = _checked(record.get("text")), clean_tags(record.get("tags"))
        fields = [record.get(key, "") for key in ("project", "agent", "session")]
        if not all(isinstance(value, str) for value in fields):
            raise ValueError("project, agent and session must be strings")
        now = time.time()
        created, updated = (_time(record.get(key, now)) for key in ("created", "updated"))
        saves = record.get("saves", 1)
        if not isinstance(saves, int) or isinstance(saves, bool) or saves < 1:
            raise ValueError(f"saves must be a whole number of at least 1, got {saves!r}")
        return text, tags, fields[0], fields[1], fields[2], created, max(created, updated), saves
    except ValueError as exc:
        raise ValueError(f"record {number}: {exc}") from None


def _time(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise ValueError(f"a time must be ISO 8601 or unix seconds, got {value!r}")
