"""``headroom memory``: the notes agents saved, for the user to read, search, prune, export and import.

Scopes follow the MCP tools: by default the project of the working directory (its git root) together
with the global scope; ``--project`` names another (a directory, a name, or ``global``), ``--all``
takes every scope. ``export`` writes JSON Lines (one note per line, everything memory holds) and
``import`` reads them back, deduplicated, all or nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, TypeVar

import click

from .._engine import Headroom
from .._errors import HeadroomError
from .._memory import GLOBAL, Memory, Note, project_of
from .._stats.read import parse_since

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _memory(hr: Headroom) -> Iterator[Memory]:
    """``hr.memory``, with its errors as one line."""
    try:
        yield hr.memory
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from exc


_PROJECT = "A project (a directory, a name, or 'global'); default: this directory's git root."


def _scope(command: F) -> F:
    every = click.option("--all", "every", is_flag=True, help="Every project and the global scope.")
    return click.option("--project", "-p", default=None, metavar="DIR|NAME", help=_PROJECT)(every(command))


def _projects(project: str | None, every: bool) -> list[str] | None:
    """The scopes to read: None for every scope; a project comes with the global scope."""
    if every:
        return None
    scope = project_of(project)
    return [scope] if scope == GLOBAL else [scope, GLOBAL]


def _label(project: str) -> str:
    return "global" if project == GLOBAL else os.path.basename(project.rstrip("/")) or project


def _line(note: Note) -> str:
    when = datetime.fromtimestamp(note.updated).strftime("%Y-%m-%d %H:%M")
    tags = f" [{', '.join(note.tags)}]" if note.tags else ""
    first = note.text.splitlines()[0] if note.text else ""
    more = " …" if "\n" in note.text or len(first) > 100 else ""
    return f"#{note.id:<5} {when}  {_label(note.project)}{tags}  {first[:100]}{more}"


def _print(notes: list[Note], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([note.as_json() for note in notes], ensure_ascii=False))
    elif notes:
        click.echo("\n".join(_line(note) for note in notes))
    else:
        click.echo("no notes", err=True)


@click.group()
def memory() -> None:
    """Notes agents saved with memory_save (MCP), shared by every agent on this machine."""


@memory.command("save")
@click.argument("text")
@click.option("--tag", "-t", "tags", multiple=True, help="A tag (repeat for more).")
@click.option("--project", "-p", default=None, metavar="DIR|NAME", help=_PROJECT)
@click.pass_obj
def save(hr: Headroom, text: str, tags: tuple[str, ...], project: str | None) -> None:
    """Save TEXT as a note (an exact or near duplicate updates the note it repeats)."""
    with _memory(hr) as notes:
        try:
            saved = notes.save(text, tags, project_of(project), agent=os.environ.get("HEADROOM_AGENT", "cli"))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"{saved.status} #{saved.note.id} ({_label(saved.note.project)})")


@memory.command("list")
@_scope
@click.option("--tag", "-t", default=None, help="Only notes with this tag.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_notes(hr: Headroom, project: str | None, every: bool, tag: str | None, limit: int,
               as_json: bool) -> None:  # fmt: skip
    """The newest notes."""
    with _memory(hr) as notes:
        _print(notes.notes(_projects(project, every), tag=tag, limit=limit), as_json)


@memory.command("search")
@click.argument("query", nargs=-1, required=True)
@_scope
@click.option("--limit", "-n", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def search(hr: Headroom, query: tuple[str, ...], project: str | None, every: bool, limit: int,
           as_json: bool) -> None:  # fmt: skip
    """Notes matching QUERY, best first (BM25 over the text and the tags)."""
    with _memory(hr) as notes:
        try:
            found = notes.search(" ".join(query), _projects(project, every), limit)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        _print(found, as_json)


@memory.command("show")
@click.argument("note_id", type=int, metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def show(hr: Headroom, note_id: int, as_json: bool) -> None:
    """One note in full, with who saved it and when."""
    with _memory(hr) as notes:
        note = notes.get(note_id)
    if note is None:
        raise click.ClickException(f"no note #{note_id}")
    if as_json:
        click.echo(json.dumps(note.as_json(), ensure_ascii=False))
        return
    data = note.as_json()
    click.echo(f"#{note.id} in {_label(note.project)}" + (f" ({note.project})" if note.project else ""))
    click.echo(f"saved by {note.agent or '-'} (session {note.session or '-'}), {note.saves} time(s)")
    click.echo(f"created {data['created']}, updated {data['updated']}")
    if note.tags:
        click.echo(f"tags: {', '.join(note.tags)}")
    click.echo("")
    click.echo(note.text)


@memory.command("delete")
@click.argument("note_ids", type=int, nargs=-1, required=True, metavar="ID...")
@click.pass_obj
def delete(hr: Headroom, note_ids: tuple[int, ...]) -> None:
    """Delete notes by id."""
    with _memory(hr) as notes:
        found = notes.delete(note_ids)
    missing = sorted(set(note_ids) - set(found))
    if found:
        click.echo(f"deleted {len(found)} note(s)", err=True)
    if missing:
        raise click.ClickException(f"no note {', '.join(f'#{i}' for i in missing)}")


@memory.command("prune")
@click.option("--older-than", "older", required=True, metavar="AGE",
              help="Delete notes not saved since AGE: 30d, 12w, or an ISO date.")  # fmt: skip
@_scope
@click.option("--dry-run", is_flag=True, help="Only list what would go.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def prune(hr: Headroom, older: str, project: str | None, every: bool, dry_run: bool, yes: bool) -> None:
    """Delete the notes nobody saved since AGE (by default in this project and the global scope)."""
    try:
        before = parse_since(older)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    with _memory(hr) as notes:
        old = notes.notes(_projects(project, every), before=before, limit=None)
        if dry_run or not old:
            _print(old, False)
            return
        if not yes:
            click.confirm(f"Delete {len(old)} note(s)?", abort=True, err=True)
        notes.delete(note.id for note in old)
    click.echo(f"deleted {len(old)} note(s)", err=True)


@memory.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_obj
def export(hr: Headroom, file: IO[str]) -> None:
    """Every note, as JSON Lines, to FILE (or standard output)."""
    count = 0
    with _memory(hr) as notes:
        for record in notes.export():
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    click.echo(f"exported {count} note(s)", err=True)


@memory.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.pass_obj
def import_notes(hr: Headroom, file: IO[str]) -> None:
    """Notes from a JSON Lines FILE written by export (deduplicated; nothing is added if a line is bad)."""
    records: list[Any] = []
    for number, line in enumerate(file, start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise click.ClickException(f"line {number} is not JSON ({exc}); nothing imported") from None
    with _memory(hr) as notes:
        try:
            counts = notes.import_(records)
        except ValueError as exc:
            raise click.ClickException(f"{exc}; nothing imported") from None
    click.echo(", ".join(f"{value} {key}" for key, value in counts.items()), err=True)
