"""LangChain messages in and out of the core's conversation shape.

The core reads provider-shaped dicts (``headroom.integration.read_blocks``), so a list of LangChain
messages is turned into those dicts, compressed by the core's conversation policy, and every message
whose dict came back changed is copied with its new content. Messages that did not change are
returned as the very same objects, ids, metadata and all.

Tool results become Anthropic-style ``tool_result`` blocks: that shape carries ``is_error``, so a
``ToolMessage(status="error")`` gets the core's error policy (the error text stays verbatim).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from headroom import Headroom
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)

METADATA_KEY = "headroom"  # response_metadata key of the messages headroom changed

M = TypeVar("M", bound=BaseMessage)


@dataclass(frozen=True)
class View:
    """What the model should see: the messages (and system message) after compression."""

    messages: list[BaseMessage]
    system_message: SystemMessage | None

    def same_as(self, messages: Sequence[BaseMessage], system_message: SystemMessage | None) -> bool:
        """Whether nothing changed: every message is the caller's own object."""
        return self.system_message is system_message and all(
            new is old for new, old in zip(self.messages, messages, strict=True)
        )


def _arguments(args: Any) -> str:
    try:
        return json.dumps(args, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return "{}"


def _tool_result(message: ToolMessage) -> dict[str, Any]:
    """A tool result as the core reads it (an Anthropic ``tool_result`` block in a user turn)."""
    block = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": message.content,
        "is_error": message.status == "error",
    }
    return {"role": "user", "content": [block]}


def _tool_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """One LangChain tool call as the core reads it (an OpenAI chat ``tool_calls`` entry)."""
    function = {"name": call.get("name"), "arguments": _arguments(call.get("args"))}
    return {"id": call.get("id"), "type": "function", "function": function}


def to_provider(message: BaseMessage) -> dict[str, Any]:
    """``message`` as the dict the core's block reader understands."""
    if isinstance(message, ToolMessage):
        return _tool_result(message)
    if isinstance(message, AIMessage):
        converted: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            converted["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
        return converted
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    # ChatMessage has a role of its own; anything else (function messages, custom types) is read by
    # its type and, when the core does not know it, counted as nothing and left untouched
    return {"role": getattr(message, "role", message.type), "content": message.content}


def content_of(message: BaseMessage, converted: dict[str, Any]) -> Any:
    """The new content of ``message`` from its compressed dict."""
    if isinstance(message, ToolMessage):
        return converted["content"][0]["content"]
    return converted["content"]


def tagged(message: M, content: Any, refs: Sequence[str], **extra: Any) -> M:
    """A copy of ``message`` with ``content``, its refs recorded under ``response_metadata``."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, default=str)
    own = [ref for ref in refs if ref in text]
    metadata = {**message.response_metadata, METADATA_KEY: {"refs": own, **extra}}
    return message.model_copy(update={"content": content, "response_metadata": metadata})


def compress_view(
    headroom: Headroom,
    messages: Sequence[BaseMessage],
    system_message: SystemMessage | None = None,
    *,
    model: str | None = None,
    retrievable: bool = True,
) -> View:
    """The core's conversation policy over LangChain messages; the caller's objects never change.

    Args:
        headroom: the engine.
        messages: the conversation (without the system message, as ``ModelRequest`` has it, or with).
        system_message: a separate system message (``ModelRequest.system_message``).
        model: the model's name, for its tokenizer and the ledger.
        retrievable: whether the model has ``headroom_retrieve`` bound.

    Returns:
        The messages the model should see; unchanged ones are the same objects.
    """
    everything: list[BaseMessage] = [system_message, *messages] if system_message else list(messages)
    if not everything:
        return View(list(messages), system_message)
    converted = [to_provider(message) for message in everything]
    result = headroom.compress(converted, model=model, retrievable=retrievable)
    out: list[BaseMessage] = []
    for message, before, after in zip(everything, converted, result.messages, strict=True):
        if after is before:
            out.append(message)
        else:
            out.append(tagged(message, content_of(message, after), result.refs))
    new_system: SystemMessage | None = None
    if system_message is not None:
        first = out.pop(0)
        new_system = first if isinstance(first, SystemMessage) else system_message
    return View(out, new_system)


def text_of(message: BaseMessage) -> str:
    """The text of a message (text parts of block content joined)."""
    return message.text if isinstance(message.text, str) else str(message.text)


def latest_human(messages: Sequence[Any]) -> str | None:
    """The text of the newest human message: the query a new tool result is compressed with."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            text = text_of(message).strip()
            if text:
                return text
    return None


def messages_of(state: Any) -> list[Any]:
    """The ``messages`` of a graph state (a dict, a dataclass or a Pydantic model), else []."""
    messages = state.get("messages") if isinstance(state, Mapping) else getattr(state, "messages", None)
    return list(messages) if isinstance(messages, Sequence) and not isinstance(messages, str) else []


def as_messages(value: Sequence[Any]) -> list[BaseMessage]:
    """``value`` as LangChain messages (message objects as they are; dicts and tuples converted)."""
    if all(isinstance(item, BaseMessage) for item in value):
        return list(value)
    return convert_to_messages(value)


def model_name(model: Any) -> str | None:
    """A chat model's name (``model_name``, ``model`` or ``model_id``), for tokenizer and ledger."""
    for attribute in ("model_name", "model", "model_id"):
        value = getattr(model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return None
