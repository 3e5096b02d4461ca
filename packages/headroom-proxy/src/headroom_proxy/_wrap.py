"""``headroom wrap <agent> [-- args]`` and ``headroom unwrap``: one agent run through the proxy.

``wrap`` finds a healthy proxy of ours on the port (``GET /health`` names the service and its upstreams)
or starts one, then runs the agent as a child with the settings that route that run only through it
(``_agents``); the user's files are never written. A gateway the user already routes the agent to
becomes the proxy's upstream, and the user is told.

Several wrapped agents share one proxy: each holds a lease (a file named by its pid) while it runs,
and the proxy a ``wrap`` started stops when the last lease goes; a proxy that was already running is
never stopped. Leases and the started proxy's record live in the user state directory, decided under
one file lock per port, so two ``wrap`` starting together start one proxy. A lease whose process is
gone (killed) counts for nothing.

The child inherits stdin, stdout, stderr and the terminal; Ctrl-C reaches it from the terminal (wrap
waits for it), SIGTERM and SIGHUP sent to wrap are passed on, and wrap exits with the child's status
(128 + the signal when a signal ended it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import httpx

from ._agents import AGENTS, Agent, Found, Gateways, Provider, is_proxy, upstream_url
from ._settings import ANTHROPIC_URL, OPENAI_URL

SERVICE = "headroom-proxy"  # what /health answers, so wrap knows the proxy on a port is ours
START_SECONDS = 60.0  # for a proxy to answer /health after it was started (a cold engine loads)


def state_dir(*parts: str) -> Path:
    """A directory of the user state dir's ``headroom`` (``wrap/<port>``, ``init``), created."""
    import platformdirs

    path = Path(platformdirs.user_state_dir("headroom"), *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def health(port: int, timeout: float = 1.0) -> dict[str, Any] | None:
    """The proxy's ``/health`` on the port when it is ours, else None (nothing there, or another)."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
        data = reply.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("service") == SERVICE else None


def port_taken(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _locked(port: int) -> Iterator[Path]:
    import fcntl

    where = state_dir("wrap", str(port))
    with open(where / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield where
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_leases(where: Path) -> list[int]:
    """The pids of the wrapped agents using the proxy now (stale lease files are removed)."""
    pids = []
    for lease in (where / "leases").glob("*"):
        pid = int(lease.name) if lease.name.isdigit() else 0
        if pid and _alive(pid):
            pids.append(pid)
        else:
            lease.unlink(missing_ok=True)
    return sorted(pids)


def ensure_proxy(
    port: int, upstreams: Mapping[Provider, str], *, quiet: bool = False, record: bool = True
) -> bool:
    """A healthy proxy of ours on ``port`` whose upstreams match ``upstreams``, started if none is there
    (``record``: as wrap's, stopped with the last wrapped agent; else it keeps running). Whether it
    was started.

    Raises:
        click.ClickException: the port is taken by something else, by a proxy of ours with other
            upstreams, or a started proxy never became healthy.
    """
    with _locked(port) as where:
        return _ensure(port, upstreams, where, quiet, record)


def _ensure(
    port: int, upstreams: Mapping[Provider, str], where: Path, quiet: bool, record: bool = True
) -> bool:
    found = health(port)
    if found is not None:
        running = found.get("upstreams") or {}
        for provider, url in upstreams.items():
            if running.get(provider, "").rstrip("/") != url.rstrip("/"):
                raise click.ClickException(
                    f"the proxy on port {port} forwards {provider} to {running.get(provider)}, not {url};"
                    " pass --port to start another"
                )
        return False
    if port_taken(port):
        raise click.ClickException(
            f"port {port} is in use by something that is not headroom proxy; pass --port"
        )
    openai = upstreams.get("openai", OPENAI_URL)
    anthropic = upstreams.get("anthropic", ANTHROPIC_URL)
    command = [sys.executable, "-m", "headroom", "proxy", "--port", str(port), "--openai-url", openai,
               "--anthropic-url", anthropic, "--log-level", "info"]  # fmt: skip
    log = open(where / "proxy.log", "ab")  # noqa: SIM115 (the child keeps it)
    child = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
    log.close()
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if health(port, timeout=0.5) is not None:
            if record:
                (where / "proxy.json").write_text(json.dumps({"pid": child.pid, "port": port}))
            if not quiet:
                click.echo(f"headroom: started the proxy on http://127.0.0.1:{port}"
                           f" (log: {where / 'proxy.log'})", err=True)  # fmt: skip
            return True
        if child.poll() is not None:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        child.kill()
    tail = (where / "proxy.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise click.ClickException(f"the proxy did not start on port {port}: {tail[0]}")


def stop_if_unused(port: int, *, force: bool = False) -> bool:
    """Stop the proxy a ``wrap`` started on ``port`` when no wrapped agent uses it (``force``: even
    then); a proxy the user started is left alone. Whether one was stopped."""
    with _locked(port) as where:
        record = where / "proxy.json"
        if not record.exists() or (live_leases(where) and not force):
            return False
        try:
            pid = int(json.loads(record.read_text())["pid"])
        except (ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)
            return False
        record.unlink(missing_ok=True)
        if not _alive(pid):
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        return True


def upstreams_for(agent: Agent, gateways: Gateways, port: int) -> tuple[dict[Provider, str], list[Found]]:
    """The proxy upstreams an agent needs (the user's gateways, else the providers'), and the gateways
    that were taken over (to tell the user)."""
    defaults: dict[Provider, str] = {"openai": OPENAI_URL, "anthropic": ANTHROPIC_URL}
    out: dict[Provider, str] = {}
    taken: list[Found] = []
    for provider in agent.providers:
        found = gateways.get(provider)
        if found is not None and not is_proxy(found.url, port):
            out[provider] = upstream_url(provider, found.url)
            taken.append(found)
        else:
            out[provider] = defaults[provider]
    return out, taken


def run(agent: Agent, args: list[str], port: int) -> int:
    """Run one wrapped agent (see the module docstring); its exit status."""
    env = dict(os.environ)
    gateways = agent.gateways(env, Path.cwd(), args)
    upstreams, taken = upstreams_for(agent, gateways, port)
    for found in taken:
        click.echo(f"headroom: {agent.name} is routed to {found.url} by {found.where}; the proxy forwards"
                   " there", err=True)  # fmt: skip
    executable = env.get(f"HEADROOM_{agent.name.upper()}_BIN") or agent.program
    import shutil

    if shutil.which(executable) is None:
        raise click.ClickException(f"{executable} is not installed or not on PATH")
    with _locked(port) as where:
        _ensure(port, upstreams, where, quiet=False)
        (where / "leases").mkdir(exist_ok=True)
        lease = where / "leases" / str(os.getpid())
        lease.touch()
    try:
        base = f"http://127.0.0.1:{port}"
        routes: dict[Provider, str] = {"openai": f"{base}/v1", "anthropic": base}
        extra, arguments = agent.launch(routes, env, args, gateways)
        return _child([executable, *arguments], {**env, **extra, "HEADROOM_WRAPPED": "1"})
    finally:
        lease.unlink(missing_ok=True)
        stop_if_unused(port)


def _child(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets Ctrl-C itself
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - code if code < 0 else code


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option(
    "--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="The proxy's port."
)
@click.argument("agent", type=click.Choice(sorted(AGENTS)))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def wrap(port: int, agent: str, args: tuple[str, ...]) -> None:
    """Run AGENT through the proxy (started if none is running); ARGS after -- go to the agent."""
    rest = list(args[1:]) if args[:1] == ("--",) else list(args)  # click keeps a -- after the agent
    code = run(AGENTS[agent], rest, port)
    sys.exit(code)


@click.command()
@click.option(
    "--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="The proxy's port."
)
@click.option("--force", is_flag=True, help="Stop it even while wrapped agents use it.")
def unwrap(port: int, force: bool) -> None:
    """Stop the proxy `headroom wrap` started, once no wrapped agent uses it."""
    where = state_dir("wrap", str(port))
    users = live_leases(where)
    if stop_if_unused(port, force=force):
        click.echo(f"headroom: stopped the proxy on port {port}", err=True)
    elif users:
        click.echo(f"headroom: {len(users)} wrapped agent(s) use the proxy on port {port} (pids"
                   f" {', '.join(map(str, users))}); --force stops it anyway", err=True)  # fmt: skip
    elif health(port) is not None:
        click.echo(f"headroom: the proxy on port {port} was not started by wrap; left running", err=True)
    else:
        click.echo(f"headroom: no proxy on port {port}", err=True)
