from __future__ import annotations

import ast
import json
import re

import pytest
from headroom import Headroom
from headroom._compressors import Job
from headroom._compressors.code import compress
from headroom._markers import MARKER_RE, Marker, make_ref


def python_module() -> str:
    lines = [
        '"""Billing service.',
        "",
        "Computes invoices and talks to the payment provider.",
        '"""',
        "from __future__ import annotations",
        "",
        "import logging",
        "from dataclasses import dataclass",
        "",
        "RETRY_LIMIT = 5",
        "log = logging.getLogger(__name__)",
        "",
        "",
        "@dataclass(frozen=True)",
        "class Invoice:",
        '    """One invoice.',
        "",
        "    Amounts are in cents.",
        '    """',
        "",
        "    customer: str",
        "    amount: int = 0",
        "",
        "    def total(self) -> int:",
        "        return self.amount",
        "",
        "    @property",
        "    def overdue(",
        "        self,",
        "        today: int,",
        "    ) -> bool:",
        '        """Whether the invoice is past due.',
        "",
        "        Compares against the due date.",
        '        """',
        *[f"        step_{i} = today + {i}" for i in range(12)],
        "        return step_11 > 40",
        "",
        "",
        "def charge_card(invoice: Invoice, token: str, *, retries: int = RETRY_LIMIT) -> bool:",
        '    """Charge the card behind token."""',
        "    def attempt(n: int) -> bool:",
        "        return n < retries",
        *[f"    log.info('attempt %s', {i})" for i in range(10)],
        "    return attempt(1)",
        "",
        "",
        "async def refund(invoice: Invoice) -> None:",
        *[f"    await notify_ledger(invoice, {i})" for i in range(8)],
        "",
        "",
        "def notify_ledger(invoice: Invoice, n: int) -> None:",
        *[f"    print('ledger', invoice.customer, {i})" for i in range(8)],
    ]
    return "\n".join(lines) + "\n"


def run(
    text: str, language: str | None = "python", query: str | None = None, budget: float | None = None
) -> str:
    out = compress(
        Job(text=text, query=query, budget=budget, marker=Marker(make_ref(text), True), language=language)
    )
    assert out is not None
    return out


def test_python_keeps_the_shape_and_elides_bodies() -> None:
    out = run(python_module())
    ast.parse(out)
    for kept in [
        "import logging",
        "RETRY_LIMIT = 5",
        "@dataclass(frozen=True)",
        "class Invoice:",
        "    customer: str",
        "    amount: int = 0",
        "    @property",
        "    def overdue(\n        self,\n        today: int,\n    ) -> bool:",
        "def charge_card(invoice: Invoice, token: str, *, retries: int = RETRY_LIMIT) -> bool:",
        "async def refund(invoice: Invoice) -> None:",
        '    """Charge the card behind token."""',
        '"""Billing service.',
        '    """One invoice.',
        '        """Whether the invoice is past due.',
        "    def total(self) -> int:\n        return self.amount",  # a short body stays whole
    ]:
        assert kept in out
    for gone in ["step_5", "def attempt", "Computes invoices", "Amounts are in cents", "Compares against"]:
        assert gone not in out
    assert "        ...  # … 13 lines" in out
    # charge_card: the nested function goes with its body
    assert '"""Charge the card behind token."""\n    ...  # … 13 lines\n' in out
    (marker,) = MARKER_RE.findall(out)
    assert out.startswith("# [… ")
    assert make_ref(python_module()) in out.splitlines()[0]
    assert marker


def test_the_query_keeps_matching_bodies_whole() -> None:
    out = run(python_module(), query="why did the refund fail?")
    assert "    await notify_ledger(invoice, 7)" in out
    assert "step_5" not in out
    by_content = run(python_module(), query="where is 'attempt %s' logged")
    assert "    log.info('attempt %s', 9)" in by_content


def test_a_larger_budget_keeps_more_bodies() -> None:
    small, large = run(python_module(), budget=0.3), run(python_module(), budget=0.9)
    assert large.count("...  # …") < small.count("...  # …")
    ast.parse(large)


def brace_function(language: str, name: str, lines: int) -> list[str]:
    body = {
        "javascript": [f"  console.log('{name}', {i});" for i in range(lines)],
        "typescript": [f"  console.log('{name}', {i});" for i in range(lines)],
        "go": [f'\tfmt.Println("{name}", {i})' for i in range(lines)],
        "rust": [f'    println!("{name} {{}}", {i});' for i in range(lines)],
        "java": [f'        System.out.println("{name}" + {i});' for i in range(lines)],
        "cpp": [f'  std::cout << "{name}" << {i};' for i in range(lines)],
    }[language]
    head = {
        "javascript": f"function {name}(a, b) {{",
        "typescript": f"export function {name}(a: number, b: string): void {{",
        "go": f"func {name}(a int, b string) error {{",
        "rust": f"pub fn {name}(a: i32, b: &str) -> i32 {{",
        "java": f"    public static int {name}(int a, String b) {{",
        "cpp": f"int {name}(int a, const std::string& b) {{",
    }[language]
    close = "    }" if language == "java" else "}"
    return [head, *body, close, ""]


HEADERS = {
    "javascript": ["import fs from 'fs';", "const LIMIT = 10;", ""],
    "typescript": ["import { readFile } from 'fs';", "export interface Options {", "  retries: number;", "}",
                   "export type Mode = 'fast' | 'slow';", ""],
    "go": ["package billing", "", 'import "fmt"', "", "type Invoice struct {", "\tAmount int", "}", ""],
    "rust": ["use std::io;", "", "pub struct Invoice {", "    amount: i32,", "}", ""],
    "java": ["package billing;", "", "import java.util.List;", "", "public class Billing {",
             "    private int retries = 3;", ""],
    "cpp": ["#include <iostream>", "#include <string>", "", "struct Invoice {", "  int amount;", "};", ""],
}  # fmt: skip


@pytest.mark.parametrize("language", ["javascript", "typescript", "go", "rust", "java", "cpp"])
def test_brace_languages_elide_bodies_validly(language: str) -> None:
    lines = list(HEADERS[language])
    for name in ("load_orders", "settle_account", "close_books"):
        lines += brace_function(language, name, 9)
    if language == "java":
        lines.append("}")
    text = "\n".join(lines) + "\n"
    out = run(text, language)
    for header in HEADERS[language]:
        assert header in out
    assert out.count("{ /* … 9 lines */ }") == 3
    assert "settle_account" in out
    assert "println" not in out.lower()
    assert "console.log" not in out
    assert out.splitlines()[0].startswith("// [… 27 lines omitted; headroom_retrieve ref=")


def test_tsx_and_arrow_functions() -> None:
    body = [f"  const row{i} = <li key={{{i}}}>{{items[{i}]}}</li>;" for i in range(8)]
    text = "\n".join(
        [
            "import React from 'react';",
            "",
            "export const List = ({ items }: { items: string[] }): JSX.Element => {",
            *body,
            "  return <ul>{row0}</ul>;",
            "};",
            "",
            *[f"export const limit{i}: number = {i};" for i in range(25)],
        ]
    )
    out = run(text, "tsx")
    assert "export const List = ({ items }: { items: string[] }): JSX.Element => { /* … 9 lines */ };" in out
    assert "export const limit24: number = 24;" in out


def test_comment_runs_keep_their_first_line() -> None:
    lines = ["// Package billing computes invoices.", "// It also talks to the provider.", "// More.",
             "package billing", "", "/**", " * Charge runs a payment.", " * Second line.", " */",
             "func Charge() int {", *[f"\tx := {i}" for i in range(30)], "\treturn 1", "}"]  # fmt: skip
    out = run("\n".join(lines), "go")
    assert "// Package billing computes invoices.\npackage billing" in out
    assert "/**\n * Charge runs a payment.\n */\nfunc Charge() int { /* … 31 lines */ }" in out


def test_anonymous_wrappers_are_looked_into() -> None:
    tests = [f"  it('case {n}', () => {{\n" + "".join(f"    expect({n}).toBe({i});\n" for i in range(6)) + "  });"
             for n in range(6)]  # fmt: skip
    text = "describe('billing', () => {\n" + "\n".join(tests) + "\n});\n"
    out = run(text, "javascript")
    assert out.count("/* … 6 lines */") == 6
    assert "it('case 5', () => { /* … 6 lines */ });" in out


@pytest.mark.parametrize(
    "text",
    [
        "def broken(:\n" + "    x = 1\n" * 40,  # a syntax error
        "def f():\n    return 1\n",  # small
        "function a(){" + "var x=1;" * 5000 + "}\n" * 30,  # minified
    ],
)
def test_what_cannot_be_parsed_or_is_not_worth_it_passes(text: str) -> None:
    assert (
        compress(
            Job(
                text=text,
                query=None,
                budget=None,
                marker=Marker("0" * 24, True),
                language="python" if "def" in text else "javascript",
            )
        )
        is None
    )


def test_the_language_is_guessed_when_unknown() -> None:
    assert "...  # … 13 lines" in run(python_module(), None)


def test_output_is_deterministic() -> None:
    assert run(python_module(), query="refund") == run(python_module(), query="refund")


def test_through_the_engine_with_a_path_hint(hr: Headroom) -> None:
    lines = list(HEADERS["rust"])
    for name in ("load", "settle", "close"):
        lines += brace_function("rust", name, 12)
    source = "\n".join(lines)
    result = hr.compress_text(source, path="src/billing.rs")
    assert (result.kind, result.language, result.outcome) == ("code", "rust", "compressed")
    assert hr.retrieve(result.ref or "") == source


def test_a_tool_calls_path_argument_is_the_language_hint(hr: Headroom) -> None:
    lines = list(HEADERS["go"])
    for name in ("Load", "Settle", "Close"):
        lines += brace_function("go", name, 12)
    source = "\n".join(lines)
    messages = [
        {"role": "user", "content": "read the billing code"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {
                        "name": "read_file",
                        "arguments": json.dumps({"path": "billing/billing.go"}),
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": source},
    ]
    out = hr.compress(messages).messages[2]["content"]
    assert "func Settle(a int, b string) error { /* … 12 lines */ }" in out
    assert re.search(r"^// \[… 36 lines omitted", out)
