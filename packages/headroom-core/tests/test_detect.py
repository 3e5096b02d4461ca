from __future__ import annotations

import json

import pytest
from headroom._detect import Detected, detect, language_from_path

LOG = "\n".join(
    f"2026-01-0{i % 9 + 1} 10:00:0{i % 10} INFO [main] app: request {i} served" for i in range(30)
)
GREP = "\n".join(f"src/app/module{i % 4}.py:{10 + i}:    def handler_{i}(self):" for i in range(30))
DIFF = "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n-a = 1\n+a = 2\n b = 3\n"
PYTHON = "import os\nfrom typing import Any\n\n\nclass Store:\n    def get(self, key: str) -> Any:\n        return os.environ[key]\n"
GO = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 1\n\tif err != nil {\n\t\treturn\n\t}\n\tfmt.Println(x)\n}\n'
RUST = "use std::io;\n\npub struct Point { x: i32 }\n\nimpl Point {\n    pub fn new() -> Self { Point { x: 0 } }\n}\n"
TS = "export interface User {\n  id: number;\n  name: string;\n}\n\nexport function greet(u: User): string {\n  return u.name;\n}\n"
HTML = "<!DOCTYPE html><html><head><title>x</title></head><body><div><p>Hello</p></div></body></html>"
PROSE = "Headroom keeps what matters.\n\nIt compresses tool outputs before the model reads them, and keeps originals."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps({"items": [{"id": 1}, {"id": 2}]}, indent=2), Detected("json")),
        ('[{"id": 1}, {"id": 2}]', Detected("json")),
        (LOG, Detected("log")),
        (LOG.replace("\n", "\r\n"), Detected("log")),
        (GREP, Detected("search")),
        (DIFF, Detected("diff")),
        (PYTHON, Detected("code", "python")),
        (GO, Detected("code", "go")),
        (RUST, Detected("code", "rust")),
        (TS, Detected("code", "typescript")),
        (HTML, Detected("html")),
        (PROSE, Detected("text")),
        ("", Detected("text")),
        ("   \n\t", Detected("text")),
    ],
)
def test_kinds(text: str, expected: Detected) -> None:
    assert detect(text) == expected


def test_bracketed_log_lines_are_not_json() -> None:
    log = "\n".join(
        f"[Sun Dec 04 04:47:{i:02d} 2005] [error] mod_jk child in error state {i}" for i in range(20)
    )
    assert detect(log).kind == "log"


def test_compiler_diagnostics_are_diagnostics_not_search_hits() -> None:
    text = "\n".join(f"src/main.c:{i}:5: error: expected ';' before '}}' token" for i in range(1, 20))
    assert detect(text).kind == "diagnostics"


def test_json_lines_logs_and_records() -> None:
    logs = "\n".join(json.dumps({"ts": i, "level": "info", "msg": "ok"}) for i in range(10))
    rows = "\n".join(json.dumps({"id": i, "title": f"row {i}"}) for i in range(10))
    assert detect(logs).kind == "log"
    assert detect(rows).kind == "json"


def test_a_file_name_settles_the_language() -> None:
    assert detect("x = 1\n", path="tool.py") == Detected("code", "python")
    assert language_from_path("src/App.TSX") == "tsx"
    assert language_from_path("README") is None


def test_detection_reads_only_a_sample_of_huge_inputs() -> None:
    line = "2026-01-01 10:00:00 INFO served\n"
    text = line * 400_000 + "{ this is not json }"
    assert detect(text).kind == "log"


def test_iso_timestamped_logs_are_not_grep_output() -> None:
    # "2026-03-14T09:00:01.970Z" looks like path "2026-03-14T09", line 00: it is a timestamp
    log = "\n".join(
        f"2026-03-14T09:{i // 60:02d}:{i % 60:02d}.{i:03d}Z INFO worker[{i % 4}]: job {i} finished in {i % 90}ms"
        for i in range(200)
    )
    assert detect(log).kind == "log"
    assert (
        detect("src/app.py:12:def main():\nsrc/app.py:40:    main()\nsrc/b.py:3:import app\n").kind
        == "search"
    )
