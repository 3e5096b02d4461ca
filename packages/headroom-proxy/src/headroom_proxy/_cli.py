"""``headroom proxy``: the subcommand this package adds to the ``headroom`` CLI (entry point
``headroom.commands``). Compression settings go through the ``HEADROOM_*`` variables, so every uvicorn
worker builds the same app."""

from __future__ import annotations

import os

import click

from ._settings import ANTHROPIC_URL, OPENAI_URL


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--allow-remote", is_flag=True, help="Allow a --host other than loopback (see the README).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--openai-url", default=OPENAI_URL, show_default=True, help="OpenAI base URL, /v1 included.")
@click.option("--anthropic-url", default=ANTHROPIC_URL, show_default=True,
              help="Anthropic base URL, without /v1.")  # fmt: skip
@click.option(
    "--store", default=None, help="Where originals are kept (memory, sqlite, sqlite:///path, redis://...)."
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--max-context-tokens", type=click.IntRange(1), default=None, help="Conversation token budget.")
@click.option("--compress-user-messages", is_flag=True, default=None, help="Also compress long user turns.")
@click.option(
    "--align-cache", is_flag=True, default=None, help="Move volatile system-prompt lines out of the cache."
)
@click.option("--scope", type=click.Choice(["shared", "credential"]), default="shared", show_default=True,
              help="credential: originals retrievable only under the key that made them.")  # fmt: skip
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
@click.option("--output-shaper", is_flag=True, default=None, help="Ask for terse answers (a fixed line at"
              " the end of the system prompt; HEADROOM_OUTPUT_SHAPER).")  # fmt: skip
@click.option("--ensure", is_flag=True, help="Start it in the background unless ours answers on the port,"
              " wait until it does, and return (an agent's start hook: exit 0 always).")  # fmt: skip
def proxy(
    host: str, allow_remote: bool, port: int, openai_url: str, anthropic_url: str, store: str | None,
    workers: int, max_context_tokens: int | None, compress_user_messages: bool | None,
    align_cache: bool | None, scope: str, log_level: str, output_shaper: bool | None, ensure: bool,
) -> None:  # fmt: skip
    """Run the OpenAI- and Anthropic-compatible compressing proxy."""
    if ensure:
        from ._wrap import ensure_proxy

        try:
            ensure_proxy(port, {"openai": openai_url, "anthropic": anthropic_url}, quiet=True, record=False)
        except click.ClickException as exc:  # the agent starts anyway and reports what it cannot reach
            click.echo(f"headroom: {exc.format_message()}", err=True)
        return
    import uvicorn

    if not _loopback(host):
        if not allow_remote:
            raise click.BadParameter(
                f"{host} is reachable from the network, and so would be the store of originals behind"
                " the proxy; pass --allow-remote to mean it", param_hint="--host")  # fmt: skip
        click.echo(f"headroom proxy: listening on {host}: anyone who can reach it can use it and"
                   " retrieve originals; put it behind your own authentication", err=True)  # fmt: skip

    settings = {
        "HEADROOM_PROXY_OPENAI_URL": openai_url,
        "HEADROOM_PROXY_ANTHROPIC_URL": anthropic_url,
        "HEADROOM_PROXY_SCOPE": scope,
        "HEADROOM_PROXY_LOG_LEVEL": log_level,
        "HEADROOM_OUTPUT_SHAPER": None if output_shaper is None else "1",
        "HEADROOM_STORE": store,
        "HEADROOM_MAX_CONTEXT_TOKENS": None if max_context_tokens is None else str(max_context_tokens),
        "HEADROOM_COMPRESS_USER_MESSAGES": None if compress_user_messages is None else "1",
        "HEADROOM_ALIGN_CACHE": None if align_cache is None else "1",
    }
    os.environ.update({k: v for k, v in settings.items() if v is not None})
    from headroom import Config

    Config()  # a bad HEADROOM_* variable fails here, with its name, not in every worker
    click.echo(f"headroom proxy on http://{host}:{port} (OpenAI: {openai_url}, Anthropic: {anthropic_url})",
               err=True)  # fmt: skip
    uvicorn.run("headroom_proxy._app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=False)  # fmt: skip


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@click.option(
    "--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="The proxy's port."
)
@click.option(
    "--start", is_flag=True, help="Start the proxy in the background when none answers on the port."
)
@click.option("--no-open", is_flag=True, help="Print the address; do not open a browser.")
def dashboard(port: int, start: bool, no_open: bool) -> None:
    """Open the running proxy's dashboard (its figures: every source using this store's ledger)."""
    from ._wrap import ensure_proxy, health

    if health(port) is None:
        if not start:
            raise click.ClickException(
                f"no headroom proxy answers on 127.0.0.1:{port}: start it with `headroom proxy"
                f"{'' if port == 8787 else f' --port {port}'}` (or run `headroom dashboard --start`)"
            )
        ensure_proxy(port, {}, record=False)
    url = f"http://127.0.0.1:{port}/dashboard"
    click.echo(url)
    if not no_open:
        import webbrowser

        if not webbrowser.open(url):
            click.echo("headroom: no browser to open here; open the address above", err=True)
