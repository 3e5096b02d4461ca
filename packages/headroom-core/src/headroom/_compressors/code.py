"""Source code: keep the shape of a file (imports, signatures, types, fields, docs), elide bodies.

The file is parsed with tree-sitter. Everything outside function and method bodies is kept as written:
imports, package declarations, class/struct/interface/enum/trait/impl shapes, fields, constants,
decorators and annotations, and every signature whole however many lines it spans. Each body longer
than a few lines becomes a short marker that counts its lines, in a form that keeps the file valid::

    def run(self, host=None):          func (c *Command) Execute() error { /* … 12 lines */ }
        \"\"\"Run the app.\"\"\"
        ...  # … 41 lines

Docstrings and runs of comments keep their first line. With a query, bodies of definitions whose name
or body matches it are kept whole (up to the budget). One full marker at the top names the ref that
holds the whole file. Small files, minified files and files that are mostly syntax errors pass through
(None); where a grammar cannot read a few constructs (C++ macros such as ``GUARDED_BY(mu)``), every
definition holding an error stays as written and the rest is compressed as usual.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from dataclasses import dataclass
from itertools import accumulate

from tree_sitter import Node

from .._detect import guess_language, sample_lines
from .._query import QueryMatcher
from ._grammars import LANGUAGES, parse
from ._job import Job

_MIN_LINES = 30  # smaller files are cheap to read whole
_SHORT_BODY = 3  # bodies of at most this many lines are kept: a marker would save little
_MINIFIED = 300  # characters per line on average above which a file is minified, not source
_QUERY_SHARE = 0.5
_NAME_PARENTS = ("variable_declarator", "pair", "assignment_expression", "public_field_definition",
                 "field_definition", "assignment")  # fmt: skip
_CPP_NAMES = ("identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name")
_END = 1 << 62
_WORDLESS = re.compile(rb"^[\s/*#!\"'`-]*$")


@dataclass(frozen=True)
class _Body:
    """A body that may be elided: bytes ``start:end`` hold ``lines`` lines."""

    name: str | None
    start: int
    end: int
    lines: int
    python: bool
    docstring: Node | None


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: bytes
    lines: int  # lines of the original this edit removes


def compress(job: Job) -> str | None:
    text = job.text
    newlines = text.count("\n")
    if newlines + 1 < _MIN_LINES or len(text) / (newlines + 1) > _MINIFIED:
        return None
    language = job.language or guess_language(sample_lines(text))[0]
    if language not in LANGUAGES:
        return None
    source = text.encode("utf-8", "surrogatepass")
    parsed = parse(language, source)
    if parsed is None:
        return None
    grammar, root = parsed
    lines = _LineIndex(source)
    scan = grammar.scan(root)
    bodies, spans, shorts = _bodies(scan.functions, grammar.name == "python", lines)
    kept = _choose(bodies, source, job)
    edits = [_elide(body, lines) for index, body in enumerate(bodies) if index not in kept]
    edits += [edit for docstring in shorts for edit in _docstring_edits(docstring, lines)]
    edits += _comment_edits(scan.comments, lines, spans)
    for node in scan.docstrings:
        if not _within(spans, node.start_byte):
            edits.extend(_docstring_edits(node, lines))
    if not edits:
        return None
    omitted = sum(edit.lines for edit in edits)
    output = _apply(source, edits).decode("utf-8", "surrogatepass")
    comment = "#" if grammar.name == "python" else "//"
    header = f"{comment} {job.marker(omitted, 'lines')}\n"
    if output.startswith("#!"):
        first, _, rest = output.partition("\n")
        output = f"{first}\n{header}{rest}"
    else:
        output = header + output
    if grammar.name == "python" and not _parses(output):
        return None
    return output


class _LineIndex:
    """Byte offsets of line starts, so whole lines can be cut by row number."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        lengths = map((1).__add__, map(len, source.split(b"\n")[:-1]))  # each line and its newline
        self.starts = [0, *accumulate(lengths)]  # no Python loop per line: a big file has many

    def start(self, row: int) -> int:
        return self.starts[row] if row < len(self.starts) else len(self.source)

    def line(self, row: int) -> bytes:
        return self.source[self.start(row) : self.start(row + 1)]

    def alone(self, node: Node) -> bool:
        """Whether ``node`` is the first thing on its line."""
        return not self.source[self.start(node.start_point.row) : node.start_byte].strip()


def _name(definition: Node) -> str | None:
    """The name a definition is known by: its own, a C++ declarator's, or what it is assigned to."""
    name = definition.child_by_field_name("name")
    if name is None:
        declarator = definition.child_by_field_name("declarator")
        while declarator is not None and declarator.type not in _CPP_NAMES:
            declarator = declarator.child_by_field_name("declarator")
        name = declarator
    parent = definition.parent
    if name is None and parent is not None and parent.type in _NAME_PARENTS:
        for field in ("name", "key", "left", "property"):
            name = parent.child_by_field_name(field)
            if name is not None:
                break
    return name.text.decode("utf-8", "replace") if name is not None and name.text else None


def _bodies(
    pairs: list[tuple[Node, Node]], python: bool, lines: _LineIndex
) -> tuple[list[_Body], list[tuple[int, int]], list[Node]]:
    """The outermost bodies worth eliding, the byte spans of every outermost body (kept or not), and
    the docstrings of the short bodies that are kept."""
    bodies: list[_Body] = []
    shorts: list[Node] = []
    spans: list[tuple[int, int]] = []
    inside = -1
    for index, (definition, body) in enumerate(pairs):
        if definition.start_byte < inside:
            continue  # nested in a body already handled: it goes (or stays) with that body
        if definition.has_error:
            continue  # the parser could not read it all: it stays as written (definitions inside may go)
        name = _name(definition)
        holds_more = index + 1 < len(pairs) and pairs[index + 1][0].start_byte < body.end_byte
        if name is None and holds_more:
            continue  # an anonymous wrapper (an IIFE, a test suite's callback): look inside it
        inside = body.end_byte
        spans.append((body.start_byte, body.end_byte))
        if python:
            found = _python_body(body, name)
        else:
            inner = body.end_point.row - body.start_point.row - 1
            found = _Body(name, body.start_byte, body.end_byte, inner, False, None)
        if found is None:
            continue
        if found.lines > _SHORT_BODY:
            bodies.append(found)
        elif found.docstring is not None:
            shorts.append(found.docstring)  # a short body stays, but its docstring is cut like any other
    return bodies, spans, shorts


def _python_body(body: Node, name: str | None) -> _Body | None:
    statements = body.named_children
    docstring = None
    if statements and statements[0].type == "expression_statement":
        first = statements[0].named_children
        if first and first[0].type in ("string", "concatenated_string"):
            docstring = first[0]
            statements = statements[1:]
    if not statements:
        return None
    start = statements[0]
    return _Body(name, start.start_byte, body.end_byte,
                 body.end_point.row - start.start_point.row + 1, True, docstring)  # fmt: skip


def _choose(bodies: list[_Body], source: bytes, job: Job) -> set[int]:
    """Indices of the bodies kept whole: those the query is about, then (with a budget) the smallest."""
    matcher = QueryMatcher(job.query)
    if not matcher and job.budget is None:
        return set()
    elided = sum(body.end - body.start for body in bodies)
    if job.budget is not None:
        share, room = job.budget, job.budget * len(source) - (len(source) - elided)
    else:  # with a query alone, matching bodies may bring back up to half of what eliding saves
        share, room = _QUERY_SHARE, _QUERY_SHARE * elided
    ranked: list[tuple[tuple[int, int], int]] = []
    if matcher:
        picked = set(
            matcher.pick([source[b.start : b.end].decode("utf-8", "replace").lower() for b in bodies])
        )
        for index, body in enumerate(bodies):
            hits = [term for term in matcher.terms if body.name and term in body.name.lower()]
            if hits:
                ranked.append(((2, len(hits)), index))
            elif index in picked:
                ranked.append(((1, 0), index))
    if job.budget is not None:
        chosen = {index for _, index in ranked}
        ranked += [((0, -(b.end - b.start)), i) for i, b in enumerate(bodies) if i not in chosen]
    kept: set[int] = set()
    named = 0  # a definition the query names is kept even when the skeleton alone fills the room
    for (tier, _), index in sorted(ranked, key=lambda item: (-item[0][0], -item[0][1], item[1])):
        size = bodies[index].end - bodies[index].start
        if size <= room or (tier == 2 and named + size <= share * len(source)):
            kept.add(index)
            room -= size
            named += size if tier == 2 else 0
    return kept


def _elide(body: _Body, lines: _LineIndex) -> _Edit:
    if not body.python:
        return _Edit(body.start, body.end, f"{{ /* … {body.lines} lines */ }}".encode(), body.lines)
    text = f"...  # … {body.lines} lines".encode()
    docstring = body.docstring
    trimmed = _docstring_edits(docstring, lines) if docstring is not None else []
    if docstring is None or not trimmed:
        return _Edit(body.start, body.end, text, body.lines)
    # the docstring is cut in the same edit, as the two are adjacent
    doc, start = trimmed[0], docstring.start_byte
    kept = lines.source[start : doc.start] + lines.source[doc.end : body.start]
    return _Edit(start, body.end, kept + text, body.lines + doc.lines)


def _docstring_edits(node: Node, lines: _LineIndex) -> list[_Edit]:
    """Cut a docstring to its first line (two when the first holds only the quotes) and its last."""
    first, last = node.start_point.row, node.end_point.row
    if _WORDLESS.match(lines.line(first)):
        first += 1
    if last - first < 2:
        return []
    return [_Edit(lines.start(first + 1), lines.start(last), b"", last - first - 1)]


def _comment_edits(comments: list[Node], lines: _LineIndex, spans: list[tuple[int, int]]) -> list[_Edit]:
    """Runs of comment lines outside bodies keep their first line (and a block comment's closing one)."""
    runs: list[list[Node]] = []
    for node in comments:
        if _within(spans, node.start_byte) or not lines.alone(node):
            continue
        if runs and _last_row(runs[-1][-1]) + 1 == node.start_point.row:
            runs[-1].append(node)
        else:
            runs.append([node])
    edits = []
    for run in runs:
        first, last = run[0].start_point.row, _last_row(run[-1])
        keep = first + 1 if _WORDLESS.match(lines.line(first)) else first
        closing = last > run[-1].start_point.row  # a block comment: keep its last line
        cut_end = last - 1 if closing else last
        if cut_end > keep:
            edits.append(_Edit(lines.start(keep + 1), lines.start(cut_end + 1), b"", cut_end - keep))
    return edits


def _last_row(node: Node) -> int:
    """The row of a node's last character (a Rust line comment holds its newline: the row before)."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _within(spans: list[tuple[int, int]], position: int) -> bool:
    """Whether ``position`` falls inside one of ``spans`` (sorted, disjoint)."""
    index = bisect.bisect_right(spans, (position, _END)) - 1
    return index >= 0 and spans[index][0] <= position < spans[index][1]


def _apply(source: bytes, edits: list[_Edit]) -> bytes:
    out: list[bytes] = []
    position = 0
    for edit in sorted(edits, key=lambda edit: edit.start):
        out.append(source[position : edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(source[position:])
    return b"".join(out)


def _parses(output: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes in the user's code are not our concern
        try:
            ast.parse(output)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True
