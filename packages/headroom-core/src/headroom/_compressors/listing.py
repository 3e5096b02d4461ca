"""Directory listings (``ls -l``, ``ls -laR``, ``find``, ``tree``, ``git ls-tree -r``): every path, grouped.

A listing repeats what a reader needs once: the directory of every path, the owner, the date, the
mode most entries share. Entries are grouped under their directory, one line each, with the mode
(where it differs from the usual one, which the header names) and the size as listed::

    src/app/ (5 files, 1 dir)
      -rwxr-xr-x 1204 run.sh
      88 __init__.py
      ...

``find`` and ``git ls-tree`` without sizes list a directory's names on one line. A listing of more
than ``_MANY`` entries (a map of a tree, not a list to read) shows, for each directory of more than
``_DIR_NAMES`` files, its counts by extension instead of the names (names the query matches stay).
Owners, groups, link counts, dates and blob ids go; the original is one retrieval away.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from .._query import QueryMatcher
from ._job import Job

_LS_LONG = re.compile(
    r"(?P<mode>[-dlcbpsD][rwxsStT-]{9}[.@+]?)\s+\d+\s+\S+\s+\S+\s+(?P<size>\d+(?:,\s*\d+)?|[\d.]+[KMGTP]?)\s+"
    r"(?:[A-Z][a-z]{2}\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2}\.?|\d{4}-\d{2}-\d{2})\s+(?:\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:\s+[+-]\d{4})?|\d{4})\s+(?P<name>.+)"
)
_LS_TREE = re.compile(
    r"(?P<mode>\d{6}) (?P<type>blob|tree|commit) [0-9a-f]{40,64}(?:\s+(?P<size>\d+|-))?\t(?P<name>.+)"
)
_TOTAL = re.compile(r"total \d+(?:[.,]\d+)?[KMG]?")
_HEADER = re.compile(r"(?P<dir>.+):")
_PATH = re.compile(r"(?:\.{1,2}/|/|~/)?[^\s:*?\"<>|]+(?:/[^\s:*?\"<>|]*)*")
_MANY = 5000  # entries: beyond this the listing is a map, not a list to read whole
_DIR_NAMES = 100
_MIN_ENTRIES = 12
_TREE = re.compile(r"(?P<indent>(?:│   |    )*)[├└]── (?:\[\s*(?P<size>[\d.]+[KMGTP]?)\]\s+)?(?P<name>.+)")
_TREE_SUMMARY = re.compile(r"\d+ director(?:y|ies)(?:, \d+ files?)?")


@dataclass(frozen=True)
class _Entry:
    directory: str
    name: str
    mode: str | None = None
    size: str | None = None
    is_dir: bool = False


def compress(job: Job) -> str | None:
    entries = _parse(job.text)
    if entries is None or len(entries) < _MIN_ENTRIES:
        return None
    matcher = QueryMatcher(job.query)
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.directory, []).append(entry)
    modes = Counter(entry.mode for entry in entries if entry.mode and not entry.is_dir)
    dir_modes = Counter(entry.mode for entry in entries if entry.mode and entry.is_dir)
    usual = modes.most_common(1)[0][0] if modes else None
    usual_dir = dir_modes.most_common(1)[0][0] if dir_modes else None
    header: list[str] = []
    if usual or usual_dir:
        shown = [f"files {usual}" if usual else "", f"directories {usual_dir}" if usual_dir else ""]
        header.append(f"(mode, where not shown: {', '.join(part for part in shown if part)})")
    modes_of = (usual, usual_dir)
    out, omitted = _render(groups, _DIR_NAMES if len(entries) > _MANY else None, matcher, modes_of)
    marker = (
        job.marker(omitted, "entries") if omitted else job.marker(len(entries), "entries' listing details")
    )
    summary = [line for line in job.text.rstrip("\n").rsplit("\n", 1)[-1:] if _TREE_SUMMARY.fullmatch(line)]
    return "\n".join([*header, *out, *summary, marker])


def _render(
    groups: dict[str, list[_Entry]],
    limit: int | None,
    matcher: QueryMatcher,
    modes: tuple[str | None, str | None],
) -> tuple[list[str], int]:
    """The listing's lines, directories of more than ``limit`` files as counts by extension (and the
    names the query matches), and the number of entries left out."""
    out: list[str] = []
    omitted = 0
    for directory, group in groups.items():
        files = [entry for entry in group if not entry.is_dir]
        dirs = len(group) - len(files)
        counts = [f"{len(files)} file{'s' if len(files) != 1 else ''}"] if files else []
        counts += [f"{dirs} dir{'s' if dirs != 1 else ''}"] if dirs else []
        out.append(f"{directory or '.'}/ ({', '.join(counts) or 'empty'})")
        if limit is not None and len(files) > limit:
            kept = [e for e in group if e.is_dir or (matcher and matcher.found(e.name.lower()))]
            by_extension = Counter(_extension(entry.name) for entry in files)
            out.append("  by extension: " + ", ".join(f"{ext} {n}" for ext, n in by_extension.most_common()))
            omitted += len(group) - len(kept)
            group = kept
        if any(entry.mode or entry.size for entry in group):
            out.extend(f"  {_detail(entry, *modes)}" for entry in group)
        else:  # a directory with a group of its own shows there
            names = [_name(e) for e in group if not (e.is_dir and _join(directory, e.name) in groups)]
            if names:
                out.append("  " + " ".join(names))
    return out, omitted


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else "(none)"


def _name(entry: _Entry) -> str:
    name = f'"{entry.name}"' if " " in entry.name else entry.name
    return name + "/" if entry.is_dir else name


def _detail(entry: _Entry, usual: str | None, usual_dir: str | None) -> str:
    parts = []
    if entry.mode and entry.mode != (usual_dir if entry.is_dir else usual):
        parts.append(entry.mode)
    if entry.size and not entry.is_dir:
        parts.append(entry.size)
    parts.append(_name(entry))
    return " ".join(parts)


def _split_path(path: str) -> tuple[str, str]:
    path = path.rstrip("/")
    slash = path.rfind("/")
    return (path[:slash], path[slash + 1 :]) if slash >= 0 else ("", path)


def _parse(text: str) -> list[_Entry] | None:
    """The entries of a listing, or None when a line fits no listing format (the same one throughout)."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        return None
    if _LS_TREE.fullmatch(lines[0]):
        return _parse_ls_tree(lines)
    if any(_LS_LONG.fullmatch(line) for line in lines[:4]):
        return _parse_ls_long(lines)
    if sum(1 for line in lines[:40] if _TREE.match(line)) >= 0.8 * min(len(lines) - 1, 40):
        return _parse_tree(lines)
    return _parse_find(lines)


def _parse_tree(lines: list[str]) -> list[_Entry] | None:
    """``tree``'s drawing: a root line, then each entry indented four columns per level."""
    root = lines[0].rstrip("/")
    parents = [root]  # the directory at each depth
    entries: list[_Entry] = []
    for line in lines[1:]:
        if _TREE_SUMMARY.fullmatch(line):
            continue
        match = _TREE.match(line)
        if match is None:
            return None
        depth = len(match["indent"]) // 4
        if depth >= len(parents):
            return None
        del parents[depth + 1 :]
        name = match["name"].rstrip("/")
        entry = _Entry("/".join(parents[: depth + 1]), name, size=match["size"])
        entries.append(entry)
        parents.append(name)
    directories = {entry.directory for entry in entries}
    return [replace(entry, is_dir=f"{entry.directory}/{entry.name}" in directories) for entry in entries]


def _parse_ls_tree(lines: list[str]) -> list[_Entry] | None:
    entries = []
    for line in lines:
        match = _LS_TREE.fullmatch(line)
        if match is None:
            return None
        directory, name = _split_path(_unquoted(match["name"]))
        size = match["size"] if match["size"] not in (None, "-") else None
        entries.append(_Entry(directory, name, match["mode"], size, match["type"] == "tree"))
    return entries


def _unquoted(path: str) -> str:
    """A path as git prints it: in double quotes, with octal escapes, when it holds unusual bytes."""
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    raw = path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1")
    return raw.decode("utf-8", "replace")


def _parse_ls_long(lines: list[str]) -> list[_Entry] | None:
    entries = []
    directory = ""
    for line in lines:
        match = _LS_LONG.fullmatch(line)
        if match is not None:
            name = match["name"]
            if name in (".", ".."):
                continue
            mode = match["mode"]
            entries.append(_Entry(directory, name, mode, match["size"], mode.startswith("d")))
        elif _TOTAL.fullmatch(line):
            continue
        elif header := _HEADER.fullmatch(line):
            directory = header["dir"].rstrip("/")
        else:
            return None
    return entries


def _parse_find(lines: list[str]) -> list[_Entry] | None:
    if len(lines) < _MIN_ENTRIES or not all(_PATH.fullmatch(line) for line in lines):
        return None
    if sum("/" in line for line in lines) < 0.9 * len(lines):
        return None  # words, not paths
    parents = {_split_path(line)[0] for line in lines}
    entries = []
    for line in lines:
        directory, name = _split_path(line)
        entries.append(_Entry(directory, name, is_dir=line.rstrip("/") in parents or line.endswith("/")))
    return entries
