from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from headroom._cli import main

LOG = (
    "\n".join(
        f"2026-03-01 10:00:{i % 60:02d} {'ERROR' if i % 40 == 0 else 'INFO'} app: job {i} done"
        for i in range(500)
    )
    + "\n"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "build.log"
    path.write_text(LOG)
    return path


def test_compress_prints_the_text_and_a_summary(runner: CliRunner, log_file: Path) -> None:
    result = runner.invoke(main, ["compress", str(log_file)])
    assert result.exit_code == 0, result.output
    assert "[… " in result.stdout
    assert "headroom_retrieve ref=" in result.stdout
    assert "log: 10,000 → " in result.stderr
    assert "saved 99%" in result.stderr
    assert "headroom retrieve " in result.stderr


def test_compress_json_output_and_retrieve_round_trip(runner: CliRunner, log_file: Path) -> None:
    result = runner.invoke(main, ["compress", str(log_file), "--json", "--query", "job 17"])
    payload = json.loads(result.stdout)
    assert set(payload) == {"kind", "language", "tokens_before", "tokens_after", "ref", "text"}
    assert payload["kind"] == "log"
    assert payload["tokens_after"] < payload["tokens_before"]
    assert "job 17 done" in payload["text"]
    back = runner.invoke(main, ["retrieve", payload["ref"]])
    assert back.exit_code == 0
    assert back.stdout == LOG
    matches = runner.invoke(main, ["retrieve", payload["ref"], "--query", "ERROR"])
    assert matches.stdout.startswith(
        '[headroom_retrieve: 13 of 500 lines match "ERROR"; showing 13, ranked 1-13]'
    )


def test_retrieve_pages_lines_and_refuses_a_bad_range_in_one_line(runner: CliRunner, log_file: Path) -> None:
    ref = json.loads(runner.invoke(main, ["compress", str(log_file), "--json"]).stdout)["ref"]
    page = runner.invoke(main, ["retrieve", ref, "--lines", "3-4"])
    assert page.exit_code == 0
    assert page.stdout.splitlines() == ["[headroom_retrieve: lines 3-4 of 500]", *(
        f"{n}\t{line}" for n, line in zip((3, 4), LOG.splitlines()[2:4], strict=True))]  # fmt: skip
    later = runner.invoke(main, ["retrieve", ref, "--query", "ERROR", "--offset", "10"])
    assert later.stdout.startswith(
        '[headroom_retrieve: 13 of 500 lines match "ERROR"; showing 3, ranked 11-13]'
    )
    bad = runner.invoke(main, ["retrieve", ref, "--lines", "9-3"])
    assert bad.exit_code == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert 'lines must be a 1-based range such as "120-180"' in bad.stderr


def test_compress_reads_standard_input_and_keeps_bytes(runner: CliRunner) -> None:
    raw = b"tiny \xff input\n"
    result = runner.invoke(main, ["compress", "-"], input=raw)
    assert result.exit_code == 0
    assert result.stdout_bytes == raw
    assert "kept unchanged (below min tokens)" in result.stderr


def test_retrieve_of_an_unknown_ref_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(main, ["retrieve", "0" * 24])
    assert result.exit_code == 2
    assert "is unknown or has expired; call the original tool again" in result.stderr


def test_store_info_and_clear(runner: CliRunner, log_file: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    runner.invoke(main, ["--store", store, "compress", str(log_file)])
    info = json.loads(runner.invoke(main, ["--store", store, "store", "info", "--json"]).stdout)
    assert info["entries"] == 1
    assert info["bytes"] == len(LOG)
    assert info["location"].endswith("cli.db")
    cleared = runner.invoke(main, ["--store", store, "store", "clear", "--yes"])
    assert cleared.exit_code == 0
    assert "deleted 1 originals" in cleared.stderr
    assert "entries:  0" in runner.invoke(main, ["--store", store, "store", "info"]).stdout


def test_python_dash_m_and_plugin_commands(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    (plugin / "hello_plugin.py").parent.mkdir()
    (plugin / "hello_plugin.py").write_text(
        "import click\n\n@click.command()\ndef hello():\n    '''Say hello.'''\n    click.echo('hello from a plugin')\n"
    )
    info = plugin / "hello_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[headroom.commands]\nhello = hello_plugin:hello\n")
    env = {**os.environ, "PYTHONPATH": str(plugin)}
    listed = subprocess.run(
        [sys.executable, "-m", "headroom", "--help"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0
    assert "hello" in listed.stdout
    assert "compress" in listed.stdout
    ran = subprocess.run([sys.executable, "-m", "headroom", "hello"], capture_output=True, text=True, env=env)
    assert ran.stdout == "hello from a plugin\n"
    version = subprocess.run([sys.executable, "-m", "headroom", "--version"], capture_output=True, text=True)
    assert version.stdout.strip().endswith("0.1.0")


@pytest.mark.parametrize(
    "arguments",
    [["compress", "--budget", "nan", "-"], ["compress", "--budget", "2", "-"], ["stats", "--since", "99999999999d"],
     ["stats", "--since", "yesterday"], ["nosuch"], ["compress", "--kind", "pdf", "-"]],
)  # fmt: skip
def test_a_bad_argument_gets_one_line_and_exit_code_2(runner: CliRunner, arguments: list[str]) -> None:
    result = runner.invoke(main, arguments, input=b"hi\n")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("headroom: ")


def test_retrieve_writes_any_lone_surrogate_back(runner: CliRunner, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    from headroom import Config, Headroom

    text = "2026-01-01 10:00:00 INFO a \ud800 b\n" * 400 + "escaped \udcff byte\n"
    hr = Headroom(Config(store=store))
    ref = hr.compress_text(text, kind="log").ref
    hr.close()
    assert ref is not None
    result = runner.invoke(main, ["--store", store, "retrieve", ref])
    assert result.exit_code == 0
    assert result.stdout_bytes == text.encode("utf-8", "surrogatepass").replace(b"\xed\xb3\xbf", b"\xff")
