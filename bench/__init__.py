"""Headroom's benchmark harness: a development tool, never shipped. Run it with ``python -m bench``."""
