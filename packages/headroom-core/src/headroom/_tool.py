"""The ``headroom_retrieve`` tool, defined once in every shape a provider or framework expects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigError
from ._markers import TOOL_NAME
from ._types import TOOL_FORMATS, ToolFormat

DESCRIPTION = (
    "Get back content that Headroom left out of an earlier tool result to save context. Use it when a "
    "marker such as [… 120 lines omitted; headroom_retrieve ref=<ref>] hides something you need. "
    "Without a query you get the exact original; with a query you get only the lines (for JSON, the "
    "records) that contain every word of the query, numbered, which is much cheaper."
)

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ref": {"type": "string", "description": "The 24-character ref from the marker."},
        "query": {
            "type": "string",
            "description": "Optional words that every returned line or record must contain.",
        },
    },
    "required": ["ref"],
}


def retrieve_tool(format: ToolFormat = "openai") -> dict[str, Any]:
    """The tool definition in ``format``: ``openai`` (chat completions), ``openai_responses``,
    ``anthropic`` or ``json_schema`` (name, description and parameters only).

    Raises:
        ConfigError: an unknown format.
    """
    parameters = json.loads(json.dumps(PARAMETERS))  # a fresh copy the caller may change
    if format == "openai":
        return {
            "type": "function",
            "function": {"name": TOOL_NAME, "description": DESCRIPTION, "parameters": parameters},
        }
    if format == "openai_responses":
        return {"type": "function", "name": TOOL_NAME, "description": DESCRIPTION, "parameters": parameters}
    if format == "anthropic":
        return {"name": TOOL_NAME, "description": DESCRIPTION, "input_schema": parameters}
    if format == "json_schema":
        return {"name": TOOL_NAME, "description": DESCRIPTION, "parameters": parameters}
    raise ConfigError(f"unknown tool format {format!r}; use one of {', '.join(TOOL_FORMATS)}")


def parse_arguments(arguments: Mapping[str, Any] | str | None) -> tuple[str, str | None]:
    """(ref, query) from a tool call's arguments, given as a mapping or a JSON string.

    Raises:
        ValueError: the arguments name no ref; the message is written for the model.
    """
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            raise ValueError(f"{TOOL_NAME} arguments must be a JSON object with a ref") from None
    if not isinstance(arguments, Mapping):
        raise ValueError(f"{TOOL_NAME} arguments must be an object with a ref")
    ref = arguments.get("ref")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"{TOOL_NAME} needs a ref: the 24-character value after ref= in the marker")
    query = arguments.get("query")
    return ref, query if isinstance(query, str) and query.strip() else None
