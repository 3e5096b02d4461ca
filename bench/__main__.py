"""Headroom's benchmark: compression ratio, what survives it, and speed, on real data. Not shipped.

Run from the repository root (``make bench`` does exactly this)::

    uv run --no-sync python -m bench --data ../shared/bench-data
        [--kinds log,json,search,code,diff,outputs,text,html] [--runs 7] [--quick]
        [--out bench/results/latest.json] [--engine identity] [--strict]

It prints one table per kind, one for speed, one for stress (skipped with ``--quick``), then the targets
of ``docs/QUALITY.md`` met or missed, and writes every number to ``--out`` as JSON. ``--engine identity``
returns inputs unchanged: a check of the harness itself (full retention, 1.0x).

What is measured (the bench is the judge: it counts tokens itself, o200k_base, and never trusts the
compressor's own numbers):

- ratio: sum of input tokens / sum of output tokens over a row's cases; for JSON also against compact
  JSON (``separators=(",", ":")``).
- round-trip: for every case that returns a ref, ``retrieve(ref)`` equals the input byte for byte
  (shown as passed/with-ref).
- ms / encode ms / x encode: median ms of one ``compress_text`` call (default config, SQLite store;
  after a warm-up call, ``--runs`` timed calls), median ms of one tiktoken encode of the same input, and
  their ratio (target <= 3 for log, json, search). "first ms" in the speed table is the first call.
- log (loghub): critical-template coverage (every EventId of the ERROR/FATAL/SEVERE/CRITICAL lines, else
  WARN, has a line whose Content is verbatim in the output; target 100%), template coverage (EventIds
  with a verbatim line or matched by a counted template line that shows every literal word of the
  ground-truth template; target >= 95% per file), query retrieval (``retrieve(ref, query=<rarest word
  of the most frequent critical template>)`` shows exactly the matching lines, all of them unless
  capped), ratio (>= 10x).
- json (GitHub recordings, no query and a query): key-path coverage (every key name of every path still
  appears as a word; 100%), anomaly retention (first/last records of every array of objects, non-2xx
  status, rare categorical values, robust-z numeric outliers, query matches: identity and value
  visible; 100%), ratio against compact JSON (>= 3x).
- search (grep -rn): every file path present, every hit containing the query term visible (without a
  query: one hit per file), ``retrieve(ref, query=term)`` exact; ratio >= 4x.
- code (flask, zod, cobra; ``path=<file name>``): signature recall (every top-level and class-level
  definition, parsed from the original with ``ast`` or tree-sitter, has every line of its signature
  visible; 100%), Python output parses, ratio (>= 3x Python, >= 2x TypeScript and Go).
- diff (``git log -p``): every file header and every ``+``/``-`` line visible as an output line, except
  inside pure-addition or pure-deletion hunks over 50 lines (first and last only); ratio >= 2x.
- outputs (``tool_outputs/``: git logs, listings, a pytest run): each read as its kind, with every
  fact of the bench data's ground truth (commit hash/date/author/subject, stat paths and counts,
  every listed path with size and mode, the pytest summary and SKIPPED/XFAIL lines) shown.
- text (SQuAD articles, the question as query, ``kind="text"``, budget 0.125 and the default; ``--quick``:
  every 10th question): answer-span retention (SQuAD-normalised gold answer in the normalised output),
  extractiveness (every output piece, markers aside, verbatim and in order; 100%), next to a plain BM25
  sentence ranker at the same budget (ours must beat it by a point), ratio >= 8x at budget 0.125.
- html (pages generated in ``bench/_html.py``): article headings and code lines visible, nothing of
  ``<script>``/``<style>`` visible, ratio.
- speed: the above per case, ``import headroom`` (median of 5 fresh processes, < 150 ms) and a cold
  start (first call in a fresh process, Apache log).
- ledger: ``record()`` on the caller's thread (median, p99) and amortised with the writer's SQLite
  inserts (20,000 events then ``flush()``; < 0.2 ms per event). Every other section runs with
  ``Config(ledger=False)``, so it times compression, not the ledger.
- langchain, agno, agno-manager: a real agent of each framework (``create_agent`` with
  ``HeadroomMiddleware``; an Agno ``Agent`` with ``HeadroomHook``, or with ``HeadroomCompressionManager``)
  and a scripted model on the loghub logs and GitHub recordings: tokens the model reads against the
  same agent without Headroom (>= 5x), the retrieval judged like the log section's, and the adapter's
  time beyond the core (< 1 ms per tool call). See ``bench/_adapters.py``.
- llamaindex: SQuAD articles as paragraph nodes in a ``VectorStoreIndex`` (deterministic bag-of-words
  embedding), top-8 per question through ``HeadroomNodePostprocessor``: context ratio (>= 4x), answers
  kept of those the top-8 held (>= 97%) and of all questions, overhead per node (< 1 ms).
- proxy: ``headroom proxy`` in a subprocess in front of a fake upstream: added latency with nothing to
  compress (< 2 ms) and with 100 KB of tool output beyond the core (< 3 ms), streaming time to first
  byte added (< 2 ms), 200 concurrent streams, memory over 5,000 requests. See ``bench/_proxy.py``.
- mcp: MCP tool-call overhead in memory and over HTTP, memory search and save at 100,000 notes. See
  ``bench/_mcp.py``.
- cache: a 50-message conversation compressed by a fresh process, then by a second one that finds it
  in the shared compression cache (>= 20x faster, the same bytes). Every other section runs with the
  cache off (``HEADROOM_CACHE_BYTES=0``): their timings are of compression. See ``bench/_cache.py``.
- dashboard: ``GET /stats`` and ``/stats/history`` (``Headroom.stats``, ``stats_history``) on a generated
  ledger of 1,000,000 events, whole ledger and last day (``/stats`` < 100 ms), with the headline
  queries' plans. See ``bench/_dashboard.py``.
- sessions: the recorded Claude Code sessions (``sessions/claude-code-export`` and
  ``sessions/skillsbench``) replayed request by request through one engine: input tokens and
  cache-simulated billed input saved, prefix stability, time per request, and the provider's own
  usage figures beside the simulation. See ``bench/_sessions.py``.
- stress: 1/10/50 MB generated inputs of every kind (and ``"a\\n"`` over and over), one call each in
  a fresh process: time (50 MB under 10 s), ratio, round-trip, peak memory of the process and its
  workers (at most 20x the input), and the 10 MB / 1 MB time ratio (about 10 when linear). See
  ``bench/_stress.py``.
- fuzz: hostile inputs of 28 families (binary, base64 and long-token logs, whitespace runs, deep
  JSON and HTML, unclosed fences, fake markers, ...), each through ``compress_text`` and ``compress``
  in a fresh process: nothing raises, every call under 2 s per MB. See ``bench/_fuzz.py``.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console

from ._agno import run_agno, run_agno_manager
from ._cache import run_cache
from ._conversation import run_conversation
from ._core import Context, Section
from ._dashboard import run_dashboard
from ._engine import Engine, EngineLike, IdentityEngine, headroom_engine
from ._fuzz import run_fuzz
from ._kinds import KINDS
from ._langchain import run_langchain
from ._ledger import run_ledger
from ._llamaindex import run_llamaindex
from ._mcp import run_mcp
from ._proxy import run_proxy
from ._report import make_console, print_checks, print_section, write_json
from ._sessions import run_sessions
from ._speed import run_speed
from ._stress import run_stress

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _open_engine(name: str, store_dir: Path) -> tuple[EngineLike, str | None]:
    if name == "identity":
        return IdentityEngine(), None
    try:
        import headroom

        impl = headroom_engine(store_dir)
    except (ImportError, AttributeError) as exc:
        raise click.ClickException(
            f"the headroom engine is not usable yet ({type(exc).__name__}: {exc}); "
            "`--engine identity` checks the harness alone"
        ) from exc
    return impl, getattr(headroom, "__version__", None)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("../shared/bench-data"),
    show_default=True,
    help="The benchmark corpus (read only).",
)
@click.option("--kinds", default=",".join(KINDS), show_default=True, help="Comma-separated kinds to run.")
@click.option("--runs", type=click.IntRange(min=1), default=7, show_default=True, help="Timed runs per case.")
@click.option(
    "--quick", is_flag=True, help="Skip the stress section; the text kind asks every 10th question."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_OUT,
    show_default="bench/results/latest.json",
    help="Where to write every number as JSON.",
)
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(["headroom", "identity"]),
    default="headroom",
    show_default=True,
    help="identity: inputs unchanged, to check the harness.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when a target is missed.")
def main(data: Path, kinds: str, runs: int, quick: bool, out: Path, engine_name: str, strict: bool) -> None:
    """Measure ratio, retention and speed of headroom on the benchmark corpus."""
    selected = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in selected if k not in KINDS]
    if unknown:
        raise click.BadParameter(
            f"unknown kind(s) {unknown}; known: {', '.join(KINDS)}", param_hint="--kinds"
        )
    if not (data / "logs").is_dir():
        raise click.BadParameter(
            f"no benchmark corpus at {data} (expected {data / 'logs'})", param_hint="--data"
        )
    data = data.resolve()
    console, progress = make_console(), Console(stderr=True, soft_wrap=True)
    overrides = {k: v for k, v in os.environ.items() if k.startswith("HEADROOM_")}
    if overrides:
        progress.print(
            f"[yellow]warning: HEADROOM_* variables change the default config: {sorted(overrides)}[/]"
        )
    os.environ["HEADROOM_CACHE_BYTES"] = "0"  # timings of compression; the cache section turns it on
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
        impl, version = _open_engine(engine_name, Path(tmp))
        engine = Engine(impl, engine_name)
        if not engine.exact_tokens:
            progress.print("[bold red]warning: no exact o200k_base tokenizer; every ratio is an estimate[/]")
        ctx = Context(data, runs, engine, lambda text: progress.print(f"[dim]{text}[/]"), quick)
        for name in selected:
            sections.append(KINDS[name].run(ctx))
            print_section(console, sections[-1])
        sections.append(run_speed(ctx, with_subprocesses=engine_name == "headroom"))
        print_section(console, sections[-1])
        if engine_name == "headroom":
            sections.append(run_ledger(ctx.say))
            print_section(console, sections[-1])
    if engine_name == "headroom":
        for replayed in run_sessions(data, ctx.say):
            sections.append(replayed)
            print_section(console, replayed)
        for adapter in (
            run_conversation,
            run_langchain,
            run_agno,
            run_agno_manager,
            run_llamaindex,
            run_proxy,
            run_mcp,
            run_cache,
            run_dashboard,
        ):
            sections.append(adapter(ctx))
            print_section(console, sections[-1])
    if not quick:
        sections.append(run_stress(data, selected, engine_name, ctx.say))
        print_section(console, sections[-1])
        if engine_name == "headroom":
            sections.append(run_fuzz(ctx.say))
            print_section(console, sections[-1])
    every = print_checks(console, sections)
    meta: dict[str, object] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "engine": engine_name,
        "headroom_version": version,
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "data": str(data),
        "kinds": selected,
        "runs": runs,
        "quick": quick,
        "tokens_exact": engine.exact_tokens,
        "headroom_env": overrides,
        "all_targets_met": every,
    }
    write_json(out, meta, sections)
    console.print(f"results: {out}")
    if strict and not every:
        sys.exit(1)


if __name__ == "__main__":
    main()
