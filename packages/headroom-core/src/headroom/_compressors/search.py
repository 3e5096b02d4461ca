"""Search output (grep/ripgrep ``path:line:text``): every file with its count, the hits that matter.

Hits are grouped by file in order of first appearance, so each path is written once. Every file keeps
its path, its hit count and at least its first hit; every hit containing a selective query term is
kept; the remaining room (a fifth of the input by default, or ``budget``) is filled round-robin across
files with evenly spread hits. Context lines (``path-12-text``, from ``grep -C``) travel with the hits
they surround. Everything else goes to the store behind one marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .._detect import NOT_A_TIMESTAMP
from .._lines import split_lines
from .._query import QueryMatcher
from ._job import Job

_PATH = rf"{NOT_A_TIMESTAMP}(?=[^:\s]*[^\d:\s])[^\s:]+"
_HIT = re.compile(rf"^(?P<path>{_PATH}):(?P<line>\d+):(?:(?P<col>\d+):)?(?P<text>.*)$")
_CONTEXT = re.compile(rf"^(?P<path>{_PATH}?)-(?P<line>\d+)-(?P<text>.*)$")
_DEFAULT_SHARE = 0.18
_CONTEXT_REACH = 3


@dataclass
class _Hit:
    line: int
    text: str  # what follows path:line: (with col: when present)
    context: bool = False


@dataclass
class _File:
    path: str
    hits: list[_Hit] = field(default_factory=list)

    def real(self) -> list[int]:
        """Indices of the hits that are matches, not context lines."""
        return [index for index, hit in enumerate(self.hits) if not hit.context]


def _parse(lines: list[str]) -> tuple[dict[str, _File], list[str]] | None:
    files: dict[str, _File] = {}
    pending: dict[str, list[tuple[_Hit, str]]] = {}  # context seen before its file's first hit
    other: list[str] = []
    hits = 0
    for line in lines:
        match = _HIT.match(line)
        if match:
            col = match["col"]
            text = f"{col}:{match['text']}" if col else match["text"]
            path = match["path"]
            if path not in files:
                files[path] = _File(path, [hit for hit, _ in pending.pop(path, [])])
            files[path].hits.append(_Hit(int(match["line"]), text))
            hits += 1
            continue
        context = _CONTEXT.match(line)
        if context:
            hit = _Hit(int(context["line"]), context["text"], True)
            if context["path"] in files:
                files[context["path"]].hits.append(hit)
            else:
                pending.setdefault(context["path"], []).append((hit, line))
        elif line != "--" and line.strip():
            other.append(line)
    other.extend(line for waiting in pending.values() for _, line in waiting)
    if hits < 2 or len(other) > hits:
        return None
    return files, other


def _spread(indices: list[int], count: int) -> list[int]:
    """``count`` indices spread evenly over ``indices`` (first and last first)."""
    if count >= len(indices):
        return indices
    if count <= 1:
        return indices[:count]
    step = (len(indices) - 1) / (count - 1)
    return sorted({indices[round(k * step)] for k in range(count)})


def compress(job: Job) -> str | None:
    """Compress grep/ripgrep output; None when it does not parse as search output."""
    lines = split_lines(job.text)
    parsed = _parse(lines)
    if parsed is None:
        return None
    files, other = parsed
    real = {path: f.real() for path, f in files.items()}

    matcher = QueryMatcher(job.query)
    chosen: dict[str, set[int]] = {path: {indices[0]} for path, indices in real.items()}
    if matcher:
        where = [(path, index) for path, indices in real.items() for index in indices]
        lowered = [files[path].hits[index].text.lower() for path, index in where]
        for picked in matcher.pick(lowered, limit=len(where)):
            path, index = where[picked]
            chosen[path].add(index)

    # fill the remaining room round-robin, a few evenly spread hits per file at a time
    room = (job.budget or _DEFAULT_SHARE) * len(job.text)
    used = sum(len(path) + 16 for path in files) + sum(
        len(files[path].hits[i].text) + 8 for path, keep in chosen.items() for i in keep
    )
    quota = 1
    while used < room:
        grew = False
        quota += 1
        for path, f in files.items():
            for index in _spread(real[path], quota):
                if index not in chosen[path]:
                    cost = len(f.hits[index].text) + 8
                    if used + cost > room:
                        break
                    chosen[path].add(index)
                    used += cost
                    grew = True
        if not grew:
            break
    return _render(files, other, chosen, real, job)


def _render(
    files: dict[str, _File],
    other: list[str],
    chosen: dict[str, set[int]],
    real: dict[str, list[int]],
    job: Job,
) -> str | None:
    out: list[str] = list(other)
    shown = 0
    for path, f in files.items():
        keep = chosen[path]
        near = [f.hits[i].line for i in keep]  # context lines close to a kept hit come along
        count = len(real[path])
        noun = "hit" if count == 1 else "hits"
        header = len(out)
        out.append("")
        visible = 0
        for index, hit in enumerate(f.hits):
            if index in keep:
                out.append(f"  {hit.line}:{hit.text}")
                visible += 1
            elif hit.context and any(abs(hit.line - line) <= _CONTEXT_REACH for line in near):
                out.append(f"  {hit.line}-{hit.text}")
        out[header] = f"{path}: {count} {noun}" + (f", {visible} shown" if visible < count else "")
        shown += visible
    omitted = sum(len(indices) for indices in real.values()) - shown
    if omitted <= 0:
        return "\n".join(out)  # regrouped only: every hit is still there
    out.append(job.marker(omitted, "hits"))
    return "\n".join(out)
