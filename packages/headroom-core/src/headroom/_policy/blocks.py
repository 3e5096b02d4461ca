"""One internal representation of a conversation: a flat list of text blocks, and the way back.

Supported shapes (dicts, as the providers' JSON has them):

- OpenAI chat completions: ``system``/``developer``/``user``/``assistant`` messages with string or
  part-list content; ``assistant.tool_calls``; ``tool`` results (string or text parts); legacy
  ``function`` results.
- OpenAI Responses API input items: messages (``type: message`` or bare ``role`` items),
  ``function_call`` / ``custom_tool_call`` and their ``*_output`` items (string or part-list output).
- Anthropic messages: string or block content; ``tool_use`` in assistant turns; ``tool_result``
  blocks (string or block-list content, ``is_error``) in user turns; the top-level ``system``
  (string or text blocks), passed separately. Images, documents, thinking and every other block
  type are left untouched.

A ``Block`` records where its text lives (a path of keys and indices from its message), so
``rebuild`` can put new text back by copying only the containers on that path: everything else,
unknown fields included, stays the caller's own object.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[str | int, ...]
Role = Literal["system", "user", "assistant", "call", "tool"]

SYSTEM_ROLES = ("system", "developer")
_TEXT_PARTS = ("text", "input_text", "output_text")
_PATH_KEYS = ("path", "file_path", "filepath", "filename", "file", "target_file")
SYSTEM_INDEX = -1  # the ``message`` of blocks in the separate (Anthropic) system prompt


@dataclass
class Block:
    """A piece of text in a conversation.

    Attributes:
        message: index of its message (``SYSTEM_INDEX`` for the separate system prompt).
        path: keys and indices from the message to the string; None for text that is only counted
            (tool-call inputs given as objects).
        role: ``system``, ``user``, ``assistant``, ``call`` (a tool call's arguments) or ``tool``
            (a tool's result).
        text: the text.
        turn: the turn it belongs to: a user request with the model's answer to it, or one later model
            step (an assistant message after tool results) with its tool calls and their results.
        tool: for ``tool`` and ``call`` blocks, the tool's name when known.
        call_id: the id pairing a tool call with its result.
        file: the file a tool call names in its arguments (a hint for detecting code).
        is_error: the result is marked as an error by the provider (Anthropic ``is_error``).
    """

    message: int
    path: Path | None
    role: Role
    text: str
    turn: int
    tool: str | None = None
    call_id: str | None = None
    file: str | None = None
    is_error: bool = False


def _file_of(arguments: Any) -> str | None:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    for key in _PATH_KEYS:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return _file_read_by(arguments.get("command", arguments.get("cmd")))


# a shell command that prints one file as it is (``cat``, ``sed -n 1,80p``, ``nl -ba``, ``head -n``)
_READERS = frozenset({"cat", "nl", "head", "tail", "sed", "bat", "batcat", "less", "more"})
_SHELLS = frozenset({"bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/bin/zsh"})
_NOT_ONE_FILE = re.compile(r"[|;<>`\n]|\$\(")
_READ_EXTENSIONS = frozenset(
    ".py .pyi .js .mjs .cjs .jsx .ts .mts .cts .tsx .go .rs .java .kt .c .h .cc .cpp .cxx .hpp .hh .cs .rb "
    ".php .swift .scala .sh .bash .zsh .lua .sql .md .rst .txt .json .yaml .yml .toml .ini .cfg .conf .xml "
    ".html .css .scss .vue .svelte .proto .gradle .tf .dockerfile .env .lock".split()
)


def _file_read_by(command: Any) -> str | None:
    """The file a shell command prints whole (``cd src && sed -n '1,120p' app.py`` names ``app.py``),
    or None: a pipe, a redirection or several files mean the output is not one file as it is."""
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        if len(command) == 3 and command[0] in _SHELLS and command[1] in ("-c", "-lc"):
            command = command[2]
        else:
            command = shlex.join(command)
    if not isinstance(command, str) or _NOT_ONE_FILE.search(command):
        return None
    *before, last = command.split("&&")
    if any(not piece.strip().startswith("cd ") for piece in before):
        return None
    try:
        words = shlex.split(last)
    except ValueError:
        return None
    if not words or words[0] not in _READERS:
        return None
    files = [word for word in words[1:] if not word.startswith("-") and ("." in word or "/" in word)]
    if len(files) != 1:
        return None
    name = files[0].rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return files[0] if dot >= 0 and name[dot:].lower() in _READ_EXTENSIONS else None


def json_text(value: Any) -> str:
    """A tool call's input object as the model reads it (counted, never changed); "" if unserialisable."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError, TypeError):
        return ""


class _Reader:
    """Walks the messages in order, remembering tool calls so results get their tool's name."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.turn = 0
        self.calls: dict[str, tuple[str | None, str | None]] = {}  # call id -> (tool, file)
        self.in_call_step = False  # consecutive Responses function_call items are one step
        self.after_request = False  # the previous message was a user request: its answer joins its turn

    def add(self, message: int, path: Path | None, role: Role, text: str, **extra: Any) -> None:
        self.blocks.append(Block(message, path, role, text, self.turn, **extra))

    def content(self, message: int, path: Path, content: Any, role: Role, **extra: Any) -> None:
        """A string, or a list of text parts, at ``path``."""
        if isinstance(content, str):
            self.add(message, path, role, content, **extra)
        elif isinstance(content, list):
            for index, part in enumerate(content):
                if (
                    isinstance(part, dict)
                    and part.get("type") in _TEXT_PARTS
                    and isinstance(part.get("text"), str)
                ):
                    self.add(message, (*path, index, "text"), role, part["text"], **extra)

    def call(self, message: int, path: Path | None, call_id: Any, name: Any, arguments: Any) -> None:
        tool = name if isinstance(name, str) else None
        key = str(call_id)
        self.calls[key] = (tool, _file_of(arguments))
        text = arguments if isinstance(arguments, str) else json_text(arguments)
        self.add(message, path if isinstance(arguments, str) else None, "call", text, tool=tool, call_id=key)

    def result(self, message: int, path: Path, content: Any, call_id: Any, *, name: Any = None,
               is_error: bool = False) -> None:  # fmt: skip
        key = str(call_id) if call_id is not None else None
        tool, file = self.calls.get(key or "", (None, None))
        if isinstance(name, str):
            tool = name
        self.content(message, path, content, "tool", tool=tool, call_id=key, file=file, is_error=is_error)

    def step(self, starts_turn: bool) -> None:
        """A model step: a new turn unless it answers the user request just before it."""
        if starts_turn and not self.after_request:
            self.turn += 1
        self.after_request = False

    def request(self) -> None:
        """A user request always starts a turn."""
        self.turn += 1
        self.after_request = True

    def message(self, index: int, message: Any) -> None:
        if not isinstance(message, dict):
            self.in_call_step = False
            return
        kind = message.get("type")
        role = message.get("role")
        if kind in ("function_call", "custom_tool_call"):
            self.step(not self.in_call_step)
            self.in_call_step = True
            key = "arguments" if kind == "function_call" else "input"
            self.call(index, (key,), message.get("call_id"), message.get("name"), message.get(key))
            return
        self.in_call_step = role == "assistant"
        if kind in ("function_call_output", "custom_tool_call_output"):
            self.result(index, ("output",), message.get("output"), message.get("call_id"))
            return
        if kind not in (None, "message"):
            return  # reasoning items, web search calls, ...: untouched
        content = message.get("content")
        if role in SYSTEM_ROLES:
            self.content(index, ("content",), content, "system")
        elif role == "assistant":
            self.step(True)
            self.content(index, ("content",), content, "assistant")
            calls = message.get("tool_calls")
            for n, call in enumerate(calls if isinstance(calls, list) else ()):
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    function = call["function"]
                    path = ("tool_calls", n, "function", "arguments")
                    self.call(index, path, call.get("id"), function.get("name"), function.get("arguments"))
            if isinstance(content, list):
                for n, block in enumerate(content):
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        self.call(index, ("content", n, "input"), block.get("id"), block.get("name"),
                                  block.get("input"))  # fmt: skip
        elif role == "tool":
            self.result(index, ("content",), content, message.get("tool_call_id"))
        elif role == "function":
            self.result(index, ("content",), content, None, name=message.get("name"))
        elif role == "user":
            self.user(index, content)

    def user(self, index: int, content: Any) -> None:
        if not isinstance(content, list):
            self.request()
            self.content(index, ("content",), content, "user")
            return
        started = False
        for n, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                self.result(index, ("content", n, "content"), block.get("content"), block.get("tool_use_id"),
                            is_error=block.get("is_error") is True)  # fmt: skip
            elif block.get("type") in _TEXT_PARTS and isinstance(block.get("text"), str):
                if not started:
                    self.request()
                    started = True
                self.add(index, ("content", n, "text"), "user", block["text"])


def read_blocks(messages: Sequence[Any], system: Any = None) -> list[Block]:
    """Every text block of ``messages`` (and of a separate Anthropic ``system``), in reading order."""
    reader = _Reader()
    if system is not None:
        if isinstance(system, str):
            reader.add(SYSTEM_INDEX, (), "system", system)
        else:
            reader.content(SYSTEM_INDEX, (), system, "system")
    for index, message in enumerate(messages):
        reader.message(index, message)
    return reader.blocks


def replace_at(container: Any, path: Path, value: Any) -> Any:
    """A copy of ``container`` with ``value`` at ``path``; only the containers on the path are copied."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(container, list) and isinstance(key, int):
        copy = list(container)
        copy[key] = replace_at(container[key], rest, value)
        return copy
    if isinstance(container, dict):
        return {**container, key: replace_at(container[key], rest, value)}
    raise TypeError(f"cannot follow {key!r} into {type(container).__name__}")
