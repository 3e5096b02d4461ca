"""The proxy's own settings (the compression settings are the core ``Config``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["shared", "credential"]

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com"


@dataclass(frozen=True)
class ProxySettings:
    """Where requests go and how long the proxy waits.

    Attributes:
        openai_url: OpenAI's base URL, ``/v1`` included (as the OpenAI SDK's own base URL).
        anthropic_url: Anthropic's base URL, without ``/v1`` (as the Anthropic SDK's own).
        max_rounds: retrieval rounds per request before the model must answer without more.
        connect_timeout: seconds to open a connection upstream.
        read_timeout: seconds without a byte from upstream before giving up (long generations stream).
        scope: ``shared`` (any request that carries a ref may retrieve it) or ``credential`` (originals
            are retrievable only under the API key that produced them; a rotated key loses access).
        output_shaper: append ``OUTPUT_SHAPER`` at the end of every request's system prompt (asks for
            terse answers: fewer output tokens; the same bytes every time, after the cached prefix).
    """

    openai_url: str = OPENAI_URL
    anthropic_url: str = ANTHROPIC_URL
    max_rounds: int = 3
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    scope: Scope = "shared"
    output_shaper: bool = False


OUTPUT_SHAPER = (
    "Be terse: answer in as few words as the task allows. No preamble, no recap of what you did, no"
    " restating the question, no closing offers. Code, commands, paths and exact values stay whole."
)
