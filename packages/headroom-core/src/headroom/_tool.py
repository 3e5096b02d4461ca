"""The ``headroom_retrieve`` tool, defined once in every shape a provider or framework expects."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigError
from ._markers import TOOL_NAME
from ._types import TOOL_FORMATS, ToolFormat

DESCRIPTION = (
    "Get back content that Headroom left out of an earlier tool result to save context. Use it when a "
    "marker such as [… 120 lines omitted; headroom_retrieve ref=<ref>] hides something you need. "
    "Without other arguments you get the exact original. With a query you get only the lines (for JSON, "
    "the records) that contain every word of the query, numbered and best first: a level word such as "
    "ERROR matches the log level, exact-case whole words rank above parts of words. When many match, a "
    "summary of them by template comes first, and the answer says how to read the rest (offset). "
    'With lines ("120-180") you get just those lines of the original, numbered.'
)

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ref": {"type": "string", "description": "The 24-character ref from the marker."},
        "query": {
            "type": "string",
            "description": "Optional words that every returned line or record must contain.",
        },
        "offset": {
            "type": "integer",
            "minimum": 0,
            "description": "Optional: skip this many matches (or lines) to read the next page; the "
            "answer names the offset of its next page.",
        },
        "lines": {
            "type": "string",
            "description": 'Optional 1-based inclusive line range of the original, like "120-180" or '
            '"120-" (to the end); with a query, only matches within it.',
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


@dataclass(frozen=True)
class RetrieveRequest:
    """A ``headroom_retrieve`` call's arguments, checked: ``lines`` is a 1-based inclusive range whose
    end is None for "to the end"."""

    ref: str
    query: str | None = None
    offset: int = 0
    lines: tuple[int, int | None] | None = None


_RANGE = re.compile(r"^\s*(\d+)\s*(?:(-|–|:|\.\.)\s*(\d*)\s*)?$")


def parse_lines(value: object) -> tuple[int, int | None] | None:
    """A ``lines`` argument (``"120-180"``, ``"120-"``, ``"120"``, ``120``) as (first, last or None).

    Raises:
        ValueError: not a range of positive line numbers; the message is written for the model.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    match = _RANGE.match(value) if isinstance(value, str) else None
    if match is not None:
        first = int(match.group(1))
        last = first if match.group(2) is None else int(match.group(3)) if match.group(3) else None
        if first >= 1 and (last is None or last >= first):
            return first, last
    raise ValueError(
        f'{TOOL_NAME} lines must be a 1-based range such as "120-180" or "120-" (to the end), '
        f"not {str(value)[:40]!r}"
    )


def parse_offset(value: object) -> int:
    """An ``offset`` argument (an integer, or one written as a string) as a count of items to skip.

    Raises:
        ValueError: not a non-negative integer; the message is written for the model.
    """
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(f"{TOOL_NAME} offset must be a whole number of 0 or more, not {str(value)[:40]!r}")


def parse_arguments(arguments: Mapping[str, Any] | str | None) -> RetrieveRequest:
    """A tool call's arguments, given as a mapping or a JSON string, checked.

    Raises:
        ValueError: the arguments name no ref, or an offset or line range that is not one; the
            message is written for the model.
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
    return RetrieveRequest(
        ref,
        query if isinstance(query, str) and query.strip() else None,
        parse_offset(arguments.get("offset")),
        parse_lines(arguments.get("lines")),
    )
