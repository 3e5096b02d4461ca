"""headroom-agno: an Agno tool hook and a retrieve toolkit.

This package is reserved in the workspace so the layout is final; its integration lands in its own
issue. Until then it exposes only the shared version number.
"""

from headroom import __version__

__all__ = ["__version__"]
