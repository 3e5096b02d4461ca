"""``git log`` (plain, ``--stat``, merges included) and ``git show --stat``: one line per commit;
``git blame`` grouped by commit.

What an agent looks for in a history is which commit did what, when and by whom, and which files it
touched. Each commit becomes one line, its full hash, date and author as git printed them (an
author's e-mail address only the first time), and its subject, with the count of the message lines
left out::

    1f6589ec3a1ee910f9a65cc3ceac60b26677bc0e | Mon Aug 3 11:52:44 2026 -0600 | Ada <a@x.org> | Bump (+9 lines)
     .pre-commit-config.yaml | 2
     1 file changed, 1 insertion(+), 1 deletion(-)

With ``--stat`` every file keeps its path and count (the ``+++--`` bar goes) and the summary line stays
verbatim. Commits the query is about keep their whole message. One marker at the end names the ref.
Output that is not a commit log (no ``commit <hash>`` line first, a patch inside) is not touched.
``git blame`` shows each run of lines from one commit under one line naming it (hash, author, date),
each line with its number and code. ``git status`` keeps its branch and section lines and every path,
the paths of one state in one directory on one line (``modified (12): src/app/ cli.py core.py ...``);
the ``(use "git ...")`` hints go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._query import QueryMatcher
from . import diff
from ._job import Job

_COMMIT = re.compile(r"commit ([0-9a-f]{7,64})(.*)")
_FIELD = re.compile(r"(Author|Date|Merge|AuthorDate|Commit|CommitDate):\s+(.*)")
_STAT = re.compile(r" (.+?) +\| +(\d+|Bin .*?)(?: [+-]*)?")
_SUMMARY = re.compile(r" \d+ files? changed.*")
_MESSAGE = "    "
_MIN_COMMITS = 3
BLAME = re.compile(
    r"(?P<hash>\^?[0-9a-f]{7,40}) (?:(?P<file>\S+) +)?\((?P<who>.+?) +"
    r"(?P<when>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}) +(?P<line>\d+)\) ?(?P<code>.*)"
)


@dataclass
class _Commit:
    hash: str
    decoration: str
    fields: dict[str, str] = field(default_factory=dict)
    message: list[str] = field(default_factory=list)
    stat: list[str] = field(default_factory=list)


STATUS = re.compile(r"On branch \S|HEAD detached (?:at|from) \S|Not currently on any branch\.")
_STATUS_ENTRY = re.compile(r"\t(?:(?P<state>[a-z][a-z ]*?):\s+)?(?P<path>\S.*)")
_HINT = re.compile(r"\s+\(.*\)")
_MIN_PATHS = 8


def compress(job: Job) -> str | None:
    if BLAME.match(job.text):
        return _blame(job)
    if STATUS.match(job.text):
        return _status(job)
    commits = _parse(job.text)
    if commits is None and "\ndiff --git " in job.text:
        return diff.compress(job)  # ``git log -p`` whose sample showed no patch: a diff after all
    if commits is None or (len(commits) < _MIN_COMMITS and not any(c.stat for c in commits)):
        return None
    matcher = QueryMatcher(job.query)
    about = set(matcher.pick(["\n".join(c.message).lower() for c in commits])) if matcher else set()
    out: list[str] = []
    authors: set[str] = set()
    omitted = 0
    for index, commit in enumerate(commits):
        body = [line.removeprefix(_MESSAGE) for line in commit.message]
        first = next((number for number, line in enumerate(body) if line.strip()), len(body))
        subject = body[first].strip() if first < len(body) else ""
        rest = body[first + 1 :]
        while rest and not rest[-1].strip():
            rest.pop()
        extra = sum(1 for line in rest if line.strip())
        head = [commit.hash + commit.decoration]
        date = commit.fields.get("Date", commit.fields.get("AuthorDate"))
        if date is not None:
            head.append(date)
        author = commit.fields.get("Author")
        if author is not None:  # the e-mail address once, the name on every commit
            head.append(author.split(" <", 1)[0] if author in authors else author)
            authors.add(author)
        merge = commit.fields.get("Merge")
        line = " | ".join([*head, subject])
        if merge:
            line += f" (merge of {merge})"
        if index in about:
            out.append(line)
            out.extend(f"    {text}" if text.strip() else "" for text in rest)
        else:
            out.append(f"{line} (+{extra} line{'s' if extra > 1 else ''})" if extra else line)
            omitted += extra
        out.extend(commit.stat)
    if omitted == 0:  # nothing but the labels and blank lines go: say how many lines that was
        return "\n".join(out) + "\n" + job.marker(job.text.count("\n") + 1 - len(out), "lines")
    return "\n".join(out) + "\n" + job.marker(omitted, "message lines")


def _parse(text: str) -> list[_Commit] | None:
    """The commits of a log, or None when ``text`` is not one (anything that fits no part of it)."""
    commits: list[_Commit] = []
    for line in text.split("\n"):
        match = _COMMIT.fullmatch(line)
        if match is not None:
            commits.append(_Commit(match[1], match[2]))
            continue
        if not commits:
            if line.strip():
                return None
            continue
        commit = commits[-1]
        header = not commit.message and not commit.stat
        found = _FIELD.fullmatch(line) if header else None
        if found is not None:
            commit.fields[found[1]] = found[2].strip()
        elif line.startswith(_MESSAGE) or (not line.strip() and not commit.stat):
            if commit.stat:
                return None  # message text after the stat: not a log this module knows
            commit.message.append(line)
        elif stat := _STAT.fullmatch(line):
            commit.stat.append(f" {stat[1]} | {stat[2]}")
        elif _SUMMARY.fullmatch(line):
            commit.stat.append(line)
        elif line.strip():
            return None  # a patch, a --name-status line, or something else
    return commits or None


def _blame(job: Job) -> str | None:
    """``git blame``: each run of lines from one commit under one line naming the commit, author
    and date; every line keeps its number and its code."""
    out: list[str] = []
    previous: tuple[str, str, str] | None = None
    for line in job.text.rstrip("\n").split("\n"):
        match = BLAME.fullmatch(line)
        if match is None:
            return None
        commit = (match["hash"], match["who"].strip(), match["when"])
        if commit != previous:
            out.append(" ".join(commit) + (f" {match['file']}" if match["file"] else ""))
            previous = commit
        out.append(f"{match['line']:>6}| {match['code']}")
    if len(out) * 2 > 3 * job.text.count("\n"):
        return None  # a commit on nearly every line: regrouping saves little
    headers = sum(1 for line in out if not line.startswith(" ") and "| " not in line[:8])
    return "\n".join(out) + "\n" + job.marker(len(out) - 2 * headers, "lines' commit columns")


def _status(job: Job) -> str | None:
    """``git status``: every line but the hints, each section's paths grouped by state and directory."""
    out: list[str] = []
    groups: dict[tuple[str, str], list[str]] = {}
    paths = hints = 0

    def flush() -> None:
        for (state, directory), names in groups.items():
            label = f"{state} ({len(names)})" if state else f"({len(names)})"
            out.append(f"  {label}: {directory}{' ' if directory else ''}{' '.join(names)}")
        groups.clear()

    for line in job.text.rstrip("\n").split("\n"):
        entry = _STATUS_ENTRY.fullmatch(line)
        if entry is not None:
            path = entry["path"]
            directory, _, name = path.rpartition("/")
            if " -> " in path or '"' in path:  # a rename, a quoted name: the path whole
                directory, name = "", path
            groups.setdefault((entry["state"] or "", f"{directory}/" if directory else ""), []).append(name)
            paths += 1
            continue
        flush()
        if _HINT.fullmatch(line):
            hints += 1
        elif line.strip():
            out.append(line)
    flush()
    if paths < _MIN_PATHS:
        return None
    return "\n".join(out) + "\n" + job.marker(hints, "hint lines" if hints != 1 else "hint line")
