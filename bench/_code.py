"""Code benchmark: large real source files, compressed with their file name as a hint (QUALITY.md, code row).

Ground truth comes from parsing the original: Python with ``ast`` (top-level and class-level ``def``,
``async def`` and ``class``, decorators included), the brace languages with tree-sitter: TypeScript and
Go (top-level functions, methods, type declarations, interfaces, classes, enums, type aliases, top-level
``const`` arrow functions, and class members), Rust (items at the top level and inside modules, impls and
traits), Java (types, nested ones too, with their methods and constructors), C++ (functions, out-of-class
method definitions included, and classes with their member functions, through namespaces and templates)
and JavaScript (functions, classes, and functions assigned to a variable or a property). A definition's
signature is its text from its first token (the ``export`` keyword or first decorator) up to, not
including, its body (``:`` included for Python, the opening ``{`` excluded elsewhere; a declaration
without a body, such as an overload or a type alias without an object body, is all signature), taken
line by line: each line stripped, blank lines and comment-only lines dropped.

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

LANGUAGES = {".py": "python", ".ts": "typescript", ".go": "go", ".rs": "rust", ".java": "java",
             ".cc": "cpp", ".cpp": "cpp", ".js": "javascript"}  # fmt: skip
RATIO_TARGETS = {"python": 3.0, "typescript": 2.0, "go": 2.0, "rust": 2.0, "java": 2.0, "cpp": 2.0,
                 "javascript": 2.0}  # fmt: skip
_C_COMMENTS = ("//", "/*", "*")
_COMMENT_PREFIXES = {language: ("#",) if language == "python" else _C_COMMENTS for language in RATIO_TARGETS}


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


_GRAMMARS = {"go": ("tree_sitter_go", "language"),
             "typescript": ("tree_sitter_typescript", "language_typescript"),
             "rust": ("tree_sitter_rust", "language"), "java": ("tree_sitter_java", "language"),
             "cpp": ("tree_sitter_cpp", "language"),
             "javascript": ("tree_sitter_javascript", "language")}  # fmt: skip


def _parse_tree(source: bytes, language: str) -> Tree:
    from importlib import import_module

    from tree_sitter import Language, Parser

    module, loader = _GRAMMARS[language]
    return Parser(Language(getattr(import_module(module), loader)())).parse(source)


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


# --- rust, java, c++ and javascript (tree-sitter) ------------------------------------------------------

_RUST_ITEMS = {"function_item", "function_signature_item", "struct_item", "enum_item", "union_item",
               "trait_item", "impl_item", "type_item", "mod_item", "macro_definition"}  # fmt: skip
_RUST_CONTAINERS = {"impl_item", "trait_item", "mod_item"}


def rust_signatures(source: str) -> list[Signature]:
    """Rust items at the top level and inside modules, impls and traits (functions, types, traits,
    impls with their generic bounds and ``where`` clauses, macros); attributes and doc comments are not
    part of a signature."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "rust")

    def visit(items: list[Node]) -> None:
        for node in items:
            if node.type not in _RUST_ITEMS:
                continue
            body = node.child_by_field_name("body")
            if node.type == "macro_definition":  # the rules are its body
                body = next((c for c in node.children if c.type in ("{", "(", "[")), None)
            elif body is not None and body.type not in ("block", "declaration_list", "field_declaration_list",
                                                         "enum_variant_list"):  # fmt: skip
                body = None  # a type alias's value, a tuple struct's fields: part of the signature
            out.add(node.child_by_field_name("name") or node.child_by_field_name("type"), node, body)
            if node.type in _RUST_CONTAINERS and body is not None:
                visit(body.named_children)

    visit(_parse_tree(data, "rust").root_node.named_children)
    return out.found


_JAVA_TYPES = {"class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
               "annotation_type_declaration"}  # fmt: skip
_JAVA_MEMBERS = {"method_declaration", "constructor_declaration", "compact_constructor_declaration",
                 "annotation_type_element_declaration"}  # fmt: skip


def java_signatures(source: str) -> list[Signature]:
    """Java types (nested ones too) and their methods and constructors, annotations and modifiers
    included (they open the declaration); fields are not definitions."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "java")

    def visit(nodes: list[Node]) -> None:
        for node in nodes:
            if node.type in _JAVA_TYPES:
                body = node.child_by_field_name("body")
                out.add(node.child_by_field_name("name"), node, body)
                if body is not None:
                    members = body.named_children
                    declarations = next((c for c in members if c.type == "enum_body_declarations"), None)
                    visit(declarations.named_children if declarations is not None else members)
            elif node.type in _JAVA_MEMBERS:
                out.add(node.child_by_field_name("name"), node, node.child_by_field_name("body"))

    visit(_parse_tree(data, "java").root_node.named_children)
    return out.found


_CPP_TYPES = {"class_specifier", "struct_specifier", "union_specifier", "enum_specifier"}
_CPP_SCOPES = {"namespace_definition", "linkage_specification"}
_CPP_NAMES = {"identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name",
              "type_identifier"}  # fmt: skip


def _cpp_function_name(node: Node) -> Node | None:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type not in _CPP_NAMES:
        declarator = declarator.child_by_field_name("declarator")
    return declarator


def _cpp_declares_function(node: Node) -> bool:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type == "function_declarator":
            return True
        declarator = declarator.child_by_field_name("declarator")
    return False


def cpp_signatures(source: str) -> list[Signature]:
    """C++ functions (out-of-class method definitions such as ``Status DBImpl::Get(...)`` included, a
    constructor's initializer list being part of its signature), classes, structs, unions and enums with
    a body, and their member functions (defined or declared), through namespaces, ``extern "C"`` blocks
    and templates (the ``template <...>`` line opens the signature)."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "cpp")

    def visit(nodes: list[Node], in_class: bool) -> None:
        for statement in nodes:
            node = statement
            while node.type == "template_declaration":
                inner = [c for c in node.named_children if c.type != "template_parameter_list"]
                if not inner:
                    break
                node = inner[0]
            if node.type in _CPP_SCOPES:
                body = node.child_by_field_name("body")
                if body is not None:
                    visit(body.named_children, False)
                continue
            if node.type == "function_definition":
                out.add(_cpp_function_name(node), statement, node.child_by_field_name("body"))
                continue
            specifier = node if node.type in _CPP_TYPES else node.child_by_field_name("type")
            if specifier is not None and specifier.type in _CPP_TYPES:
                body = specifier.child_by_field_name("body")
                if body is not None:
                    out.add(specifier.child_by_field_name("name"), statement, body)
                    visit(body.named_children, True)
                    continue
            declares = node.type in ("field_declaration", "declaration") and _cpp_declares_function(node)
            if in_class and declares:
                out.add(_cpp_function_name(node), statement, None)

    visit(_parse_tree(data, "cpp").root_node.named_children, False)
    return out.found


_JS_BODY = {"function_declaration", "generator_function_declaration", "class_declaration"}


def _js_function(value: Node | None) -> bool:
    return value is not None and value.type in _FUNCTION_VALUES | {"function"}


def js_signatures(source: str) -> list[Signature]:
    """Top-level JavaScript functions and classes (with their methods), variables holding a function,
    and functions assigned to a property (``res.send = function send(body) {``, ``exports.f = ...``);
    ``export`` opens the signature where present."""
    data = source.encode("utf-8", "surrogateescape")
    out = _Collector(data, "javascript")
    for statement in _parse_tree(data, "javascript").root_node.named_children:
        node = statement
        if statement.type == "export_statement":
            node = statement.child_by_field_name("declaration") or statement
        if node.type in _JS_BODY:
            body = node.child_by_field_name("body")
            out.add(node.child_by_field_name("name"), statement, body)
            if node.type == "class_declaration" and body is not None:
                for member in body.named_children:
                    if member.type == "method_definition":
                        name = member.child_by_field_name("name")
                        out.add(name, member, member.child_by_field_name("body"))
        elif node.type in ("lexical_declaration", "variable_declaration"):
            declarators = [d for d in node.named_children if d.type == "variable_declarator"]
            for declarator in declarators:
                value = declarator.child_by_field_name("value")
                if value is not None and _js_function(value):
                    start = statement if len(declarators) == 1 else declarator
                    out.add(declarator.child_by_field_name("name"), start, value.child_by_field_name("body"))
        elif node.type == "expression_statement":
            value = node.named_children[0] if node.named_children else None
            left = None
            while value is not None and value.type == "assignment_expression":  # a = b = function () {}
                left = left or value.child_by_field_name("left")
                value = value.child_by_field_name("right")
            if left is not None and _js_function(value):
                assert value is not None
                out.add(left, statement, value.child_by_field_name("body"))
    return out.found


_SIGNATURES = {"python": python_signatures, "typescript": ts_signatures, "go": go_signatures,
               "rust": rust_signatures, "java": java_signatures, "cpp": cpp_signatures,
               "javascript": js_signatures}  # fmt: skip


def signatures(source: str, language: str) -> list[Signature]:
    """The ground-truth definitions of ``source`` in ``language`` (a value of ``LANGUAGES``)."""
    return _SIGNATURES[language](source)


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
