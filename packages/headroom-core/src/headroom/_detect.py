"""Decide what kind of text a block is, cheaply: a prefix and a few sampled lines, never a full parse.

Kinds: ``json``, ``log``, ``search`` (grep/ripgrep ``path:line:text``), ``git`` (``git log``,
``git show --stat``), ``listing`` (``ls -l``, ``find``, ``git ls-tree``), ``tests`` (a test run),
``diagnostics`` (compilers, type checkers, linters), ``code`` (with its language), ``diff``, ``html``
and ``text`` (the fallback). The checks run from the most to the least specific shape; a compressor
that finds the guess wrong (JSON that does not parse, say) passes the text on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from ._types import Kind

_PREFIX = 16_384
_SAMPLE_LINES = 60


@dataclass(frozen=True)
class Detected:
    """What detection decided: the kind, and the language of code."""

    kind: Kind
    language: str | None = None


def sample_lines(text: str) -> list[str]:
    """Up to ~60 complete lines from the start, the middle and the end of ``text``."""
    if len(text) <= 3 * _PREFIX:
        lines = text.splitlines()
        if len(lines) <= _SAMPLE_LINES:
            return lines
        third = _SAMPLE_LINES // 3
        mid = len(lines) // 2
        return lines[:third] + lines[mid : mid + third] + lines[-third:]
    head = text[:_PREFIX].splitlines()[:-1]
    middle_start = len(text) // 2
    middle = text[middle_start : middle_start + 4096].splitlines()[1:-1]
    tail = text[-4096:].splitlines()[1:]
    third = _SAMPLE_LINES // 3
    return head[: 2 * third] + middle[:third] + tail[-third:]


# --- json -------------------------------------------------------------------------------------------

_JSON_VALUE_START = set('{["-0123456789tfn]')


def _looks_json(stripped: str) -> bool:
    if not stripped:
        return False
    first, last = stripped[0], stripped[-1]
    if first == "{":
        return last == "}"
    if first == "[" and last == "]":
        rest = stripped[1:].lstrip()
        return bool(rest) and rest[0] in _JSON_VALUE_START
    return False


def _looks_json_lines(lines: list[str]) -> bool:
    body = [line.strip() for line in lines if line.strip()]
    return len(body) >= 2 and all(line.startswith("{") and line.endswith("}") for line in body)


_LOG_KEYS = re.compile(r'"(?:level|severity|lvl|levelname|msg|message|log|@timestamp|ts|time)"\s*:')


# --- diff -------------------------------------------------------------------------------------------

_DIFF_LINE = re.compile(r"^(?:diff --git |diff --cc |--- (?:a/|/dev/null|\S)|\+\+\+ |@@+ -\d|Index: )")
_HUNK = re.compile(r"^@@+ -\d+(?:,\d+)? .*@@")
_GIT_COMMIT = re.compile(r"^commit [0-9a-f]{7,64}\b")
_GIT_STATUS = re.compile(r"^(?:On branch \S|HEAD detached (?:at|from) \S|Not currently on any branch\.)")
_GIT_BLAME = re.compile(
    r"^\^?[0-9a-f]{7,40} (?:\S+ +)?\(.+? \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} +\d+\)"
)


def _looks_diff(lines: list[str]) -> bool:
    heads = sum(1 for line in lines if _DIFF_LINE.match(line))
    hunks = sum(1 for line in lines if _HUNK.match(line))
    starts = lines[0].startswith(("diff --git ", "commit ", "--- ", "From ")) if lines else False
    return hunks >= 1 and (heads >= 3 or starts)


# --- search -----------------------------------------------------------------------------------------

# path:line:text or path:line:col:text; the path holds a non-digit so "12:00:01" is not a hit, and is
# no timestamp, so log lines "2026-03-14T09:00:01Z ...", "20171223-22:15:29:606|..." and a file-prefixed
# "nova-api.log.1.2017-05-16_13:53:08 ..." are not one either
NOT_A_TIMESTAMP = (
    r"(?!\d{4}-\d{2}-\d{2}T\d|[\d./T-]+:\d{2}:\d{2}|[^\s:]*[_T-]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\s)"
)
SEARCH_HIT = re.compile(
    rf"^(?P<path>{NOT_A_TIMESTAMP}(?=[^:\s]*[^\d:\s])[^\s:]+):(?P<line>\d+):(?:(?P<col>\d+):)?"
)
_SEARCH_CONTEXT = re.compile(rf"^{NOT_A_TIMESTAMP}(?=[^:\s]*[^\d:\s])[^\s:]+?-\d+-")
_DIAGNOSTIC = re.compile(
    r"^\S+:\d+:(?:\d+:)? (?:(?:fatal error|error|warning|note)\b|[A-Z]+\d{2,5}\b)", re.IGNORECASE
)
_TSC = re.compile(r"^\S+\(\d+,\d+\): (?:error|warning) TS\d+: ")
_RUST_HEAD = re.compile(r"^(?:error|warning)(?:\[E\d+\])?: \S")
_SOURCE_CONTEXT = re.compile(r"^\s*\d*\s*\|")  # gcc's and rustc's quoted source line and caret


def _search_or_diagnostics(lines: list[str]) -> Kind | None:
    body = [line for line in lines if line.strip()]
    if len(body) < 3:
        return None
    hits = sum(1 for line in body if SEARCH_HIT.match(line))
    other = sum(1 for line in body if line == "--" or _SEARCH_CONTEXT.match(line))
    if hits < 3 or hits + other < 0.7 * len(body):
        return None
    diagnostics = sum(1 for line in body if _DIAGNOSTIC.match(line))
    return "diagnostics" if diagnostics >= 0.3 * hits else "search"


def _looks_diagnostics(lines: list[str]) -> bool:
    """tsc's ``path(line,col): error TS…`` lines, rustc's ``error[E…]:`` / ``warning:`` blocks, or
    ``path:line[:col]: error:`` lines (gcc, clang, javac) with the source lines they quote."""
    body = [line for line in lines if line.strip()]
    tsc = sum(1 for line in body if _TSC.match(line))
    rust = sum(1 for a, b in pairwise(body) if _RUST_HEAD.match(a) and b.lstrip().startswith("--> "))
    located = sum(1 for line in body if _DIAGNOSTIC.match(line))
    quoted = sum(1 for line in body if _SOURCE_CONTEXT.match(line) or line[0] in " \t")
    gcc = located >= 3 and located + quoted >= 0.7 * len(body)
    return (tsc >= 3 and tsc >= 0.5 * len(body)) or rust >= 3 or gcc


# --- test runs --------------------------------------------------------------------------------------

TEST_PASSED = re.compile(
    r"(?P<file>[^\s:]+)::\S.*? PASSED(?:\s+\[\s*\d+%\])?|PASSED (?P<file2>[^\s:]+)::\S.*"  # pytest -v, -rA
    r"|\w+ \([\w.]+\)(?: .*)? \.\.\. ok"  # unittest -v
    r"|\s*--- PASS: \S+ \(\d+(?:\.\d+)?s\)|=== (?:RUN|PAUSE|CONT|NAME)\s+\S+"  # go test -v
    r"|test \S+ \.\.\. ok"  # cargo test
    r"|\s*[✓✔√] .+"  # jest, vitest, mocha
)
_TEST_OTHER = re.compile(
    r"\S+::\S.*? (?:FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*|(?:FAILED|ERROR|SKIPPED|XFAIL) \S+.*"
    r"|\w+ \([\w.]+\)(?: .*)? \.\.\. (?:FAIL|ERROR|skipped.*)|\s*--- (?:FAIL|SKIP): \S+.*"
    r"|test \S+ \.\.\. (?:FAILED|ignored)|\s*[✕✗×] .+|\s*\d+\) .+"
)
_TEST_SUMMARY = re.compile(
    r"=+ .*(?:test session starts|passed|failed|error).* =+|Ran \d+ tests? in .*|(?:ok|FAIL)\s+\S+\s+[\d.]+s"
    r"|test result: .*|Tests?:\s+\d+.*|\s*\d+ (?:passing|failing|pending).*|PASS|FAIL|OK(?: \(.*\))?"
    r"|FAILED \(.*\)|\s*Test Files\s+\d+.*|running \d+ tests?"
)


def _looks_test_run(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip()]
    results = sum(1 for line in body if TEST_PASSED.fullmatch(line) or _TEST_OTHER.fullmatch(line))
    if results < 5 or results < 0.3 * len(body):
        return False
    return any(_TEST_SUMMARY.fullmatch(line.strip()) for line in body)


# --- listing ----------------------------------------------------------------------------------------

_LS_LONG = re.compile(r"^[-dlcbps][rwxsStT-]{9}[.@+]?\s+\d+\s+\S+\s+\S+\s+\d")
_LS_TREE = re.compile(r"^\d{6} (?:blob|tree|commit) [0-9a-f]{40}")
_TREE_LINE = re.compile(r"^(?:│   |    )*[├└]── ")
_LS_OTHER = re.compile(r"^(?:total \d|\S.*:$)")
_FIND = re.compile(r"^(?:\.{1,2}/|/|~/)?[^\s:*?\"<>|]+/[^\s:*?\"<>|]*$")


def _looks_listing(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip()]
    if len(body) < 12:
        return False
    if sum(1 for line in body if _TREE_LINE.match(line)) >= 0.8 * (len(body) - 2):
        return True  # tree
    long = sum(1 for line in body if _LS_LONG.match(line) or _LS_TREE.match(line))
    if long >= 0.7 * len(body) and long + sum(1 for line in body if _LS_OTHER.match(line)) == len(body):
        return True
    slashed = sum(1 for line in body if "/" in line)
    return slashed >= 0.9 * len(body) and all(
        _FIND.match(line) or not {" ", "/"} & set(line) for line in body
    )


# --- html -------------------------------------------------------------------------------------------

_HTML_START = re.compile(r"^\s*(?:<!doctype html|<html[\s>]|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:div|p|span|a|ul|ol|li|table|tr|td|h[1-6]|body|head|section|article|nav)\b", re.I
)


def _looks_html(prefix: str) -> bool:
    if _HTML_START.match(prefix):
        return True
    return prefix.lstrip().startswith("<") and len(_HTML_TAG.findall(prefix)) >= 8


# --- log --------------------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^\W{0,3}(?:"
    r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{1,2}:\d{2}"  # 2024-01-31 12:00 / 2024-01-31T12:00
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"  # Sun Dec 04 04:47:44
    r"|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"  # syslog: Jun 14 15:16:01
    r"|\d{1,4}[-/.]\d{1,2}(?:[-/.]\d{1,4})?[ ,:T-]\d{1,2}:\d{2}:\d{2}"  # 17/06/09 20:10:40, 03-17 16:13:38
    r"|\d{8}[-T ]?\d{2}:?\d{2}:?\d{2}"  # 20171223-22:15:29
    r"|\d{6} \d{6}"  # HDFS: 081109 203615
    r"|\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\s"  # 12:00:01.123
    r"|(?:\S+ +){0,5}1\d{9}(?:\.\d+)?\s"  # unix time (2001-2033), first or among the leading fields
    r"|\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}"  # 09-Jan-2024 10:00
    r")"
)
_LEVEL = re.compile(
    r"(?:^|[\s\[(|:])(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|SEVERE|"
    r"debug|info|notice|warn|warning|error|fatal|critical)(?:$|[\s\]):|])"
)
_RUNNER = re.compile(
    r"^(?:=+ .*(?:test session starts|passed|failed|error|FAILURES|ERRORS).* =+$"
    r"|Traceback \(most recent call last\):"
    r"|npm (?:ERR!|WARN|error|warn)"
    r"|\s*(?:Compiling|Finished|Running|Downloaded|Checking) \S"
    r"|(?:error|warning)(?:\[E\d+\])?: "
    r"|make(?:\[\d+\])?: "
    r"|\s*(?:PASS|FAIL) \S"
    r"|\S+::\S+ (?:PASSED|FAILED|ERROR|SKIPPED)"
    r"|\[\d+/\d+\] "
    r"|#\d+ \[.*\]"
    r")"
)


def _log_score(lines: list[str]) -> float:
    body = [line for line in lines if line.strip()]
    if not body:
        return 0.0
    stamped = sum(1 for line in body if _TIMESTAMP.match(line) or _LEVEL.search(line[:80]))
    runner = sum(1 for line in body if _RUNNER.match(line))
    return (stamped + 3 * runner) / len(body)


# --- code -------------------------------------------------------------------------------------------

_LANGUAGE_SIGNS: dict[str, list[tuple[re.Pattern[str], float]]] = {
    "python": [
        (re.compile(r"^\s*def \w+\(.*\)\s*(?:->.*)?:\s*$"), 3),
        (re.compile(r"^\s*class \w+(?:\(.*\))?:\s*$"), 3),
        (re.compile(r"^(?:from [\w.]+ import |import [\w.]+(?: as \w+)?$)"), 3),
        (re.compile(r"^\s*(?:if|elif|for|while|with|try|except|else)\b.*:\s*$"), 1),
        (re.compile(r"\bself\.\w"), 1),
        (re.compile(r"^\s*@\w[\w.]*"), 1),
    ],
    "javascript": [
        (re.compile(r"^\s*(?:export\s+)?(?:async\s+)?function\*?\s*\w*\s*\("), 3),
        (re.compile(r"^\s*(?:const|let|var) \w+\s*=\s*(?:require\(|\(|async|function)"), 2),
        (re.compile(r"\bmodule\.exports\b|\brequire\(['\"]"), 3),
        (re.compile(r"=>\s*[{(]?"), 1),
        (re.compile(r"^\s*(?:import .* from ['\"]|export (?:default|const|\{))"), 2),
    ],
    "typescript": [
        (re.compile(r"^\s*(?:export\s+)?(?:interface|type|enum|namespace|declare)\s+\w+"), 4),
        (re.compile(r"\w\??:\s*(?:string|number|boolean|void|any|unknown|never|Record<|Promise<)\b"), 3),
        (re.compile(r"^\s*(?:public|private|protected|readonly)\s+\w+"), 2),
        (re.compile(r"^\s*import (?:type )?.* from ['\"]"), 1),
    ],
    "go": [
        (re.compile(r"^package \w+\s*$"), 5),
        (re.compile(r"^func (?:\(\w+ \*?\w+\) )?\w+\("), 4),
        (re.compile(r"\w+ := "), 2),
        (re.compile(r"^\s*(?:type \w+ (?:struct|interface) \{|import \()"), 3),
        (re.compile(r"\bif err != nil\b"), 3),
    ],
    "rust": [
        (re.compile(r"^\s*(?:pub(?:\(\w+\))? )?(?:async )?fn \w+"), 4),
        (re.compile(r"^\s*(?:use \w+(?:::\w+)+|mod \w+;)"), 3),
        (re.compile(r"^\s*(?:pub )?(?:struct|enum|trait) \w+|^\s*impl\b"), 3),
        (re.compile(r"\blet (?:mut )?\w+"), 1),
        (re.compile(r"^\s*#\[\w+"), 2),
    ],
    "java": [
        (
            re.compile(
                r"^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:class|interface|enum)\s"
            ),
            4,
        ),
        (re.compile(r"^\s*(?:public|private|protected)\s+(?:static\s+)?[\w<>\[\], ]+\s+\w+\s*\("), 3),
        (re.compile(r"^import (?:static )?java[x]?\.|^package [\w.]+;"), 4),
        (re.compile(r"@Override|System\.out\."), 3),
    ],
    "cpp": [
        (re.compile(r"^\s*#\s*(?:include|define|ifndef|pragma)\b"), 4),
        (re.compile(r"\bstd::\w+|\bnullptr\b|^\s*template\s*<"), 3),
        (re.compile(r"^\s*(?:class|struct|namespace) \w+\s*(?:[:{]|$)"), 2),
        (
            re.compile(
                r"^\s*(?:virtual |static |inline |const )*[\w:<>*&]+ [\w:]+\(.*\)\s*(?:const)?\s*\{?$"
            ),
            1,
        ),
    ],
}
_CODE_LINE_CHARS = 240
_CODE_LINE = re.compile(r"[{};:]\s*(?://.*|#.*)?$|^\s*[})\]]|^\s*(?:#|//|/\*|\*|@)")
_EXTENSIONS = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx", ".go": "go", ".rs": "rust", ".java": "java", ".cc": "cpp", ".cpp": "cpp",
    ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".h": "cpp", ".c": "cpp",
}  # fmt: skip


def language_from_path(path: str | None) -> str | None:
    """The language of a file name (``app.py`` -> ``python``), or None."""
    if not path:
        return None
    dot = path.rfind(".")
    return _EXTENSIONS.get(path[dot:].lower()) if dot >= 0 else None


def guess_language(lines: list[str]) -> tuple[str | None, float]:
    """The most likely language of code lines, and the share of lines that look like code."""
    body = [line[:_CODE_LINE_CHARS] for line in lines if line.strip()]  # code signs sit near the start
    if not body:
        return None, 0.0
    scores = dict.fromkeys(_LANGUAGE_SIGNS, 0.0)
    signed = 0
    for line in body:
        hit = False
        for language, signs in _LANGUAGE_SIGNS.items():
            for pattern, weight in signs:
                if pattern.search(line):
                    scores[language] += weight
                    hit = True
        if hit or _CODE_LINE.search(line):
            signed += 1
    if scores["typescript"] > 0:
        scores["typescript"] += scores["javascript"]  # TypeScript is JavaScript with types
    language = max(scores, key=lambda name: scores[name])
    if scores[language] < 3:
        return None, signed / len(body)
    return language, signed / len(body)


# --- prose ------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?:][\"')\]]?\s*$")


def _prose_share(lines: list[str]) -> float:
    """Share of non-blank lines that read as sentences: several words, ending like a sentence."""
    body = [line for line in lines if line.strip()]
    if not body:
        return 0.0
    prose = sum(1 for line in body if line.count(" ") >= 8 and _SENTENCE_END.search(line[-4:]))
    return prose / len(body)


# --- entry point ------------------------------------------------------------------------------------


def detect(text: str, path: str | None = None) -> Detected:
    """The kind (and, for code, the language) of ``text``; ``path`` is a file name hint when known."""
    stripped = text.strip()
    if not stripped:
        return Detected("text")
    prefix = stripped[:_PREFIX]
    lines = sample_lines(stripped)
    if _looks_json_lines(lines):  # before whole-document JSON: JSON lines also start with { and end with }
        logs = sum(1 for line in lines if _LOG_KEYS.search(line))
        return Detected("log" if logs > len(lines) / 2 else "json")
    if _looks_json(stripped):
        return Detected("json")
    if (
        lines
        and _GIT_BLAME.match(lines[0])
        and sum(1 for line in lines if _GIT_BLAME.match(line)) >= 0.9 * len(lines)
    ):
        return Detected("git")  # git blame
    if lines and _GIT_STATUS.match(lines[0]) and any(line.startswith("\t") for line in lines):
        return Detected("git")  # git status
    if lines and _GIT_COMMIT.match(lines[0]) and not any(_HUNK.match(line) for line in lines):
        return Detected("git")  # git log / git show --stat; with a patch in sight, a diff
    if _looks_diff(lines):
        return Detected("diff")
    if _looks_html(prefix):
        return Detected("html")
    searchish = _search_or_diagnostics(lines)
    if searchish is not None:
        return Detected(searchish)
    if _looks_test_run(lines):
        return Detected("tests")
    if _looks_diagnostics(lines):
        return Detected("diagnostics")
    if _looks_listing(lines):
        return Detected("listing")
    hinted = language_from_path(path)
    if hinted is not None:
        return Detected("code", hinted)
    if _log_score(lines) >= 0.5:
        return Detected("log")
    if _prose_share(lines) >= 0.5:
        return Detected("text")
    language, code_share = guess_language(lines)
    if language is not None and code_share >= 0.5:
        return Detected("code", language)
    return Detected("text")
