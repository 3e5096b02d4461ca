from __future__ import annotations

from headroom._compressors import Job
from headroom._compressors.search import compress
from headroom._markers import MARKER_RE, Marker, make_ref


def grep_output() -> str:
    lines = []
    for f in range(12):
        for hit in range(40 if f < 3 else 3):
            word = "timeout" if (f, hit) in {(1, 17), (2, 31), (7, 1)} else "handler"
            lines.append(
                f"src/pkg/module_{f}.py:{10 + hit * 7}:    def {word}_{hit}(self, request: Request) -> Response:"
            )
    return "\n".join(lines) + "\n"


def run(text: str, query: str | None = None, budget: float | None = None) -> str:
    out = compress(Job(text=text, query=query, budget=budget, marker=Marker(make_ref(text), True)))
    assert out is not None
    return out


def test_every_file_keeps_its_path_count_and_a_hit() -> None:
    out = run(grep_output())
    for f in range(12):
        assert f"src/pkg/module_{f}.py: " in out
    assert "src/pkg/module_0.py: 40 hits," in out
    assert "src/pkg/module_5.py: 3 hits" in out
    assert "  10:    def handler_0(self" in out
    assert len(MARKER_RE.findall(out)) == 1
    assert len(out) * 3 < len(grep_output())


def test_hits_matching_the_query_are_all_kept() -> None:
    out = run(grep_output(), query="where is the timeout raised")
    assert out.count("def timeout_") == 3


def test_a_larger_budget_shows_more_hits() -> None:
    small, large = run(grep_output(), budget=0.1), run(grep_output(), budget=0.6)
    assert large.count("def handler_") > small.count("def handler_")


def test_columns_and_context_lines_are_understood() -> None:
    lines = [f"lib/a.rs:{i}:{i % 9 + 1}:fn item_{i}() {{}}" for i in range(1, 60)]
    lines += ["--", "lib/b.rs-9-// a comment before the hit", "lib/b.rs:10:4:fn target() {}", "lib/b.rs-11-}"]
    out = run("\n".join(lines), query="target")
    assert "lib/b.rs: 1 hit" in out
    assert "  9-// a comment before the hit" in out
    assert "  10:4:fn target() {}" in out


def test_what_is_not_search_output_passes() -> None:
    assert (
        compress(
            Job(text="just\nsome\nprose lines\n", query=None, budget=None, marker=Marker("0" * 24, True))
        )
        is None
    )
