"""Output: one rich table per section, a closing table of targets, and every number as JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ._core import Section
from ._format import mark, plain


def make_console() -> Console:
    """A console that does not squeeze wide tables when the output is a pipe or a file."""
    console = Console()
    return console if console.is_terminal else Console(width=220)


def print_section(console: Console, section: Section) -> None:
    table = Table(title=section.title, title_justify="left", header_style="bold")
    for index, column in enumerate(section.columns):
        table.add_column(column, justify="left" if index < section.text_columns else "right", overflow="fold")
    for row in section.rows:
        table.add_row(*row)
    console.print(table)
    for note in section.notes:
        console.print(f"  {plain(note)}")
    console.print()


def print_checks(console: Console, sections: list[Section]) -> bool:
    """The targets of QUALITY.md and whether each is met; returns True when all are."""
    table = Table(title="targets", title_justify="left", header_style="bold")
    table.add_column("target")
    table.add_column("met", justify="center")
    table.add_column("value")
    every = True
    for section in sections:
        for check in section.checks:
            every = every and check.passed
            table.add_row(
                plain(check.name), mark("yes" if check.passed else "NO", check.passed), plain(check.detail)
            )
    console.print(table)
    return every


def _clean(value: object) -> object:
    """JSON-safe: NaN and infinities become null, tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, meta: dict[str, object], sections: list[Section]) -> None:
    payload = {
        "meta": meta,
        "sections": {
            s.name: {
                "title": s.title,
                "columns": s.columns,
                "rows": [[Text.from_markup(cell).plain for cell in row] for row in s.rows],
                "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in s.checks],
                "notes": s.notes,
                "data": s.data,
            }
            for s in sections
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(payload), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
