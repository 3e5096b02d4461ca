"""The coding agents ``headroom wrap`` and ``headroom init`` know: one table entry each.

An entry says where the agent looks for its base URLs (so a gateway the user already routes it to
becomes the proxy's upstream instead of being clobbered) and how to point one run of it at the proxy
(environment variables and arguments, never a file of the user's). Another agent is another entry.

- ``Found``: a base URL the user set, and where (shown to the user).
- ``Agent``: ``gateways(env, cwd, args)`` and ``launch(routes, env, args, gateways)``.
- ``AGENTS``: ``claude`` (Claude Code), ``codex`` (Codex CLI), ``aider``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Provider = Literal["openai", "anthropic"]
PROVIDER_NAME = "headroom"  # the Codex model provider ``wrap`` and ``init`` define


@dataclass(frozen=True)
class Found:
    url: str
    where: str  # "the environment (ANTHROPIC_BASE_URL)", a settings file's path, ...


Gateways = dict[Provider, Found]
Routes = Mapping[Provider, str]  # provider -> the proxy's base URL for it (OpenAI's with /v1)
MCP_NAME = "headroom"  # the MCP server wrap registers for a run (the name `headroom mcp install` uses)
# headroom_mcp's PROJECT_HEADER, spelled here: importing headroom_mcp loads the MCP SDK (1.4 s), and
# wrap must start fast (a test checks that the two agree)
PROJECT_HEADER = "X-Headroom-Project"


def mcp_url(routes: Routes) -> str:
    """The proxy's streamable HTTP MCP endpoint (at its root, where Anthropic's route is)."""
    return routes["anthropic"].rstrip("/") + "/mcp"


def mcp_headers(cwd: Path) -> dict[str, str]:
    """The headers the agent sends to the proxy's ``/mcp``: notes default to the project it runs in
    (its git root), as they do under ``headroom mcp serve``; none outside a repository (global notes)."""
    from headroom.integration import project_of

    project = project_of(None, cwd)
    return {PROJECT_HEADER: project} if project else {}


@dataclass(frozen=True)
class Agent:
    name: str
    program: str
    providers: tuple[Provider, ...]  # the upstreams it talks to
    gateways: Callable[[Mapping[str, str], Path, list[str]], Gateways]
    launch: Callable[[Routes, Mapping[str, str], list[str], Gateways], tuple[dict[str, str], list[str]]]


def is_proxy(url: Any, port: int) -> bool:
    """Whether ``url`` is the proxy on ``port`` itself (a base URL we set, not a gateway)."""
    import httpx

    if not isinstance(url, str):
        return False
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return parsed.host in ("127.0.0.1", "localhost", "::1") and parsed.port == port


def upstream_url(provider: Provider, url: str) -> str:
    """A gateway's base URL as the proxy's upstream: OpenAI's API is under ``/v1``, so a bare host gets
    it (a gateway with a path of its own is kept as it is)."""
    import httpx

    url = url.rstrip("/")
    return f"{url}/v1" if provider == "openai" and httpx.URL(url).path in ("", "/") else url


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- Claude Code ---------------------------------------------------------------------------------------

CLAUDE_SUBCOMMANDS = frozenset(
    "mcp plugin plugins install update upgrade doctor setup-token migrate-installer config auth".split()
)


def claude_config_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("CLAUDE_CONFIG_DIR") or Path(env.get("HOME", "~")).expanduser() / ".claude")


def claude_settings_files(env: Mapping[str, str], cwd: Path) -> list[Path]:
    """Claude Code's settings files, lowest precedence first (managed settings aside)."""
    return [claude_config_dir(env) / "settings.json", cwd / ".claude" / "settings.json",
            cwd / ".claude" / "settings.local.json"]  # fmt: skip


def _claude_gateways(env: Mapping[str, str], cwd: Path, args: list[str]) -> Gateways:
    found: Found | None = None
    if env.get("ANTHROPIC_BASE_URL"):
        found = Found(env["ANTHROPIC_BASE_URL"], "the environment (ANTHROPIC_BASE_URL)")
    for path in claude_settings_files(env, cwd):  # a settings file's env block wins over the shell's
        data = _read_json(path)
        block = data.get("env") if isinstance(data, dict) else None
        url = block.get("ANTHROPIC_BASE_URL") if isinstance(block, dict) else None
        if isinstance(url, str) and url:
            found = Found(url, str(path))
    return {"anthropic": found} if found else {}


def _claude_launch(
    routes: Routes, env: Mapping[str, str], args: list[str], gateways: Gateways
) -> tuple[dict[str, str], list[str]]:
    # a non-first-party base URL turns MCP tool deferral off (tens of thousands of schema tokens)
    extra = {
        "ANTHROPIC_BASE_URL": routes["anthropic"],
        "ENABLE_TOOL_SEARCH": env.get("ENABLE_TOOL_SEARCH", "true"),
    }
    found = gateways.get("anthropic")
    if bool(args) and args[0] in CLAUDE_SUBCOMMANDS:
        return extra, args
    if found is not None and found.where.endswith(".json"):
        # a settings file's env block beats the environment; --settings (this run only) beats the file
        args = ["--settings", json.dumps({"env": {"ANTHROPIC_BASE_URL": routes["anthropic"]}}), *args]
    # the proxy's MCP tools for this run (the value in the same word: the option takes several)
    server: dict[str, Any] = {"type": "http", "url": mcp_url(routes)}
    headers = mcp_headers(Path.cwd())
    if headers:
        server["headers"] = headers
    servers = {"mcpServers": {MCP_NAME: server}}
    return extra, [f"--mcp-config={json.dumps(servers)}", *args]


# --- Codex CLI -----------------------------------------------------------------------------------------


def codex_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("CODEX_HOME") or Path(env.get("HOME", "~")).expanduser() / ".codex")


def codex_user_provider(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The model provider the user's config selects, when it is one of their own (not ``openai``)."""
    name = config.get("model_provider")
    providers = config.get("model_providers")
    if not isinstance(name, str) or name in ("openai", PROVIDER_NAME) or not isinstance(providers, dict):
        return None
    table = providers.get(name)
    return (name, dict(table)) if isinstance(table, dict) else None


CHATGPT_URL = "https://chatgpt.com/backend-api/codex"  # where Codex sends a ChatGPT sign-in's requests


def codex_chatgpt_login(env: Mapping[str, str]) -> bool:
    """Whether Codex is signed in with a ChatGPT plan (``auth.json``), not an API key."""
    data = _read_json(codex_home(env) / "auth.json")
    if not isinstance(data, dict):
        return False
    mode = data.get("auth_mode")
    if isinstance(mode, str):
        return mode.lower().startswith("chatgpt")
    return bool(data.get("tokens")) and not data.get("OPENAI_API_KEY")


def _codex_gateways(env: Mapping[str, str], cwd: Path, args: list[str]) -> Gateways:
    path = codex_home(env) / "config.toml"
    config = _read_toml(path)
    own = codex_user_provider(config)
    if own is not None and isinstance(own[1].get("base_url"), str):
        return {"openai": Found(own[1]["base_url"], f"{path} (model_providers.{own[0]})")}
    if isinstance(config.get("openai_base_url"), str):
        return {"openai": Found(config["openai_base_url"], f"{path} (openai_base_url)")}
    if env.get("OPENAI_BASE_URL"):
        return {"openai": Found(env["OPENAI_BASE_URL"], "the environment (OPENAI_BASE_URL)")}
    if codex_chatgpt_login(env):
        return {"openai": Found(CHATGPT_URL, f"{codex_home(env) / 'auth.json'} (a ChatGPT sign-in)")}
    return {}


def codex_provider(base_url: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The provider table that routes Codex through the proxy: the user's own provider with its base
    URL replaced when they have one, else OpenAI's (Responses, the user's OpenAI login or key)."""
    own = codex_user_provider(config)
    table = own[1] if own is not None else {"name": "Headroom", "requires_openai_auth": True}
    return {**table, "base_url": base_url, "wire_api": "responses"}


def toml_inline(table: Mapping[str, Any]) -> str:
    """``table`` as a TOML inline table (strings, numbers, booleans, nested tables, lists)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, (int, float)):
            return repr(item)
        if isinstance(item, Mapping):
            return toml_inline(item)
        if isinstance(item, (list, tuple)):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return json.dumps(str(item))  # JSON's string escapes are TOML basic-string escapes

    return "{" + ", ".join(f"{json.dumps(str(k))} = {value(v)}" for k, v in table.items()) + "}"


def _codex_has_server(config: Mapping[str, Any], cwd: Path) -> bool:
    """Whether Codex already has an MCP server named ``headroom``: in the user's config or in a
    project's ``.codex/config.toml`` from ``cwd`` up."""
    configs = [config, *(_read_toml(d / ".codex" / "config.toml") for d in (cwd, *cwd.parents))]
    return any(isinstance(c.get("mcp_servers"), dict) and MCP_NAME in c["mcp_servers"] for c in configs)


def _codex_mcp(routes: Routes) -> dict[str, Any]:
    headers = mcp_headers(Path.cwd())
    return {"url": mcp_url(routes), **({"http_headers": headers} if headers else {})}


def _codex_launch(
    routes: Routes, env: Mapping[str, str], args: list[str], gateways: Gateways
) -> tuple[dict[str, str], list[str]]:
    config = _read_toml(codex_home(env) / "config.toml")
    # -c merges into a table of that name: one the user registered (`headroom mcp install`) is kept
    mcp = [] if _codex_has_server(config, Path.cwd()) else [
        "-c", f"mcp_servers.{MCP_NAME}={toml_inline(_codex_mcp(routes))}"]  # fmt: skip
    if codex_user_provider(config) is None and codex_chatgpt_login(env):
        # a ChatGPT sign-in only works with the built-in provider: its base URL is what moves
        return {}, ["-c", f"openai_base_url={json.dumps(routes['openai'])}", *mcp, *args]
    provider = codex_provider(routes["openai"], config)
    overrides = ["-c", f'model_provider="{PROVIDER_NAME}"',
                 "-c", f"model_providers.{PROVIDER_NAME}={toml_inline(provider)}"]  # fmt: skip
    return {}, [*overrides, *mcp, *args]


# --- aider -----------------------------------------------------------------------------------------------


def _flag(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _aider_gateways(env: Mapping[str, str], cwd: Path, args: list[str]) -> Gateways:
    found: Gateways = {}
    if env.get("OPENAI_API_BASE"):
        found["openai"] = Found(env["OPENAI_API_BASE"], "the environment (OPENAI_API_BASE)")
    if env.get("ANTHROPIC_API_BASE"):
        found["anthropic"] = Found(env["ANTHROPIC_API_BASE"], "the environment (ANTHROPIC_API_BASE)")
    flag = _flag(args, "--openai-api-base")
    if flag:
        found["openai"] = Found(flag, "the command line (--openai-api-base)")
    return found


def _aider_launch(
    routes: Routes, env: Mapping[str, str], args: list[str], gateways: Gateways
) -> tuple[dict[str, str], list[str]]:
    args = [a for i, a in enumerate(args) if not _is_base_flag(args, i)]  # the proxy forwards to it
    return {"OPENAI_API_BASE": routes["openai"], "ANTHROPIC_API_BASE": routes["anthropic"]}, args


def _is_base_flag(args: list[str], index: int) -> bool:
    arg = args[index]
    if arg.startswith("--openai-api-base"):
        return True
    return index > 0 and args[index - 1] == "--openai-api-base"


AGENTS: dict[str, Agent] = {
    "claude": Agent("claude", "claude", ("anthropic",), _claude_gateways, _claude_launch),
    "codex": Agent("codex", "codex", ("openai",), _codex_gateways, _codex_launch),
    "aider": Agent("aider", "aider", ("openai", "anthropic"), _aider_gateways, _aider_launch),
}
