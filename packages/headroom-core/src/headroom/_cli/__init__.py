"""The ``headroom`` command line: a click group other distributions extend.

Packages add subcommands through the entry-point group ``headroom.commands`` (the proxy adds
``proxy``), so installing a package is all it takes for its command to appear.
"""

from __future__ import annotations

import codecs
import json
import logging
import sys
from datetime import datetime, timezone
from importlib.metadata import entry_points
from typing import Any, BinaryIO

import click
from rich.console import Console

from .._config import Config
from .._engine import Headroom
from .._errors import HeadroomError, RefNotFound
from .._types import KINDS, Kind
from .._version import __version__
from .memory import memory
from .stats import perf_command, stats_command

log = logging.getLogger("headroom")
_stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def _lone_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    """Escaped bytes (U+DC80..U+DCFF) back to the bytes they came from; any other lone surrogate as
    the store keeps it (``surrogatepass``)."""
    assert isinstance(error, UnicodeEncodeError)
    out = bytearray()
    for char in error.object[error.start : error.end]:
        point = ord(char)
        out += bytes([point - 0xDC00]) if 0xDC80 <= point <= 0xDCFF else char.encode("utf-8", "surrogatepass")
    return bytes(out), error.end


codecs.register_error("headroom-bytes", _lone_surrogates)


def _out(text: str) -> None:
    """Write ``text`` to stdout byte for byte (lone surrogates go back to the bytes they came from)."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "headroom-bytes"))
    sys.stdout.buffer.flush()


def _a_number(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and value != value:  # NaN passes every range check
        raise click.BadParameter("nan is not a number", ctx, param)
    return value


class _Group(click.Group):
    """Loads subcommands from the ``headroom.commands`` entry points on first use; a bad argument
    is answered with one line on stderr and exit code 2."""

    _loaded = False

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as exc:
            where = f"; see {exc.ctx.command_path} --help" if exc.ctx is not None else ""
            click.echo(f"headroom: {exc.format_message().rstrip('.')}{where}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"headroom: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("headroom: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def _load(self, name: str | None = None) -> None:
        """Add the plugins' commands: only ``name``'s when given (a plugin's imports, such as the MCP
        SDK's second, are paid only by its own command), else every one."""
        if self._loaded:
            return
        self._loaded = name is None
        for entry in entry_points(group="headroom.commands"):
            if (name is not None and entry.name != name) or entry.name in self.commands:
                continue
            try:
                command = entry.load()
            except Exception:  # a broken plugin must not take the whole CLI down
                log.warning("headroom: could not load command %s", entry.name, exc_info=True)
                continue
            if isinstance(command, click.Command):
                self.add_command(command, entry.name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load(cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="headroom")
@click.option("--store", default=None, help="Where originals are kept (overrides HEADROOM_STORE).")
@click.pass_context
def main(ctx: click.Context, store: str | None) -> None:
    """Headroom: compress what LLM agents read, and get any original back."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        config = Config() if store is None else Config(store=store)
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.obj = Headroom(config, source="cli")
    ctx.call_on_close(ctx.obj.close)


main.add_command(stats_command)
main.add_command(perf_command)
main.add_command(memory)


@main.command()
@click.argument("file", type=click.File("rb"), default="-")
@click.option("--query", "-q", default=None, help="What the model is looking for; matches are kept.")
@click.option("--kind", "-k", type=click.Choice(KINDS), default=None, help="Skip detection.")
@click.option("--budget", "-b", type=click.FloatRange(0, 1, min_open=True), default=None, callback=_a_number,
              help="Share of tokens to keep.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of the text.")
@click.pass_obj
def compress(hr: Headroom, file: BinaryIO, query: str | None, kind: Kind | None, budget: float | None,
             as_json: bool) -> None:  # fmt: skip
    """Compress FILE (or standard input) and print the result; a summary goes to stderr."""
    text = file.read().decode("utf-8", "surrogateescape")
    result = hr.compress_text(text, query=query, kind=kind, budget=budget, path=getattr(file, "name", None))
    if as_json:
        payload = {
            "kind": result.kind,
            "language": result.language,
            "tokens_before": result.tokens_before,
            "tokens_after": result.tokens_after,
            "ref": result.ref,
            "text": result.text,
        }
        _out(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    _out(result.text if result.text.endswith("\n") else result.text + "\n")
    saved = result.tokens_saved / result.tokens_before if result.tokens_before else 0.0
    estimated = " (estimated)" if result.tokens_estimated else ""
    summary = (
        f"[bold]{result.kind}[/]: {result.tokens_before:,} → {result.tokens_after:,} tokens{estimated}, "
        f"saved {saved:.0%} ({result.ratio:.1f}x)"
    )
    if result.ref:
        summary += f"; original: [cyan]headroom retrieve {result.ref}[/]"
    else:
        summary += f"; kept unchanged ({result.outcome.replace('_', ' ')})"
    _stderr.print(summary)


@main.command()
@click.argument("ref")
@click.option("--query", "-q", default=None, help="Only lines or records holding every word, best first.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many matches (or lines).")
@click.option("--lines", "-n", default=None, help='Only this 1-based line range, like "120-180" or "120-".')
@click.pass_obj
def retrieve(hr: Headroom, ref: str, query: str | None, offset: int, lines: str | None) -> None:
    """Print the original behind REF, or one page of it: --query matches, --lines, --offset."""
    try:
        text = hr.retrieve(ref, query, offset=offset, lines=lines)
    except RefNotFound as exc:
        _stderr.print(str(exc), markup=False)
        sys.exit(2)
    except ValueError as exc:
        _stderr.print(f"headroom: {exc}", markup=False)
        sys.exit(2)
    except HeadroomError as exc:
        _stderr.print(f"headroom: {exc}", markup=False)
        sys.exit(1)
    _out(text)


@main.group()
def store() -> None:
    """Inspect or empty the store of originals."""


@store.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def store_info(hr: Headroom, as_json: bool) -> None:
    """Where the store is, how many originals it holds and how big it is."""
    try:
        info = hr.store.info()
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        _out(json.dumps({"location": info.location, "entries": info.entries, "bytes": info.bytes,
                         "oldest": info.oldest}) + "\n")  # fmt: skip
        return
    oldest = (
        datetime.fromtimestamp(info.oldest, timezone.utc).isoformat(timespec="seconds")
        if info.oldest
        else "-"
    )
    _out(f"location: {info.location}\nentries:  {info.entries:,}\nsize:     {info.bytes:,} bytes\n"
         f"oldest:   {oldest}\n")  # fmt: skip


@store.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def store_clear(hr: Headroom, yes: bool) -> None:
    """Delete every original (markers already sent can no longer be retrieved)."""
    if not yes:
        click.confirm("Delete every stored original?", abort=True, err=True)
    try:
        count = hr.store.clear()
    except HeadroomError as exc:
        raise click.ClickException(str(exc)) from exc
    _stderr.print(f"deleted {count:,} originals")
