"""headroom-llamaindex: a node postprocessor for RAG and the retrieve tool.

This package is reserved in the workspace so the layout is final; its integration lands in its own
issue. Until then it exposes only the shared version number.
"""

from headroom import __version__

__all__ = ["__version__"]
