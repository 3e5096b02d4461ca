"""headroom-proxy: an OpenAI- and Anthropic-compatible compressing proxy (``headroom proxy``).

    headroom proxy                      # 127.0.0.1:8787
    export OPENAI_BASE_URL=http://127.0.0.1:8787/v1
    export ANTHROPIC_BASE_URL=http://127.0.0.1:8787

For ASGI servers: ``headroom_proxy.create_app(config=None)``.
"""

from __future__ import annotations

from headroom import __version__

from ._app import create_app
from ._settings import ProxySettings

__all__ = ["ProxySettings", "__version__", "create_app"]
