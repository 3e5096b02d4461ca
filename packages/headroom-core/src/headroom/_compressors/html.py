"""Web pages: the main content as Markdown-ish text, then the prose compressor over it.

``_html_extract.extract`` parses the page (selectolax), drops scripts, styles, navigation, banners and
footers, and writes headings, paragraphs, lists, tables and code blocks as text. That alone is most of the
saving on a real page; the text compressor then keeps what matters to the query. The original page,
markup and all, stays behind the marker's ref.
"""

from __future__ import annotations

from dataclasses import replace

from ._html_extract import extract
from ._job import Job
from .text import compress as compress_text


def compress(job: Job) -> str | None:
    content = extract(job.text)
    if content is None:
        return None
    compressed = compress_text(replace(job, text=content))
    if compressed is not None:
        return compressed
    markup_lines = job.text.count("\n") + 1
    return f"{content}\n{job.marker(markup_lines, 'lines of markup')}"
