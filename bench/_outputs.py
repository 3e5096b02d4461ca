"""Command outputs coding agents read (``tool_outputs/``): git logs, listings, a pytest run.

Ground truth from parsing the originals (the bench data's README): git logs, every commit's hash,
author, date and subject line, and with ``--stat`` every file path with its count and each ``N files
changed`` line; listings, every path (with its size and mode where shown); pytest, the final summary
line and every ``SKIPPED``/``XFAIL`` line. The grep outputs of the same folder are the search section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ._core import Check, Context, Kind, Section, read_text, round_trip_check, summarize
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, head_cells, mark, plain, tail_cells

_COMMIT = re.compile(r"^commit ([0-9a-f]{40})", re.M)
_STAT = re.compile(r"^ (\S.*?) +\| +(\d+|Bin .*?)(?: [+-]*)?$")
_LS_LONG = re.compile(r"^([-dlcbps][rwxsStT-]{9})[.@+]?\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(.+)$")
_LS_TREE = re.compile(r"^(\d{6}) (?:blob|tree|commit) [0-9a-f]{40}\s+(\d+|-)\t(.+)$")


def _git_facts(text: str) -> list[tuple[str, ...]]:
    """Per commit (hash, author name, date, subject), then per stat line (path, count), then the
    ``N files changed`` lines: each tuple's parts must share one output line."""
    facts: list[tuple[str, ...]] = []
    for block in re.split(r"^(?=commit [0-9a-f]{40})", text, flags=re.M):
        commit = _COMMIT.match(block)
        if commit is None:
            continue
        author = re.search(r"^Author:\s+(.+?) <", block, re.M)
        date = re.search(r"^Date:\s+(.+)$", block, re.M)
        subject = re.search(r"^\n    (.+)$", block, re.M)
        facts.append(tuple(x for x in (commit[1], author and author[1], date and date[1].strip(),
                                       subject and subject[1].strip()) if x))  # fmt: skip
        for line in block.split("\n"):
            stat = _STAT.match(line)
            if stat:
                facts.append((stat[1].strip(), stat[2]))
            elif re.match(r"^ \d+ files? changed", line):
                facts.append((line,))
    return facts


def _unquoted(path: str) -> str:
    """A path as git prints it, in double quotes with octal escapes when it holds unusual bytes."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    return (
        path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode()
    )


def _listing_facts(text: str) -> list[tuple[str, ...]]:
    """Per entry (directory, name, size, mode) where the listing shows them."""
    facts: list[tuple[str, ...]] = []
    directory = ""
    for line in text.split("\n"):
        if tree := _LS_TREE.match(line):
            path = _unquoted(tree[3])
            facts.append(
                (path.rsplit("/", 1)[0] if "/" in path else "", path.rsplit("/", 1)[-1], tree[2], tree[1])
            )
        elif long := _LS_LONG.match(line):
            if long[3] not in (".", ".."):
                facts.append((directory, long[3], long[2] if not long[1].startswith("d") else "", long[1]))
        elif line.endswith(":") and " " not in line:
            directory = line[:-1]
        elif line.strip() and " " not in line:
            path = line.rstrip("/")
            facts.append((path.rsplit("/", 1)[0] if "/" in path else "", path.rsplit("/", 1)[-1], "", ""))
    return facts


def _listing_shown(output: str, facts: list[tuple[str, ...]]) -> int:
    """Entries the compressed listing shows: a directory as a group of its own, or a line under its
    directory's group holding its name, its size and its mode (or the usual one the header names)."""
    usual = dict(re.findall(r"(files|directories) ([^\s,)]+)", output.split("\n", 1)[0]))
    shown: dict[str, list[list[str]]] = {}
    directory = None
    for line in output.split("\n"):
        header = re.match(r"^(\S.*)/ \(", line)
        if header:
            directory = header[1]
            shown.setdefault(directory, [])
        elif line.startswith("  ") and directory is not None:
            shown[directory].append([line, *(word.rstrip("/") for word in line.split())])
    count = 0
    for folder, name, size, mode in facts:
        if (f"{folder}/{name}" if folder else name) in shown:
            count += 1
            continue
        default = usual.get("directories" if mode.startswith("d") else "files")
        count += any(
            (name in words or f'"{name}"' in words[0])
            and (not size or size in words)
            and (not mode or mode in words or mode == default)
            for words in shown.get(folder or ".", [])
        )
    return count


def _line_facts_shown(output: str, facts: list[tuple[str, ...]]) -> int:
    lines = output.split("\n")
    return sum(1 for fact in facts if any(all(part in line for part in fact) for line in lines))


def _pytest_facts(text: str) -> list[tuple[str, ...]]:
    lines = text.rstrip("\n").split("\n")
    return [(lines[-1],), *((line,) for line in lines if re.search(r"\b(?:SKIPPED|XFAIL)\b", line))]


_CASES: list[tuple[str, str, Callable[[str], list[tuple[str, ...]]]]] = [
    ("*git_log*.txt", "git", _git_facts),
    ("*git_show*.txt", "git", _git_facts),
    ("*ls_*.txt", "listing", _listing_facts),
    ("*find_*.txt", "listing", _listing_facts),
    ("*pytest*.txt", "tests", _pytest_facts),
]


def run(ctx: Context) -> Section:
    section = Section(
        "outputs",
        "outputs: git logs, listings and a test run, as coding agents read them",
        ["file", "kind", *HEAD_COLUMNS, "facts shown", *TAIL_COLUMNS],
    )
    measured, every, rows = [], True, []
    folder = ctx.data_dir / "tool_outputs"
    for pattern, kind, facts_of in _CASES:
        for path in sorted(Path(folder).glob(pattern)):
            text = read_text(path)
            ctx.say(f"outputs: {path.name}")
            m = ctx.measure("outputs", path.name, text)
            facts = facts_of(text)
            if m.text == text:
                shown = len(facts)  # passed through: the original shows every fact
            elif kind == "listing":
                shown = _listing_shown(m.text, facts)
            else:
                shown = _line_facts_shown(m.text, facts)
            complete = shown == len(facts) and m.out_kind == kind  # read as its kind, even when kept whole
            every &= complete
            measured.append(m)
            rows.append({**m.as_json(), "facts": len(facts), "facts_shown": shown})
            section.rows.append([plain(path.name), mark(plain(m.out_kind or "-"), m.out_kind == kind),
                                 *head_cells(summarize([m])), mark(fmt_frac(shown, len(facts)), complete),
                                 *tail_cells(summarize([m]))])  # fmt: skip
    if measured:
        total = summarize(measured)
        section.rows.append(["[bold]all[/]", "", *head_cells(total), "", *tail_cells(total)])
        section.checks += [
            Check(
                "outputs: each read as its kind, every ground-truth fact shown",
                every,
                f"{sum(1 for r in rows if r['facts'] == r['facts_shown'])}/{len(rows)} files",
            ),
            round_trip_check("outputs", total),
        ]
    section.data = {"cases": rows}
    return section


KIND = Kind("outputs", run)
