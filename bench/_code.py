"""Code benchmark: large real source files, compressed with their file name as a hint (QUALITY.md, code row).

Ground truth comes from parsing the original: Python with ``ast`` (top-level and class-level ``def``,
``async def`` and ``class``, decorators included), TypeScript and Go with tree-sitter (top-level
functions, methods, type declarations, interfaces, classes, enums, type aliases, top-level ``const``
arrow functions, and class members). A definition's signature is its text from its first token (the
``export`` keyword or first decorator) up to, not including, its body (``:`` included for Python, the
opening ``{`` excluded elsewhere; a declaration without a body, such as an overload or a type alias
without an object body, is all signature), taken line by line: each line stripped, blank lines and
comment-only lines dropped.

A signature line is visible when it occurs inside one stripped line of the output (so ``func f() error``
is visible in ``func f() error {``); a definition is recalled when every line of its signature is.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._core import Check, Context, Kind, Section, read_text, round_trip_check, share, summarize
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, fmt_pct, head_cells, mark, plain, tail_cells

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

LANGUAGES = {".py": "python", ".ts": "typescript", ".go": "go"}
RATIO_TARGETS = {"python": 3.0, "typescript": 2.0, "go": 2.0}
_COMMENT_PREFIXES = {"python": ("#",), "typescript": ("//", "/*", "*"), "go": ("//", "/*", "*")}


@dataclass(frozen=True)
class Signature:
    """One definition: its name, the 1-based line where it starts, and its signature lines (stripped)."""

    name: str
    line: int
    lines: tuple[str, ...]


def _signature_lines(text: str, language: str) -> tuple[str, ...]:
    comments = _COMMENT_PREFIXES[language]
    stripped = (line.strip() for line in text.splitlines())
    return tuple(line for line in stripped if line and not line.startswith(comments))


# --- python --------------------------------------------------------------------------------------------

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_BRACKETS_AND_COLON = frozenset("()[]{}:")


def python_signatures(source: str) -> list[Signature]:
    """Every module-level and class-level definition (nested classes included, function bodies not)."""
    lines = re.split(r"\r\n|\r|\n", source)  # numbered as ast numbers them (not str.splitlines)
    tokens = [
        tok
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.OP and tok.string in _BRACKETS_AND_COLON
    ]
    starts = [tok.start for tok in tokens]

    def body_colon(node: _Definition) -> tuple[int, int]:
        """(line, column after) of the ``:`` that opens ``node``'s body: the first one outside brackets."""
        depth = 0
        for tok in tokens[bisect_left(starts, (node.lineno, node.col_offset)) :]:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif depth == 0:
                return tok.end
        raise ValueError(f"no body for {node.name} at line {node.lineno}")

    found: list[Signature] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if not isinstance(node, _Definition):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end_line, end_col = body_colon(node)
            text = "\n".join([*lines[first - 1 : end_line - 1], lines[end_line - 1][:end_col]])
            found.append(Signature(node.name, first, _signature_lines(text, "python")))
            if isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(ast.parse(source).body)
    return found


def python_parses(text: str) -> bool:
    """Whether ``text`` is valid Python (``ast.parse``; warnings about the source are ignored)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return False
    return True


# --- typescript and go (tree-sitter) -------------------------------------------------------------------

_TS_BODY = {
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "abstract_class_declaration",
    "interface_declaration",
    "enum_declaration",
    "method_definition",
}
_TS_WHOLE = {"function_signature", "method_signature", "abstract_method_signature"}
_TS_CLASSES = {"class_declaration", "abstract_class_declaration"}
_FUNCTION_VALUES = {"arrow_function", "function_expression", "generator_function"}


def _parse_tree(source: bytes, language: str) -> Tree:
    from tree_sitter import Language, Parser

    if language == "go":
        import tree_sitter_go

        grammar = Language(tree_sitter_go.language())
    else:
        import tree_sitter_typescript

        grammar = Language(tree_sitter_typescript.language_typescript())
    return Parser(grammar).parse(source)


class _Collector:
    """Signatures from tree-sitter nodes: text from a start node to a body node (or the node's end)."""

    def __init__(self, source: bytes, language: str) -> None:
        self.source = source
        self.language = language
        self.found: list[Signature] = []

    def add(self, name_node: Node | None, start: Node, body: Node | None) -> None:
        end = body.start_byte if body is not None else start.end_byte
        text = self.source[start.start_byte : end].decode("utf-8", "surrogateescape")
        name = name_node.text.decode() if name_node is not None and name_node.text else "?"
        self.found.append(Signature(name, start.start_point[0] + 1, _signature_lines(text, self.language)))


def ts_signatures(source: str) -> list[Signature]:
    """Top-level TypeScript declarations (exported or not) and the members of every top-level class."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "typescript")
    for statement in _parse_tree(data, "typescript").root_node.children:
        node = statement
        if statement.type == "export_statement":
            declaration = statement.child_by_field_name("declaration")
            if declaration is None:  # export { a, b } and re-exports
                continue
            node = declaration
        if node.type in _TS_BODY:
            out.add(node.child_by_field_name("name"), statement, node.child_by_field_name("body"))
        elif node.type in _TS_WHOLE:
            out.add(node.child_by_field_name("name"), statement, None)
        elif node.type == "type_alias_declaration":
            value = node.child_by_field_name("value")
            body = value if value is not None and value.type == "object_type" else None
            out.add(node.child_by_field_name("name"), statement, body)
        elif node.type == "lexical_declaration":
            declarators = [d for d in node.named_children if d.type == "variable_declarator"]
            for declarator in declarators:
                value = declarator.child_by_field_name("value")
                if value is not None and value.type in _FUNCTION_VALUES:
                    start = statement if len(declarators) == 1 else declarator
                    out.add(declarator.child_by_field_name("name"), start, value.child_by_field_name("body"))
        if node.type in _TS_CLASSES:
            _ts_members(out, node.child_by_field_name("body"))
    return out.found


def _ts_members(out: _Collector, body: Node | None) -> None:
    if body is None:
        return
    for member in body.named_children:
        if member.type == "method_definition":
            out.add(member.child_by_field_name("name"), member, member.child_by_field_name("body"))
        elif member.type in _TS_WHOLE:
            out.add(member.child_by_field_name("name"), member, None)
        elif member.type == "public_field_definition":
            value = member.child_by_field_name("value")
            function = value is not None and value.type in _FUNCTION_VALUES
            body = value.child_by_field_name("body") if value is not None and function else None
            out.add(member.child_by_field_name("name"), member, body)


def go_signatures(source: str) -> list[Signature]:
    """Top-level Go functions, methods and type declarations (each spec of a grouped ``type (...)``)."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "go")
    for node in _parse_tree(data, "go").root_node.children:
        if node.type in ("function_declaration", "method_declaration"):
            out.add(node.child_by_field_name("name"), node, node.child_by_field_name("body"))
        elif node.type == "type_declaration":
            specs = [s for s in node.named_children if s.type in ("type_spec", "type_alias")]
            grouped = any(child.type == "(" for child in node.children)
            for spec in specs:
                kind = spec.child_by_field_name("type")
                body = None
                if kind is not None and kind.type in ("struct_type", "interface_type"):
                    body = next((c for c in kind.children if c.type in ("{", "field_declaration_list")), None)
                out.add(spec.child_by_field_name("name"), spec if grouped else node, body)
    return out.found


def signatures(source: str, language: str) -> list[Signature]:
    """The ground-truth definitions of ``source`` in ``language`` (python, typescript or go)."""
    if language == "python":
        return python_signatures(source)
    if language == "typescript":
        return ts_signatures(source)
    return go_signatures(source)


# --- the metric ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureRecall:
    """Definitions whose every signature line is visible, signature lines visible, and what is missing."""

    definitions: tuple[int, int]
    lines: tuple[int, int]
    missing: tuple[str, ...]  # "name (line N)" of every definition not fully visible

    @property
    def complete(self) -> bool:
        return self.definitions[0] == self.definitions[1]


def signature_recall(found: list[Signature], output: str) -> SignatureRecall:
    """Judge ``output``: a signature line is visible when it lies inside one stripped output line."""
    # a needle without a newline found in the newline-joined lines lies inside one of them
    haystack = "\n".join(line.strip() for line in output.splitlines())
    lines_seen = lines_total = 0
    missing = []
    for signature in found:
        seen = sum(1 for line in signature.lines if line in haystack)
        lines_seen += seen
        lines_total += len(signature.lines)
        if seen < len(signature.lines):
            missing.append(f"{signature.name} (line {signature.line})")
    return SignatureRecall((len(found) - len(missing), len(found)), (lines_seen, lines_total), tuple(missing))


def run(ctx: Context) -> Section:
    """Compress every source file with ``path=<file name>`` and judge its signatures."""
    columns = ["file", "language", *HEAD_COLUMNS, "definitions", "signature lines", "parses", "as"]
    section = Section("code", "code: real source files, path= hint", [*columns, *TAIL_COLUMNS])
    files: list[dict[str, object]] = []
    measurements = []
    recalled = [0, 0]
    parses_ok = True
    paths = sorted(p for p in (ctx.data_dir / "code").glob("*") if p.suffix in LANGUAGES)
    for path in paths:
        language = LANGUAGES[path.suffix]
        text = read_text(path)
        found = signatures(text, language)
        ctx.say(f"code: {path.name}, {len(found)} definitions")
        m = ctx.measure("code", path.name, text, path=path.name)
        measurements.append(m)
        recall = signature_recall(found, m.text)
        recalled = [recalled[0] + recall.definitions[0], recalled[1] + recall.definitions[1]]
        parses = python_parses(m.text) if language == "python" else None
        parses_ok = parses_ok and parses is not False
        target = RATIO_TARGETS[language]
        value = summarize([m]).ratio or 0.0
        section.checks.append(
            Check(f"code ratio >= {target:g}x ({path.name})", value >= target, f"{value:.1f}x")
        )
        if recall.missing:
            section.notes.append(
                f"{path.name}: {len(recall.missing)} definition(s) not fully visible, e.g. "
                + ", ".join(recall.missing[:8])
            )
        files.append(
            {
                **m.as_json(),
                "language": language,
                "definitions_recalled": recall.definitions[0],
                "definitions_total": recall.definitions[1],
                "signature_lines_visible": recall.lines[0],
                "signature_lines_total": recall.lines[1],
                "signature_recall": share(*recall.definitions),
                "missing": list(recall.missing),
                "parses": parses,
            }
        )
        section.rows.append(
            [
                plain(path.name),
                language,
                *head_cells(summarize([m]), target),
                mark(
                    f"{fmt_frac(*recall.definitions)} {fmt_pct(share(*recall.definitions))}", recall.complete
                ),
                mark(fmt_frac(*recall.lines), recall.lines[0] == recall.lines[1]),
                "-" if parses is None else mark("yes" if parses else "NO", parses),
                plain(m.out_kind or "-"),
                *tail_cells(summarize([m])),
            ]
        )
    group = summarize(measurements)
    recall_cell = mark(fmt_frac(*recalled), recalled[0] == recalled[1])
    section.rows.append(["[bold]all[/]", "", *head_cells(group), recall_cell, "", "", "", *tail_cells(group)])
    section.checks += [
        Check("code signature recall 100%", recalled[0] == recalled[1], fmt_frac(*recalled)),
        Check("code Python output parses", parses_ok, ""),
        round_trip_check("code", group),
    ]
    section.data = {"summary": group.as_json(), "files": files}
    return section


KIND = Kind("code", run)
