"""Conversations: find the tool results in OpenAI or Anthropic messages and compress them in place.

Supported shapes:

- OpenAI chat completions: ``{"role": "tool", "tool_call_id", "content"}`` answering an assistant's
  ``tool_calls`` (content a string or a list of ``{"type": "text"}`` parts); legacy ``role: "function"``.
- OpenAI Responses API input items: ``{"type": "function_call_output", "call_id", "output"}``.
- Anthropic: ``tool_result`` blocks inside user messages, content a string or a list of blocks;
  images, documents and every other block are left untouched.
- A plain string, compressed as one text.

The caller's objects are never changed: the result is a new list in which only the messages (and
blocks) that changed are copies; everything else is the caller's own object. The query for each tool
result is, unless given, the text of the user turn before it, so a block's compression depends only on
what came before it and an unchanged prefix compresses to the same bytes on every request.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ._markers import TOOL_NAME
from ._types import CompressResult

if TYPE_CHECKING:
    from ._engine import Headroom


_PATH_KEYS = ("path", "file_path", "filepath", "filename", "file", "target_file")


def _path_of(arguments: Any) -> str | None:
    """The file a tool call reads, from its arguments (a dict or a JSON string), when it names one."""
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
    return None


def _text_of(content: Any) -> str:
    """The plain text of a message's content (string, or text parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") in ("text", "input_text")
            and isinstance(part.get("text"), str)
        )
    return ""


class _Walker:
    """One pass over the messages, carrying what earlier messages said (tool names, the user turn)."""

    def __init__(self, headroom: Headroom, query: str | None, model: str | None) -> None:
        self.headroom = headroom
        self.query = query
        self.model = model
        self.tool_names: dict[str, str] = {}
        self.tool_paths: dict[str, str] = {}  # call id -> the file the call read (a hint for code)
        self.user_turn: str | None = None
        self.tokens_before = 0
        self.tokens_after = 0
        self.refs: list[str] = []
        self.count = headroom.tokenizer(model).count

    def allowed(self, tool: str | None) -> bool:
        config = self.headroom.config
        if tool == TOOL_NAME:
            return False  # retrieved content is never compressed again
        name = tool or ""
        if not any(fnmatchcase(name, pattern) for pattern in config.include_tools):
            return False
        return not any(fnmatchcase(name, pattern) for pattern in config.exclude_tools)

    def untouched(self, text: str) -> None:
        tokens = self.count(text)
        self.tokens_before += tokens
        self.tokens_after += tokens

    def call(self, call_id: Any, name: Any, arguments: Any) -> None:
        """Remember a tool call, so its result can be matched to the tool's name and file."""
        self.tool_names[str(call_id)] = str(name)
        path = _path_of(arguments)
        if path is not None:
            self.tool_paths[str(call_id)] = path

    def compress(self, text: str, tool: str | None, call_id: Any = None) -> str:
        if not self.allowed(tool):
            self.untouched(text)
            return text
        result = self.headroom.compress_text(
            text,
            query=self.query or self.user_turn,
            model=self.model,
            path=self.tool_paths.get(str(call_id)),
        )
        self.tokens_before += result.tokens_before
        self.tokens_after += result.tokens_after
        self.refs.extend(result.refs)
        return result.text

    # --- OpenAI ----------------------------------------------------------------------------------------

    def openai_content(self, content: Any, tool: str | None, call_id: Any = None) -> Any:
        if isinstance(content, str):
            return self.compress(content, tool, call_id)
        if not isinstance(content, list):
            return content
        out: list[Any] = []
        for part in content:
            if (
                isinstance(part, dict)
                and part.get("type") in ("text", "output_text")
                and isinstance(part.get("text"), str)
            ):
                new = self.compress(part["text"], tool, call_id)
                out.append(part if new == part["text"] else {**part, "text": new})
            else:
                out.append(part)
        return out if any(a is not b for a, b in zip(out, content, strict=True)) else content

    # --- Anthropic -------------------------------------------------------------------------------------

    def anthropic_blocks(self, blocks: list[Any]) -> list[Any]:
        out: list[Any] = []
        for block in blocks:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                if isinstance(block, dict) and isinstance(block.get("text"), str):
                    self.untouched(block["text"])
                out.append(block)
                continue
            call_id = block.get("tool_use_id")
            tool = self.tool_names.get(str(call_id))
            content = block.get("content")
            if isinstance(content, str):
                new_content: Any = self.compress(content, tool, call_id)
            elif isinstance(content, list):
                new_content = self.openai_content(content, tool, call_id)
            else:
                new_content = content
            out.append(block if new_content is content else {**block, "content": new_content})
        return out

    # --- one message -------------------------------------------------------------------------------------

    def message(self, message: Any) -> Any:
        if not isinstance(message, dict):
            return message
        role = message.get("role")
        content = message.get("content")
        if message.get("type") == "function_call":  # Responses API items
            self.call(message.get("call_id"), message.get("name"), message.get("arguments"))
            return message
        if message.get("type") == "function_call_output" and isinstance(message.get("output"), str):
            tool = self.tool_names.get(str(message.get("call_id")))
            output = self.compress(message["output"], tool, message.get("call_id"))
            return message if output == message["output"] else {**message, "output": output}
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict):
                    function = call.get("function") or {}
                    self.call(call.get("id"), function.get("name"), function.get("arguments"))
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        self.call(block.get("id"), block.get("name"), block.get("input"))
            self.untouched(_text_of(content))
            return message
        if role in ("tool", "function"):
            tool = (
                message.get("name")
                if role == "function"
                else self.tool_names.get(str(message.get("tool_call_id")))
            )
            new = self.openai_content(content, tool, message.get("tool_call_id"))
            return message if new is content else {**message, "content": new}
        if (
            role == "user"
            and isinstance(content, list)
            and any(isinstance(block, dict) and block.get("type") == "tool_result" for block in content)
        ):
            new_blocks = self.anthropic_blocks(content)
            text = _text_of(content)
            if text.strip():
                self.user_turn = text
            changed = any(a is not b for a, b in zip(new_blocks, content, strict=True))
            return {**message, "content": new_blocks} if changed else message
        text = _text_of(content)
        self.untouched(text)
        if role == "user" and text.strip():
            self.user_turn = text
        return message


def compress_messages(
    headroom: Headroom, messages: Any, query: str | None, model: str | None
) -> CompressResult:
    """See ``Headroom.compress``."""
    if isinstance(messages, (str, bytes)):
        text = messages if isinstance(messages, str) else messages.decode("utf-8", "surrogateescape")
        result = headroom.compress_text(text, query=query, model=model)
        return CompressResult(result.text, result.tokens_before, result.tokens_after, result.refs)
    walker = _Walker(headroom, query, model)
    out = [walker.message(message) for message in messages]
    return CompressResult(out, walker.tokens_before, walker.tokens_after, tuple(dict.fromkeys(walker.refs)))
