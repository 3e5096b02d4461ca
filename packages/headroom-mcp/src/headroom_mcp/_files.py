"""The agents' config files as ``headroom mcp install`` edits them: read, parse, edit one entry, write.

JSON (Claude Code's ``~/.claude.json`` and ``.mcp.json``) is written back in the layout it was read in
(its indentation, its final newline), so a file Claude Code wrote changes only where our entry is.
TOML (Codex's ``config.toml``) is edited with tomlkit, which keeps comments, order and every other
table as they were. A file that does not parse is never written. Writes are atomic (a temporary
file beside it, renamed over it) and keep the file's mode.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import tomlkit
from tomlkit.items import InlineTable, Table


class ConfigFileError(click.ClickException):
    """A config file that cannot be read or parsed, or a change that cannot be made (exit code 1)."""


@dataclass(frozen=True)
class Document:
    """One config file: where it is, its bytes (None: it does not exist) and what they hold."""

    path: Path
    raw: bytes | None
    data: dict[str, Any]  # plain values (TOML unwrapped)

    @property
    def toml(self) -> bool:
        return self.path.suffix == ".toml"


def load(path: Path) -> Document:
    """``path`` read and parsed (an absent or empty file holds nothing).

    Raises:
        ConfigFileError: it cannot be read, does not parse, or does not hold a table / JSON object.
    """
    try:
        raw: bytes | None = path.read_bytes()
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path} ({exc.strerror}); nothing was changed") from None
    text = _text(path, raw)
    if not text.strip():
        return Document(path, raw, {})
    if path.suffix == ".toml":
        try:
            data: Any = tomlkit.parse(text).unwrap()
        except Exception as exc:  # tomlkit's parse errors share no public base class
            raise ConfigFileError(
                f"{path} is not valid TOML ({exc}); fix it first, nothing was changed"
            ) from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigFileError(
                f"{path} is not valid JSON ({exc}); fix it first, nothing was changed"
            ) from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path} does not hold a JSON object; fix it first, nothing was changed")
    return Document(path, raw, data)


def _text(path: Path, raw: bytes | None) -> str:
    try:
        return (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"{path} is not UTF-8 text; nothing was changed") from None


def entry(data: Mapping[str, Any], keys: Sequence[str], name: str) -> Any:
    """The value at ``keys`` + ``name`` (None where any step is missing)."""
    node: Any = data
    for key in (*keys, name):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def edited(
    doc: Document, keys: Sequence[str], name: str, value: Mapping[str, Any] | None, *, prune: bool = False
) -> bytes:
    """The file's bytes with ``keys`` + ``name`` set to ``value`` (containers made as needed), or taken
    out (``value`` None; ``prune``: the innermost container too when that leaves it empty).

    Everything else keeps its bytes: TOML through tomlkit, JSON in the file's own layout.
    """
    if doc.toml:
        return _edit_toml(doc, keys, name, value, prune)
    return _edit_json(doc, keys, name, value, prune)


def _edit_json(
    doc: Document, keys: Sequence[str], name: str, value: Mapping[str, Any] | None, prune: bool
) -> bytes:
    data = json.loads(_text(doc.path, doc.raw) or "{}")
    parents = [data]
    for key in keys:
        child = parents[-1].get(key)
        if child is not None and not isinstance(child, dict):
            raise _not_a_container(doc.path, keys, key)
        if child is None:
            if value is None:
                return doc.raw or b""
            child = parents[-1][key] = {}
        parents.append(child)
    if value is None:
        parents[-1].pop(name, None)
        if prune and not parents[-1] and keys:
            parents[-2].pop(keys[-1])
    else:
        parents[-1][name] = dict(value)
    return _json_like(data, _text(doc.path, doc.raw)).encode("utf-8")


def _json_like(data: Any, original: str) -> str:
    """``data`` as JSON in the layout of ``original``: its indentation (2 spaces for a new file; one
    line stays one line) and its final newline."""
    if not original.strip():
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    found = re.search(r"\n([ \t]+)\S", original)
    if found is None:
        separators = (", ", ": ") if '": ' in original else (",", ":")
        text = json.dumps(data, separators=separators, ensure_ascii=False)
    else:
        text = json.dumps(data, indent=found[1], ensure_ascii=False)
    return text + ("\n" if original.endswith("\n") else "")


def _edit_toml(
    doc: Document, keys: Sequence[str], name: str, value: Mapping[str, Any] | None, prune: bool
) -> bytes:
    parsed = tomlkit.parse(_text(doc.path, doc.raw))
    node: Any = parsed
    chain = [node]
    for key in keys:
        child = node.get(key)
        if child is not None and not isinstance(child, MutableMapping):  # a table, inline or not
            raise _not_a_container(doc.path, keys, key)
        if child is None:
            if value is None:
                return doc.raw or b""
            child = tomlkit.table(is_super_table=True)  # no [mcp_servers] header of its own
            node[key] = child
        node = child
        chain.append(node)
    if value is None:
        before = tomlkit.dumps(parsed)
        node.pop(name, None)
        if prune and not node and keys:
            chain[-2].pop(keys[-1])
        text = tomlkit.dumps(parsed)
        if text.endswith("\n\n") and not before.endswith("\n\n"):
            text = text[:-1]  # the blank line install put before our table, when it was the last one
        return text.encode("utf-8")
    if isinstance(node, InlineTable):  # `mcp_servers = { docs = {...} }`: ours inline as well
        node[name] = _toml_inline(value)
        return tomlkit.dumps(parsed).encode("utf-8")
    table = last = _toml_table(value)
    while last.value.body and isinstance(last.value.body[-1][1], Table):
        last = last.value.body[-1][1]
    last.add(tomlkit.nl())  # a blank line before whatever table follows
    node[name] = table
    text = tomlkit.dumps(parsed)
    if text.endswith("\n\n") and not _text(doc.path, doc.raw).endswith("\n\n"):
        text = text[:-1]  # the blank line that ends our table is only wanted before another one
    return text.encode("utf-8")


def _not_a_container(path: Path, keys: Sequence[str], key: str) -> ConfigFileError:
    where = ".".join(keys[: list(keys).index(key) + 1])
    return ConfigFileError(f"{where} in {path} is not a table of servers; fix it first, nothing was changed")


def _toml_table(value: Mapping[str, Any]) -> Table:
    """``value`` as a standard table, nested mappings as sub-tables (``[mcp_servers.headroom.env]``)."""
    table = tomlkit.table()
    for key, item in value.items():
        table[key] = _toml_table(item) if isinstance(item, Mapping) else item
    return table


def _toml_inline(value: Mapping[str, Any]) -> InlineTable:
    table = tomlkit.inline_table()
    for key, item in value.items():
        table[key] = _toml_inline(item) if isinstance(item, Mapping) else item
    return table


def diff(path: Path, before: bytes | None, after: bytes | None) -> str:
    """A unified diff of the change (``/dev/null`` for a file that is created or removed)."""
    old = (before or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new = (after or b"").decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, str(path) if before is not None else "/dev/null",
                                 str(path) if after is not None else "/dev/null")  # fmt: skip
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def write(path: Path, data: bytes | None, *, private: bool) -> None:
    """Replace ``path`` with ``data`` atomically (None: remove it), keeping its mode; a new file gets
    0600 when ``private`` (a file in the user's home), else what the umask allows.

    Raises:
        ConfigFileError: the file or its directory cannot be written.
    """
    try:
        if data is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600 if private else _umask_mode()
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".headroom-tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, path)  # the agent never reads half a file
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigFileError(f"cannot write {path} ({exc.strerror}); nothing was changed") from None


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
