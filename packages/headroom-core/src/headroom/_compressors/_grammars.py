"""tree-sitter grammars for the code compressor: one parser and two compiled queries per language.

Each grammar comes from its own wheel (``tree-sitter-python``, ``tree-sitter-go``, ...), imported the
first time a file of that language is compressed. Parsers are created once and reused behind a lock
(a ``Parser`` is not safe to share between threads while it parses); queries are immutable and shared.

Per language, one query captures every definition whose body may be elided (``@def``, with its
``@body``), every comment (``@comment``) and, for Python, module and class docstrings (``@doc``):
one pass over the tree finds them all.

A tree with syntax errors is used when the errors cover a sliver of the file (C and C++ macros such as
``GUARDED_BY(mu)`` after a field are the common case, valid code a grammar cannot know): the compressor
then leaves every definition that holds an error as written. A file that is mostly errors passes
through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import import_module

from tree_sitter import Language, Node, Parser, Query, QueryCursor

from .._deadline import shielded

_JS_FUNCTIONS = """
(function_declaration body: (statement_block) @body) @def
(generator_function_declaration body: (statement_block) @body) @def
(function_expression body: (statement_block) @body) @def
(generator_function body: (statement_block) @body) @def
(method_definition body: (statement_block) @body) @def
(arrow_function body: (statement_block) @body) @def
"""
_C_COMMENTS = "(comment) @comment"
_JAVA_COMMENTS = "(line_comment) @comment (block_comment) @comment"


@dataclass(frozen=True)
class _Spec:
    module: str
    loader: str
    functions: str
    comments: str
    docstrings: str | None = None


_SPECS: dict[str, _Spec] = {
    "python": _Spec(
        "tree_sitter_python",
        "language",
        "(function_definition body: (block) @body) @def",
        _C_COMMENTS,
        """
        (module . (expression_statement (string) @doc))
        (class_definition body: (block . (expression_statement (string) @doc)))
        """,
    ),
    "javascript": _Spec("tree_sitter_javascript", "language", _JS_FUNCTIONS, _C_COMMENTS),
    "typescript": _Spec("tree_sitter_typescript", "language_typescript", _JS_FUNCTIONS, _C_COMMENTS),
    "tsx": _Spec("tree_sitter_typescript", "language_tsx", _JS_FUNCTIONS, _C_COMMENTS),
    "go": _Spec(
        "tree_sitter_go",
        "language",
        """
        (function_declaration body: (block) @body) @def
        (method_declaration body: (block) @body) @def
        (func_literal body: (block) @body) @def
        """,
        _C_COMMENTS,
    ),
    "rust": _Spec(
        "tree_sitter_rust",
        "language",
        "(function_item body: (block) @body) @def",
        _JAVA_COMMENTS,
    ),
    "java": _Spec(
        "tree_sitter_java",
        "language",
        """
        (method_declaration body: (block) @body) @def
        (constructor_declaration body: (constructor_body) @body) @def
        (compact_constructor_declaration body: (block) @body) @def
        """,
        _JAVA_COMMENTS,
    ),
    "cpp": _Spec(
        "tree_sitter_cpp",
        "language",
        """
        (function_definition body: (compound_statement) @body) @def
        (lambda_expression body: (compound_statement) @body) @def
        """,
        _C_COMMENTS,
    ),
}

# When a file does not parse as the language it was guessed to be, these are tried next, in order.
_MAX_ERROR_SHARE = 0.02  # of the source's bytes under ERROR nodes, above which a tree is not used
_FALLBACKS = {"javascript": ("tsx",), "typescript": ("tsx",), "tsx": ("typescript",)}
LANGUAGES = tuple(_SPECS)


@dataclass(frozen=True)
class Scan:
    """What one pass of a grammar's query found in a tree, each list in document order."""

    functions: list[tuple[Node, Node]]  # (definition, body)
    comments: list[Node]
    docstrings: list[Node]


class Grammar:
    """A language's parser and its query (functions, comments and docstrings in one pass)."""

    def __init__(self, name: str, spec: _Spec) -> None:
        language = Language(getattr(import_module(spec.module), spec.loader)())
        self.name = name
        self._parser = Parser(language)
        self._lock = threading.Lock()
        self._query = Query(language, spec.functions + spec.comments + (spec.docstrings or ""))

    def parse(self, source: bytes) -> tuple[Node, int]:
        """The root of ``source``'s syntax tree and how many bytes its errors cover."""
        with self._lock:
            tree = self._parser.parse(source)
        root = tree.root_node
        return root, _error_bytes(root) if root.has_error else 0

    def scan(self, root: Node) -> Scan:
        """Every function body, comment and docstring under ``root``."""
        functions: list[tuple[Node, Node]] = []
        comments: list[Node] = []
        docstrings: list[Node] = []
        for _, match in QueryCursor(self._query).matches(root):
            if "def" in match and "body" in match:
                functions.append((match["def"][0], match["body"][0]))
            elif "comment" in match:
                comments.append(match["comment"][0])
            elif "doc" in match:
                docstrings.append(match["doc"][0])
        functions.sort(key=lambda pair: pair[0].start_byte)
        comments.sort(key=lambda node: node.start_byte)
        docstrings.sort(key=lambda node: node.start_byte)
        return Scan(functions, comments, docstrings)


_grammars: dict[str, Grammar] = {}
_grammars_lock = threading.Lock()


def grammar(name: str) -> Grammar | None:
    """The grammar of language ``name`` (``python``, ``tsx``, ...), loaded once; None when unknown."""
    spec = _SPECS.get(name)
    if spec is None:
        return None
    with shielded(), _grammars_lock:  # loading imports the grammar: never cut short
        if name not in _grammars:
            _grammars[name] = Grammar(name, spec)
        return _grammars[name]


def _error_bytes(root: Node) -> int:
    """Bytes under ERROR nodes (outermost ones), plus one per missing token."""
    if root.type == "ERROR":
        return root.end_byte - root.start_byte
    total = 0
    stack = [root]
    while stack:
        for child in stack.pop().children:
            if child.type == "ERROR":
                total += child.end_byte - child.start_byte
            elif child.is_missing:
                total += 1
            elif child.has_error:
                stack.append(child)
    return total


def parse(language: str, source: bytes) -> tuple[Grammar, Node] | None:
    """Parse ``source`` as ``language``, then as its fallbacks: the first tree without errors, else the
    one with the fewest, if they cover at most 2% of the source; None when no grammar accepts it."""
    best: tuple[int, Grammar, Node] | None = None
    for name in (language, *_FALLBACKS.get(language, ())):
        found = grammar(name)
        if found is None:
            continue
        root, errors = found.parse(source)
        if not errors:
            return found, root
        if best is None or errors < best[0]:
            best = (errors, found, root)
    if best is None or best[0] > _MAX_ERROR_SHARE * len(source):
        return None
    return best[1], best[2]
