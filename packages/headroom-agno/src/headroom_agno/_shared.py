"""What the Agno exports share: the engine rule for ``headroom=`` / ``config=``, queries, tool names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from headroom import Config, Headroom
from headroom.integration import adapter_engine

SOURCE: Final = "agno"
KNOWLEDGE_TOOLS = ("search_knowledge_base",)  # their own ``query`` argument is the better query


def engine(headroom: Headroom | None, config: Config | None) -> Headroom:
    """``headroom`` when given, else a new ``Headroom(config, source="agno")``."""
    return adapter_engine(headroom, config, SOURCE)


def message_text(message: Any) -> str:
    """The text of an Agno ``Message`` (string content, or the text parts of a list)."""
    content = getattr(message, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part if isinstance(part, str) else str(part.get("text", ""))
            for part in content
            if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
        )
    return ""


def latest_user_text(messages: Sequence[Any] | None) -> str | None:
    """The newest user message's text: the query a new tool result is compressed with."""
    for message in reversed(messages or ()):
        if getattr(message, "role", None) == "user":
            text = message_text(message).strip()
            if text:
                return text
    return None


def query_for(tool: str, arguments: Any, messages: Sequence[Any] | None) -> str | None:
    """A knowledge search is compressed with its own query; any other tool with the user's request."""
    if tool in KNOWLEDGE_TOOLS and isinstance(arguments, dict):
        searched = arguments.get("query")
        if isinstance(searched, str) and searched.strip():
            return searched
    return latest_user_text(messages)
