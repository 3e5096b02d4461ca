"""Signatures survive in every brace language: generated files of the shapes real code takes (generic impls
with ``where`` clauses, annotated Java generics, C++ out-of-class definitions behind macros, JavaScript
prototype assignments). Each signature line must be visible, stripped, inside one output line, as the
benchmark judges it, and the bodies must be gone."""

from __future__ import annotations

import pytest
from headroom._compressors import Job
from headroom._compressors.code import compress
from headroom._markers import Marker, make_ref


def run(text: str, language: str) -> str:
    out = compress(Job(text=text, marker=Marker(make_ref(text), True), language=language))
    assert out is not None, f"{language} source passed through"
    return out


def assert_visible(signature: list[str], out: str) -> None:
    haystack = "\n".join(line.strip() for line in out.splitlines())
    for line in signature:
        assert line.strip() in haystack, f"signature line not visible: {line.strip()!r}"


def body(indent: str, statement: str, lines: int) -> list[str]:
    return [indent + statement.format(i=i) for i in range(lines)]


def rust_source() -> tuple[str, list[list[str]]]:
    signatures = [
        ["impl<'a, R: Read + ?Sized> Reader<'a> for IoReader<R>", "where", "    R: io::Read + Send,",
         "    R::Error: Into<Error>,"],
        ["    fn fill<'s, T, F>(", "        &'s mut self,", "        scratch: &'s mut Vec<u8>,",
         "        result: F,", "    ) -> Result<Reference<'a, 's, T>>", "    where",
         "        T: ?Sized + 's,", "        F: FnOnce(&'s Self, &'s [u8]) -> Result<&'s T>,"],
        ["pub(crate) fn decode_block<const N: usize>(input: &[u8; N], table: &Table) -> Option<u32>"],
        ["pub trait Reader<'de>: private::Sealed"],
        ["    fn position(&self) -> Position;"],
        ["pub enum Reference<'b, 'c, T>", "where", "    T: ?Sized + 'static,"],
    ]  # fmt: skip
    lines = ["use std::io;", "", "/// Reads bytes.", "/// Second line of the doc.", "/// Third line.",
             "///", "/// Fourth, after a blank doc line.", *signatures[3], "{",
             "    /// The current position.", "    /// More about it.", "    /// And more.", *signatures[4],
             "}", "", *signatures[5], "{", "    Borrowed(&'b T),", "    Copied(&'c T),", "}", "",
             "#[cfg(feature = \"std\")]", *signatures[0], "{", *signatures[1], "    {",
             *body("        ", "let step_{i} = scratch.len() + {i};", 12), "        result(self, scratch)",
             "    }", "}", "", "#[inline]", *signatures[2], "{",
             *body("    ", "let part_{i} = table.lookup(input[{i}]);", 10), "    None", "}", ""]  # fmt: skip
    return "\n".join(lines), signatures


def java_source() -> tuple[str, list[list[str]]]:
    signatures = [
        ["@Service", "@RequestMapping(", '    value = "/orders",', '    produces = "application/json")',
         "public final class OrderService<K extends Comparable<? super K>, V> implements Repository<K, V>"],
        ["    @Override", "    @Transactional(readOnly = true)",
         "    public <T extends Collection<? extends V>> Map<K, List<V>> groupAll(", "            T values,",
         "            Function<? super V, ? extends K> key)", "            throws IOException, OrderException"],
        ["    public OrderService(Repository<K, V> delegate, @Nullable Clock clock)"],
        ["    private static <E> void forEachChunk(List<E> items, int size, Consumer<List<E>> action)"],
        ["    public enum Status"],
        ["        Status(int code)"],
        ["interface Repository<K, V>"],
        ["    Optional<V> find(K key);"],
    ]  # fmt: skip
    lines = ["package shop.orders;", "", "import java.util.*;", "", *signatures[6], "{",
             *signatures[7], "}", "", "/**", " * Orders, grouped.", " * Second line.", " */",
             *signatures[0], "{", "    private final Repository<K, V> delegate;", "",
             *signatures[2], "{", *body("        ", "this.step{i} = {i};", 8), "    }", "",
             *signatures[1], "{", *body("        ", "int count{i} = values.size() + {i};", 10),
             "        return null;", "    }", "", *signatures[3], "{",
             *body("        ", "action.accept(items.subList({i}, size));", 9), "    }", "",
             *signatures[4], "{", "        OPEN(1), CLOSED(2);", "        private final int code;",
             *signatures[5], "{", *body("            ", "this.code = code + {i};", 6), "        }", "    }",
             "}", ""]  # fmt: skip
    return "\n".join(lines), signatures


def cpp_source() -> tuple[str, list[list[str]]]:
    signatures = [
        ["struct Ledger::Entry"],
        ["  explicit Entry(port::Mutex* mu)", "      : amount(0), settled(false), cv(mu)"],
        ["Ledger::Ledger(const Options& options, const std::string& name)", "    : env_(options.env),",
         "      name_(name),", "      cache_(new Cache(options.capacity))"],
        ["Status Ledger::Post(const WriteOptions& options, const Slice& key,",
         "                    const Slice& value)"],
        ["Ledger::~Ledger()"],
        ["template <typename T, typename Alloc = std::allocator<T>>",
         "static void Settle(std::vector<T, Alloc>* items, int limit)"],
        ["const Snapshot* Ledger::GetSnapshot() const"],
    ]  # fmt: skip
    lines = ["#include <string>", "", "namespace books {", "", *signatures[0], " {", *signatures[1], " {}",
             "  int amount GUARDED_BY(mu);", "  bool settled GUARDED_BY(mu);", "  port::CondVar cv;", "};", "",
             *signatures[5], " {", *body("  ", "items->at({i}) = limit + {i};", 8), "}", "",
             *signatures[2], " {", *body("  ", "Register({i});", 6), "}", "", *signatures[4], " {",
             *body("  ", "Release({i});", 7), "}", "", "// Posts one entry.", *signatures[3], " {",
             *body("  ", "MutexLock l{i}(&mutex_);", 12), "  return Status::OK();", "}", "",
             *signatures[6], " {", *body("  ", "Touch({i});", 5), "  return nullptr;", "}", "",
             "}  // namespace books", ""]  # fmt: skip
    return "\n".join(lines), signatures


def javascript_source() -> tuple[str, list[list[str]]]:
    signatures = [
        ["res.send = function send(body) {"],
        ["Router.prototype.handle = function handle(req, res, out) {"],
        ["res.contentType =", "res.type = function contentType(type) {"],
        ["module.exports = function createApplication(options) {"],
        ["exports.compile = function (source,", "                            options) {"],
        ["function sendfile(res, file, options, callback) {"],
    ]  # fmt: skip
    lines = ["'use strict';", "", "var http = require('node:http');", "var res = Object.create(http.prototype);",
             ""]  # fmt: skip
    for signature in signatures:
        lines += ["/**", " * Documented.", " * @public", " */", *signature,
                  *body("  ", "this.step{i} = compute({i});", 9), "  return this;", "};", ""]  # fmt: skip
    return "\n".join(lines), signatures


@pytest.mark.parametrize(
    ("language", "source"),
    [("rust", rust_source), ("java", java_source), ("cpp", cpp_source), ("javascript", javascript_source)],
)
def test_every_signature_line_stays_and_bodies_go(language: str, source: object) -> None:
    assert callable(source)
    text, signatures = source()
    out = run(text, language)
    for signature in signatures:
        assert_visible(signature, out)
    for statement in ("step_3", "step3", "Register(3)", "Touch(3)"):
        assert statement not in out
    assert len(out) < 0.8 * len(text)


def test_cpp_macros_the_grammar_cannot_read_do_not_stop_compression() -> None:
    text, _ = cpp_source()
    out = run(text, "cpp")
    assert "  int amount GUARDED_BY(mu);" in out  # the lines the parser could not read stay as written
    assert "{ /* … 13 lines */ }" in out


def test_a_file_mostly_made_of_errors_still_passes_through() -> None:
    text = "\n".join(f"int f{i}(( {{ ]] GUARDED_BY(x) ))" for i in range(40)) + "\n"
    assert compress(Job(text=text, marker=Marker(make_ref(text), True), language="cpp")) is None


def test_rust_doc_comment_runs_keep_their_first_line() -> None:
    text, _ = rust_source()
    out = run(text, "rust")
    assert "/// Reads bytes.\npub trait Reader<'de>: private::Sealed" in out
    assert "    /// The current position.\n    fn position(&self) -> Position;" in out
    assert "Second line of the doc" not in out
