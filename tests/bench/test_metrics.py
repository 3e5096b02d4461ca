"""The benchmark's metric functions on small hand-made inputs: the judge must be right before it judges.

No corpus and no engine: every input is written here, and every function under test is pure.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from bench._anomaly import is_id_column, render, retained_records, robust_outliers
from bench._code import (
    cpp_signatures,
    go_signatures,
    java_signatures,
    js_signatures,
    python_parses,
    python_signatures,
    rust_signatures,
    signature_recall,
    ts_signatures,
)
from bench._core import Summary, ratio, share
from bench._diff import classify_diff, diff_coverage, literal_coverage
from bench._html import build_page, html_coverage
from bench._json import anomaly_retention, key_coverage, key_paths, key_visible
from bench._json import pick_query as pick_json_query
from bench._log import (
    LogRecord,
    check_level_query,
    compile_template,
    critical_coverage,
    critical_lines,
    level_queries,
    parse_structured,
    pick_query,
    template_coverage,
    template_covers,
    template_words,
)
from bench._retrieval import check_line_retrieval, page_through, split_lines
from bench._search import parse_hits, pick_queries, search_coverage
from bench._text import (
    BM25Baseline,
    answer_retained,
    first_non_extractive,
    normalize_answer,
    split_sentences,
    strip_markers,
)

# --- log -----------------------------------------------------------------------------------------------

# (level, content, event id, template); the raw line is "<time> <level> <content>".
LOG = [
    ("INFO", "Started service alpha on port 8080", "E1", "Started service <*> on port <*>"),
    ("INFO", "Started service beta on port 8081", "E1", "Started service <*> on port <*>"),
    ("ERROR", "Connection refused by database primary", "E2", "Connection refused by database <*>"),
    ("ERROR", "Disk quota exceeded for volume data01", "E3", "Disk quota exceeded for volume <*>"),
    ("ERROR", "Connection refused by database replica", "E2", "Connection refused by database <*>"),
    ("WARN", "Slow response from upstream", "E4", "Slow response from upstream"),
    ("INFO", "Connection established to database primary", "E5", "Connection established to database <*>"),
]


LogFixture = tuple[str, list[str], list[LogRecord]]


def make_log(rows: list[tuple[str, str, str, str]]) -> tuple[str, str]:
    """(the raw log with CRLF line ends, its loghub-style structured CSV)."""
    raw = "".join(f"10:00:{i:02d} {level} {content}\r\n" for i, (level, content, _, _) in enumerate(rows))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["LineId", "Level", "Content", "EventId", "EventTemplate"])
    for i, row in enumerate(rows, 1):
        writer.writerow([i, *row])
    return raw, out.getvalue()


@pytest.fixture
def log() -> LogFixture:
    raw, structured = make_log(LOG)
    return raw, split_lines(raw), parse_structured(structured)


def test_split_lines_drops_cr_and_the_phantom_last_line() -> None:
    assert split_lines("a\r\nb\r\n") == ["a", "b"]
    assert split_lines("a\nb") == ["a", "b"]


def test_identity_output_keeps_every_template(log: LogFixture) -> None:
    raw, lines, records = log
    assert critical_coverage(records, raw) == (2, 2)
    coverage = template_coverage(records, lines, raw)
    assert (coverage.covered, coverage.total, coverage.verbatim) == (5, 5, 5)


def test_output_missing_a_critical_line_scores_less(log: LogFixture) -> None:
    _, lines, records = log
    output = "\n".join(line for line in lines if "Disk quota" not in line)
    assert critical_coverage(records, output) == (1, 2)
    coverage = template_coverage(records, lines, output)
    assert coverage.covered == 4
    assert coverage.missing == ("E3",)


def test_empty_output_scores_zero(log: LogFixture) -> None:
    _, lines, records = log
    assert critical_coverage(records, "") == (0, 2)
    assert template_coverage(records, lines, "").covered == 0


def test_critical_set_falls_back_to_warn_then_to_none() -> None:
    _, structured = make_log([r for r in LOG if r[0] != "ERROR"])
    warn_only = parse_structured(structured)
    assert [r.event_id for r in critical_lines(warn_only) or []] == ["E4"]
    _, structured = make_log([r for r in LOG if r[0] == "INFO"])
    info_only = parse_structured(structured)
    assert critical_lines(info_only) is None
    assert critical_coverage(info_only, "") is None


def test_level_is_matched_case_insensitively() -> None:
    _, structured = make_log(
        [("error", "mod_jk child in error state 6", "E1", "mod_jk child in error state <*>")]
    )
    assert critical_coverage(parse_structured(structured), "mod_jk child in error state 6") == (1, 1)


def test_counted_template_line_covers_its_event(log: LogFixture) -> None:
    _, lines, records = log
    output = "[×2 10:00:00-10:00:01] Started service <*> on port <*>\n"
    coverage = template_coverage(records, lines, output)
    assert (coverage.covered, coverage.by_template, coverage.template_lines) == (1, 1, 1)
    assert "E1" not in coverage.missing


def test_wildcard_only_template_covers_nothing(log: LogFixture) -> None:
    _, lines, records = log
    assert compile_template("<*>") is None
    assert compile_template("<*> <*>") is None
    output = "[×7] <*>\n[×7] <*> <*>\n[×2] S<*>\n"
    assert template_coverage(records, lines, output).covered == 0


def test_template_must_match_and_show_every_ground_truth_word() -> None:
    template = compile_template("Connection refused <*>")
    assert template is not None
    words = template_words("Connection refused <*>")
    assert template_covers(template, "10:00 ERROR Connection refused by a very long tail of words  ", words)
    assert not template_covers(template, "10:00 ERROR something else entirely", words)
    vague = compile_template("Connection <*>")
    assert vague is not None
    assert not template_covers(vague, "10:00 ERROR Connection refused by db", words)


def test_query_is_the_rarest_word_of_the_most_critical_template(log: LogFixture) -> None:
    _, lines, records = log
    query = pick_query(records, lines)
    assert query is not None
    # E2 has two ERROR lines; "Connection" and "database" also occur in E5's line, "refused" does not.
    assert (query.event_id, query.word, query.event_lines) == ("E2", "refused", (3, 5))


def _retrieval(header: str, *numbers: int, lines: list[str]) -> str:
    return "\n".join([header, *(f"{n}\t{lines[n - 1]}" for n in numbers)])


def test_line_retrieval_checks(log: LogFixture) -> None:
    _, lines, _ = log
    full = '[headroom_retrieve: 2 of 7 lines match "refused"; showing 2, ranked 1-2]'
    assert check_line_retrieval(_retrieval(full, 3, 5, lines=lines), "refused", lines).passed
    assert check_line_retrieval(_retrieval(full, 5, 3, lines=lines), "refused", lines).passed  # ranked
    capped = '[headroom_retrieve: 2 of 7 lines match "refused"; showing 1, ranked 1-1; 1 more: offset=1]'
    first = check_line_retrieval(_retrieval(capped, 5, lines=lines), "refused", lines)
    assert first.passed
    assert first.capped
    uncounted = '[headroom_retrieve: 2 of 7 lines match "refused"; showing 1, ranked 1-1]'
    assert not check_line_retrieval(_retrieval(uncounted, 3, lines=lines), "refused", lines).passed
    assert not check_line_retrieval(_retrieval(full, 3, lines=lines), "refused", lines).passed
    wrong_number = full + f"\n3\t{lines[2]}\n4\t{lines[4]}"
    assert not check_line_retrieval(wrong_number, "refused", lines).passed
    assert not check_line_retrieval("3\tsomething", "refused", lines).passed
    nothing = '[headroom_retrieve: 2 of 7 lines match "refused"; showing 0]'
    assert not check_line_retrieval(nothing, "refused", lines).passed
    summary = "\n".join([capped, "templates of the matches (count, first, template):", "  ×2 line 3: x",
                         "matches, best first:", f"3\t{lines[2]}"])  # fmt: skip
    assert check_line_retrieval(summary, "refused", lines).passed


def test_paging_must_show_every_match_once(log: LogFixture) -> None:
    _, lines, _ = log
    pages = {
        0: _retrieval('[headroom_retrieve: 2 of 7 lines match "refused"; showing 1, ranked 1-1; 1 more: offset=1]',
                      5, lines=lines),
        1: _retrieval('[headroom_retrieve: 2 of 7 lines match "refused"; showing 1, ranked 2-2]', 3, lines=lines),
    }  # fmt: skip
    check, order, read = page_through(pages.__getitem__, "refused", lines)
    assert check.passed
    assert order == [5, 3]
    assert len(read) == 2
    pages[1] = pages[1].replace("\n3\t", "\n5\t").replace(lines[2], lines[4])
    assert not page_through(pages.__getitem__, "refused", lines)[0].passed


def test_level_queries_want_that_level_first_and_its_templates_summarised(log: LogFixture) -> None:
    _, lines, records = log
    assert level_queries(records) == {"ERROR": {3, 4, 5}, "WARN": {6}}
    head = '[headroom_retrieve: 4 of 7 lines match "ERROR"; showing {k}, ranked 1-{k}{more}]'

    def answer(*numbers: int, summary: list[str] | None = None, more: str = "") -> str:
        page = _retrieval(head.format(k=len(numbers), more=more), *numbers, lines=lines)
        if summary is None:
            return page
        top, _, rest = page.partition("\n")
        return "\n".join([top, "templates of the matches (count, first, template):", *summary,
                          "matches, best first:", rest])  # fmt: skip

    one_page = answer(4, 3, 5, 7)
    assert check_level_query(lambda _: one_page, "ERROR", {3, 4, 5}, records, lines)[0]
    late = answer(4, 7, 3, 5)
    assert not check_level_query(lambda _: late, "ERROR", {3, 4, 5}, records, lines)[0]
    groups = [
        "  ×2 line 3: Connection refused by database <*>",
        "  ×1 line 4: Disk quota exceeded for volume data01",
    ]
    paged = answer(3, 4, summary=groups, more="; 2 more: offset=2")
    rest = '[headroom_retrieve: 4 of 7 lines match "ERROR"; showing 2, ranked 3-4]\n' + "\n".join(
        f"{n}\t{lines[n - 1]}" for n in (5, 7)
    )
    fetch = {0: paged, 2: rest}.__getitem__
    assert check_level_query(fetch, "ERROR", {3, 4, 5}, records, lines)[0]
    thin = answer(3, 4, summary=groups[:1], more="; 2 more: offset=2")
    verdict = check_level_query({0: thin, 2: rest}.__getitem__, "ERROR", {3, 4, 5}, records, lines)
    assert verdict == (False, "summary shows 1 of 2 ERROR templates")


# --- json ----------------------------------------------------------------------------------------------


def item(n: int, status: int = 200, kind: str = "a", size: int = 10) -> dict[str, object]:
    return {"id": f"rec-{n}", "status": status, "kind": kind, "size": size, "user": {"login": f"user{n}"}}


DOC: dict[str, object] = {
    "items": [
        {**item(1), "tags": [{"name": "x"}]},
        item(2, size=11),
        item(3, status=500, size=12),
        item(4, kind="b", size=9),
        item(5),
        item(6, size=900),
        item(7, size=11),
    ],
    "meta": {"page": 1},
}


def test_key_paths_collapse_array_indices() -> None:
    assert set(key_paths(DOC)) == {
        "items",
        "items[].id",
        "items[].status",
        "items[].kind",
        "items[].size",
        "items[].user",
        "items[].user.login",
        "items[].tags",
        "items[].tags[].name",
        "meta",
        "meta.page",
    }


def test_key_coverage_full_for_identity_and_less_when_a_key_is_gone() -> None:
    text = json.dumps(DOC, indent=2)
    assert key_coverage(DOC, text) == (11, 11, [])
    covered, total, missing = key_coverage(DOC, text.replace('"login"', '"who"'))
    assert (covered, total, missing) == (10, 11, ["items[].user.login"])
    assert key_coverage(DOC, "")[0] == 0


def test_key_must_appear_as_a_whole_word() -> None:
    assert key_visible("id", '{"id": 1}')
    assert key_visible("id", "id,kind")
    assert not key_visible("id", "idx node-id ids")


def test_anomalies_found_in_a_hand_made_document() -> None:
    kept = {entry.path: entry for entry in retained_records(DOC)}
    # first and last of each array, status 500, rare kind "b", size outlier 900, the one-element tags array
    assert set(kept) == {"items[0]", "items[6]", "items[2]", "items[3]", "items[5]", "items[0].tags[0]"}
    assert "status=500" in kept["items[2]"].reasons
    assert 500 in kept["items[2]"].values
    assert 'rare kind="b"' in kept["items[3]"].reasons
    assert any(reason.startswith("outlier size=") for reason in kept["items[5]"].reasons)
    assert "items[1]" not in kept  # size 11 is ordinary, kind "a" is common


def test_query_keeps_only_the_deepest_matching_records() -> None:
    kept = {entry.path: entry for entry in retained_records(DOC, query="X")}
    assert "query" in kept["items[0].tags[0]"].reasons
    assert "query" not in kept["items[0]"].reasons
    kept = {entry.path: entry for entry in retained_records(DOC, query="user2")}
    assert kept["items[1]"].reasons == ["query"]


def test_id_url_and_timestamp_columns_are_not_categorical() -> None:
    assert is_id_column("created_at", ["x"])
    assert is_id_column("user.html_url", ["x"])
    assert is_id_column("userId", ["x"])
    assert is_id_column("ref", ["https://example.com/a"])
    assert is_id_column("when", ["2024-01-02T10:00:00Z"])
    assert is_id_column("checksum", ["0123456789abcdef0"])
    assert not is_id_column("state", ["open", "closed"])
    records = [{"id": n, "created_at": "2024-01-01" if n < 4 else "2024-02-02"} for n in range(5)]
    assert {entry.path for entry in retained_records({"r": records})} == {"r[0]", "r[4]"}


def test_robust_z_and_the_mad_zero_fallback() -> None:
    assert robust_outliers([10, 11, 12, 9, 10, 900, 11]) == [5]  # MAD = 1
    assert robust_outliers([5, 5, 5, 5, 5, 100]) == [5]  # MAD = 0: mean absolute deviation instead
    assert robust_outliers([5, 5, 5, 5]) == []  # no spread at all: no outliers
    assert robust_outliers([1, 2, 1000]) == []  # fewer than 4 values


def test_anomaly_visibility_needs_identity_and_value() -> None:
    retained = retained_records(DOC)
    assert anomaly_retention(retained, json.dumps(DOC)) == (6, 6, [])
    assert anomaly_retention(retained, "")[0] == 0
    without_500 = json.dumps(DOC).replace("500", "5xx")
    visible, total, missing = anomaly_retention(retained, without_500)
    assert (visible, total) == (5, 6)
    assert missing[0].startswith("items[2]")
    items = DOC["items"]
    assert isinstance(items, list)
    shown = json.dumps({**DOC, "items": [r for i, r in enumerate(items) if i != 3]})
    visible, total, missing = anomaly_retention(retained, shown)
    assert (visible, total) == (5, 6)
    assert missing[0].startswith("items[3]")


def test_record_without_identity_needs_its_short_scalars() -> None:
    doc = {"rows": [{"a": 1, "b": "y" * 81, "c": "short"}, {"a": 2, "c": "other"}]}
    retained = retained_records(doc)
    assert anomaly_retention(retained, "1 short 2 other")[0] == 2  # the 81-character value is not needed
    assert anomaly_retention(retained, "1 2 other")[0] == 1


def test_values_render_as_in_json() -> None:
    assert render(None) == ("null",)
    assert render(True) == ("true",)
    assert render(1.5) == ("1.5",)
    assert render('say "hi"') == ('say "hi"', 'say \\"hi\\"')


def test_json_query_is_the_middle_record_of_the_deepest_array() -> None:
    doc = [{"name": "top", "children": [{"name": f"c{i}"} for i in range(5)]}]
    assert pick_json_query(doc, "x.json") == ("c2", "[0].children[2].name")
    assert pick_json_query({"a": 1}, "x.json") is None


# --- search --------------------------------------------------------------------------------------------

GREP = "src/a.py:1:def alpha():\nsrc/a.py:9:    raise ValueError('alpha')\nsrc/b.py:2:def beta(x):\n"


def test_search_coverage() -> None:
    hits = parse_hits(GREP + "not a hit line\n")
    assert [(h.path, h.line) for h in hits] == [("src/a.py", 1), ("src/a.py", 9), ("src/b.py", 2)]
    full = search_coverage(hits, GREP, "alpha")
    assert (full.paths, full.hits, full.complete) == ((2, 2), (2, 2), True)
    assert search_coverage(hits, GREP, None).hits == (2, 2)
    assert search_coverage(hits, "src/a.py def alpha():", None).paths == (1, 2)
    empty = search_coverage(hits, "", "alpha")
    assert (empty.paths, empty.hits) == ((0, 2), (0, 2))


def test_search_queries_are_spread_over_1_to_10_percent() -> None:
    words = {"alpha": 1, "bravo": 2, "golf": 3, "charlie": 5, "delta": 7, "echo": 10, "foxtrot": 11}
    text = "".join(
        f"f.py:{i}:x = common {' '.join(w for w, n in words.items() if i < n)}\n" for i in range(100)
    )
    picked = pick_queries(parse_hits(text))
    assert [word for word, _ in picked] == ["alpha", "bravo", "golf", "delta", "echo"]
    assert picked[0][1] == pytest.approx(0.01)


# --- code ----------------------------------------------------------------------------------------------

PY = """import functools


@functools.cache
@register(
    "x",
)
def load(path: str,
         mode: str = "r") -> bytes:  # trailing comment
    def inner():  # nested in a function: not a definition the metric asks for
        return 1
    return b""


class Store(Base, metaclass=Meta):
    \"\"\"A store.\"\"\"

    limit: int = 3

    async def fetch(
        self,
        # a colon inside brackets is not the body's
        key=lambda k: k[0],  # kept: part of the line
    ) -> dict[str, int]:
        return {}

    class Inner:
        def one(self): return 1
"""


def test_python_signatures_cover_decorators_multiline_and_class_members() -> None:
    found = {s.name: s for s in python_signatures(PY)}
    assert list(found) == ["load", "Store", "fetch", "Inner", "one"]
    assert found["load"].line == 4
    assert found["load"].lines == (
        "@functools.cache",
        "@register(",
        '"x",',
        ")",
        "def load(path: str,",
        'mode: str = "r") -> bytes:',
    )
    assert found["Store"].lines == ("class Store(Base, metaclass=Meta):",)
    # the comment line inside the parameters is dropped; the one-line def is cut at its body's colon
    assert found["fetch"].lines == (
        "async def fetch(",
        "self,",
        "key=lambda k: k[0],  # kept: part of the line",
        ") -> dict[str, int]:",
    )
    assert found["one"].lines == ("def one(self):",)


def test_signature_recall_needs_every_line_inside_one_output_line() -> None:
    found = python_signatures(PY)
    full = signature_recall(found, PY)
    assert full.complete
    assert full.lines == (13, 13)
    squeezed = PY.replace('         mode: str = "r") -> bytes:', "         mode) -> bytes:")
    partial = signature_recall(found, squeezed)
    assert partial.definitions == (4, 5)
    assert partial.missing == ("load (line 4)",)
    assert signature_recall(found, "").definitions == (0, 5)


def test_python_parses() -> None:
    assert python_parses(PY)
    assert not python_parses("def f(:\n")
    assert not python_parses("def f():\n[… 3 lines omitted; ref=0123456789abcdef01234567]x\n")


GO = """package main

type Options struct {
\tName string
}

type (
\tID    int
\tNamer interface {
\t\tName() string
\t}
)

// Run runs.
func Run(ctx context.Context,
\topts Options) error {
\treturn nil
}

func (c *Command) Name() string { return c.name }
"""


def test_go_signatures_stop_at_the_body_brace() -> None:
    found = [(s.name, s.lines) for s in go_signatures(GO)]
    assert found == [
        ("Options", ("type Options struct",)),
        ("ID", ("ID    int",)),
        ("Namer", ("Namer interface",)),
        ("Run", ("func Run(ctx context.Context,", "opts Options) error")),
        ("Name", ("func (c *Command) Name() string",)),
    ]
    assert signature_recall(go_signatures(GO), GO).complete


TS = """export interface Shape<T> extends Base {
  size: T;
}
export type Pair = [string, number];
export type Opts = {
  deep: boolean;
};
const helper = <T>(x: T): T => x;
export abstract class Zod<Out> {
  readonly _type!: Out;
  static create = (params?: Params): Zod<unknown> => {
    return new Zod(params);
  };
  parse(data: unknown): Out {
    return data as Out;
  }
  abstract check(input: Input): Result;
}
export { helper as h };
"""


def test_ts_signatures_cover_declarations_and_class_members() -> None:
    found = [(s.name, s.lines) for s in ts_signatures(TS)]
    assert found == [
        ("Shape", ("export interface Shape<T> extends Base",)),
        ("Pair", ("export type Pair = [string, number];",)),
        ("Opts", ("export type Opts =",)),
        ("helper", ("const helper = <T>(x: T): T =>",)),
        ("Zod", ("export abstract class Zod<Out>",)),
        ("_type", ("readonly _type!: Out",)),
        ("create", ("static create = (params?: Params): Zod<unknown> =>",)),
        ("parse", ("parse(data: unknown): Out",)),
        ("check", ("abstract check(input: Input): Result",)),
    ]


RUST = """/// Docs.
#[inline]
pub fn read<R>(r: &mut R) -> u8
where
    R: Read,
{
    0
}
impl<'a, R: Read + ?Sized> Reader<'a> for Io<R> {
    type Item = u8;
    fn next(&mut self) -> u8 { 0 }
}
mod private {
    pub trait Sealed {}
}
type Alias = Vec<u8>;
"""


def test_rust_signatures_cover_impls_where_clauses_and_modules() -> None:
    found = [(s.name, s.lines) for s in rust_signatures(RUST)]
    assert found == [
        ("read", ("pub fn read<R>(r: &mut R) -> u8", "where", "R: Read,")),
        ("Io<R>", ("impl<'a, R: Read + ?Sized> Reader<'a> for Io<R>",)),
        ("Item", ("type Item = u8;",)),
        ("next", ("fn next(&mut self) -> u8",)),
        ("private", ("mod private",)),
        ("Sealed", ("pub trait Sealed",)),
        ("Alias", ("type Alias = Vec<u8>;",)),
    ]


JAVA = """@Service
public class Orders<K extends Comparable<K>> {
    private int n;
    @Override
    public <T> List<T> all(T a,
                           int b) throws IOException {
        return null;
    }
    enum Kind { A, B; Kind() {} }
}
"""


def test_java_signatures_cover_annotations_members_and_nested_types() -> None:
    found = [(s.name, s.lines) for s in java_signatures(JAVA)]
    assert found == [
        ("Orders", ("@Service", "public class Orders<K extends Comparable<K>>")),
        ("all", ("@Override", "public <T> List<T> all(T a,", "int b) throws IOException")),
        ("Kind", ("enum Kind",)),
        ("Kind", ("Kind()",)),
    ]


CPP = """namespace db {
struct Impl::Writer {
  explicit Writer(int mu) : mu_(mu) {}
  int Size() const;
};
template <class T>
static void Clip(T* p) { }
Status Impl::Get(const Options& o,
                 Slice key) {
  return Status();
}
}  // namespace db
"""


def test_cpp_signatures_cover_out_of_class_definitions_and_members() -> None:
    found = [(s.name, s.lines) for s in cpp_signatures(CPP)]
    assert found == [
        ("Impl::Writer", ("struct Impl::Writer",)),
        ("Writer", ("explicit Writer(int mu) : mu_(mu)",)),
        ("Size", ("int Size() const;",)),
        ("Clip", ("template <class T>", "static void Clip(T* p)")),
        ("Impl::Get", ("Status Impl::Get(const Options& o,", "Slice key)")),
    ]


JS = """var res = module.exports = {};
res.send = function send(body) {
  return 1;
};
res.type =
res.contentType = function (t) {};
function helper(a) {}
const arrow = (x) => { return x; };
class A { m() {} }
"""


def test_js_signatures_cover_property_assignments() -> None:
    found = [(s.name, s.lines) for s in js_signatures(JS)]
    assert found == [
        ("res.send", ("res.send = function send(body)",)),
        ("res.type", ("res.type =", "res.contentType = function (t)")),
        ("helper", ("function helper(a)",)),
        ("arrow", ("const arrow = (x) =>",)),
        ("A", ("class A",)),
        ("m", ("m()",)),
    ]


# --- diff ----------------------------------------------------------------------------------------------


def _diff(added: int, removed: int) -> str:
    body = "".join(f"+new {i}\n" for i in range(added)) + "".join(f"-old {i}\n" for i in range(removed))
    return (
        "commit 0123abcd\nAuthor: A <a@b>\n\n    --- not a header: a commit message line\n\n"
        "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n"
        f"@@ -1,{removed + 2} +1,{added + 2} @@ def f():\n context\n{body} context\n"
    )


def test_diff_lines_are_classified_by_hunk_counts() -> None:
    text = (
        "diff --git a/a.sql b/a.sql\nnew file mode 100644\n--- /dev/null\n+++ b/a.sql\n"
        "@@ -0,0 +1,2 @@\n+-- a SQL comment\n+select 1;\n"
        "diff --git a/b.sql b/b.sql\n--- a/b.sql\n+++ b/b.sql\n@@ -1,2 +1 @@\n--- old comment\n"
        " keep\n\\ No newline at end of file\nBinary files a/c.png and b/c.png differ\n"
    )
    found = [(line.role, line.text) for line in classify_diff(text)]
    assert found == [
        ("header", "diff --git a/a.sql b/a.sql"),
        ("header", "new file mode 100644"),
        ("header", "--- /dev/null"),
        ("header", "+++ b/a.sql"),
        ("changed", "+-- a SQL comment"),
        ("changed", "+select 1;"),
        ("header", "diff --git a/b.sql b/b.sql"),
        ("header", "--- a/b.sql"),
        ("header", "+++ b/b.sql"),
        ("changed", "--- old comment"),  # a removed line, not a header: the hunk still expects one
        ("header", "Binary files a/c.png and b/c.png differ"),
    ]


def test_only_pure_blocks_over_50_lines_may_collapse() -> None:
    pure = classify_diff(_diff(added=60, removed=0))
    changed = [line for line in pure if line.role == "changed"]
    assert [line.text for line in changed] == ["+new 0", "+new 59"]
    assert sum(1 for line in pure if line.role == "collapsible") == 58
    assert sum(1 for line in pure if line.pure_hunk) == 58
    assert all(
        line.role == "changed"
        for line in classify_diff(_diff(added=50, removed=0))
        if line.text[:4] == "+new"
    )
    mixed = classify_diff(_diff(added=60, removed=1))  # a pure block of 60 inside a mixed hunk
    assert sum(1 for line in mixed if line.role == "changed") == 3
    assert not any(line.pure_hunk for line in mixed)
    assert literal_coverage(mixed, "+new 0\n+new 59\n-old 0") == (3, 61)


def test_generated_files_collapse_from_20_lines() -> None:
    lock = _diff(added=25, removed=0).replace("x.py", "uv.lock")
    assert sum(1 for line in classify_diff(lock) if line.role == "collapsible") == 23
    assert not any(line.role == "collapsible" for line in classify_diff(_diff(added=25, removed=0)))


def test_diff_coverage_counts_repeated_lines() -> None:
    text = _diff(added=3, removed=0).replace("+new 1", "+new 0")  # "+new 0" twice
    lines = classify_diff(text)
    assert diff_coverage(lines, text).complete
    once = text.replace("+new 0\n", "", 1)
    coverage = diff_coverage(lines, once)
    assert (coverage.headers, coverage.changed) == ((3, 3), (2, 3))
    collapsed = _diff(added=60, removed=0)
    kept = "\n".join(
        line for line in collapsed.split("\n") if not line.startswith("+new") or line in ("+new 0", "+new 59")
    )
    assert diff_coverage(
        classify_diff(collapsed), kept + "\n[… 58 lines omitted; ref=0123456789abcdef01234567]"
    ).complete


# --- text ----------------------------------------------------------------------------------------------


def test_squad_normalisation() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theory of the firm") == "theory of firm"
    assert normalize_answer("U.S.-based") == "usbased"
    assert answer_retained(["nope", "the Tower"], normalize_answer("See the EIFFEL tower."))
    assert not answer_retained(["Louvre"], normalize_answer("See the Eiffel Tower."))


SOURCE = "Alpha one. Beta two. Gamma three.\n\nDelta four. Epsilon five."


def test_extractiveness_accepts_ordered_pieces_with_markers() -> None:
    output = (
        "Alpha one. … Gamma three.\n…\n[…]\nEpsilon five.\n"
        "[… 2 sentences omitted; headroom_retrieve ref=0123456789abcdef01234567]"
    )
    assert strip_markers(output) == ["Alpha one.", "Gamma three.", "Epsilon five."]
    assert first_non_extractive(output, SOURCE) is None
    assert first_non_extractive("", SOURCE) is None


def test_extractiveness_rejects_rewording_reordering_and_joins() -> None:
    assert first_non_extractive("Alpha 1.", SOURCE) == "Alpha 1."
    assert first_non_extractive("Delta four.\nAlpha one.", SOURCE) == "Alpha one."
    assert first_non_extractive("Alpha one. Gamma three.", SOURCE) == "Alpha one. Gamma three."
    assert first_non_extractive("Gamma three.\nGamma three.", SOURCE) == "Gamma three."


def test_sentences_split_on_terminal_punctuation_then_capital_or_newline() -> None:
    text = "Dr. Smith arrived at 3 p.m. yesterday. Then he left! Why?\nNew line. lower case stays"
    assert split_sentences(text) == [
        "Dr.",
        "Smith arrived at 3 p.m. yesterday.",
        "Then he left!",
        "Why?",
        "New line. lower case stays",
    ]


def test_bm25_baseline_keeps_the_relevant_sentence_within_budget() -> None:
    text = (
        "The river flows north through the valley. Farmers grow wheat and barley on its banks. "
        "The castle was built in 1204 by Duke Robert. Tourists visit the market every summer."
    )
    baseline = BM25Baseline(text, lambda s: len(s.split()))
    scores = baseline.scores("Who built the castle?")
    assert scores.index(max(scores)) == 2
    assert baseline.select("Who built the castle?", 0.35) == "The castle was built in 1204 by Duke Robert."
    both = baseline.select("When was the castle built and what do farmers grow?", 0.6)
    assert both.split("\n") == [
        "Farmers grow wheat and barley on its banks.",
        "The castle was built in 1204 by Duke Robert.",
    ]
    assert baseline.select("castle", 0.01) == ""


# --- html ----------------------------------------------------------------------------------------------


def test_html_pages_are_deterministic_and_judged() -> None:
    page = build_page("docs", 1)
    assert page.html == build_page("docs", 1).html
    assert page.html != build_page("docs", 2).html
    raw = html_coverage(page, page.html)
    assert raw.headings == (5, 5)
    assert raw.code == (len(page.code), len(page.code))
    assert raw.leaked == (len(page.hidden), len(page.hidden))
    clean = "\n".join(
        ["# " + page.headings[0], *(f"## {h}" for h in page.headings[1:]), "```", *page.code, "```"]
    )
    judged = html_coverage(page, clean)
    assert (judged.headings, judged.code, judged.leaked[0]) == ((5, 5), raw.code, 0)
    assert html_coverage(page, clean.replace("Sizing the pool", "Sizing")).headings == (4, 5)


# --- ratio ---------------------------------------------------------------------------------------------


def test_identity_ratio_is_one_and_empty_output_has_none() -> None:
    group = Summary(
        cases=2, tokens_in=300, tokens_out=300, round_trips=0, with_ref=0, errors=0, ms=1, encode_ms=1
    )
    assert group.ratio == 1.0
    assert ratio(100, 0) is None
    assert share(0, 0) == 1.0
