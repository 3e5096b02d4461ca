"""The main content of a web page as Markdown-ish plain text, for the ``html`` kind.

An agent that fetches a page mostly needs the article, not the navigation, cookie banners, scripts
and markup around it. ``extract`` parses with selectolax (lexbor, an HTML5 parser written in C), starts
from ``<main>``, ``[role=main]`` or a lone ``<article>`` (else ``<body>``, else the whole document),
skips what is never content (scripts, styles, forms, ``<nav>``, ``<aside>``, ``<footer>``, the site
``<header>``, hidden elements, navigation roles) and writes the rest as text: ``#`` headings,
paragraphs separated by blank lines, ``- `` and ``1. `` list items, ``| a | b |`` table rows, ``<pre>``
as fenced blocks kept verbatim, inline ``<code>`` in backticks, link texts without their URLs.

An element whose class or id names boilerplate (``cookie-banner``, ``main-nav``, ``share-buttons``) is
judged after its text is seen: it is dropped unless it holds ``<main>``/``<article>``, or, for the
weaker names (``sidebar``, ``menu``, ``nav``...), unless it holds 400 characters of text mostly outside
links, as a layout wrapper such as ``<div class="page has-sidebar">`` does. A loose class name thus
never costs the article.

The tree is walked with parent/sibling pointers, never by recursion, so 10,000 nested ``<div>`` are as
safe as ten, and in one pass. Bad input never raises: the parser repairs any markup, a failure inside it
is logged and answered with None, as is a page without text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .._deadline import shielded

log = logging.getLogger("headroom")

_SKIP = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "nav", "footer", "aside", "form", "iframe",
    "object", "embed", "canvas", "button", "select", "input", "textarea", "dialog", "head", "title", "meta",
    "link", "img", "picture", "video", "audio", "map",
})  # fmt: skip
_BLOCK = frozenset({
    "p", "div", "section", "article", "main", "header", "address", "blockquote", "details", "summary",
    "figure", "figcaption", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption", "tr",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "center",
})  # fmt: skip
_SECTIONS = frozenset({"article", "main", "section"})  # a <header> inside one of these is content
_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alert"})
# boilerplate names: strong ones anywhere in a class or id, weak ones as whole words (not "canvas")
_STRONG = re.compile("cookie|consent|gdpr|newsletter|advert")
_WEAK = frozenset({
    "nav", "navbar", "navigation", "menu", "menubar", "breadcrumb", "breadcrumbs", "footer", "sidebar",
    "share", "sharing", "social", "ads", "ad", "banner", "subscribe", "popup", "modal", "promo",
    "related", "skip", "toc",
})  # fmt: skip
_NAME_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_CONTENT = 400  # characters of text, mostly outside links, that make a weakly named element content
# The parser's tree building costs time in proportion to the depth of open elements at each tag, so
# markup nested tens of thousands deep is quadratic in C (40,000 unclosed <div><span>: 15 s). A big page
# is measured first, in one pass over its tags: past 2e8 (20,000 nested <div>, 0.7 s) it passes through.
_MAX_WORK = 200_000_000  # the sum, over start tags, of the elements open at each
_MEASURE_FROM = 65_536  # characters: a smaller page is parsed at once, whatever its depth
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen",
})  # fmt: skip
_SELF_CLOSING = frozenset({  # an open one of these closes when the next of its kind opens
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot", "rt", "rp",
})  # fmt: skip
_LANGUAGE = re.compile(r"(?<![\w-])(?:language|lang)-([\w+#-]+)")
_DEEPEST = 8  # list and quote nesting drawn deeper than this is drawn at this depth
_KEEP, _MAIN, _WEAKLY, _STRONGLY, _DROP = range(5)


def extract(html: str) -> str | None:
    """The main content of ``html`` as text; None when no text is left.

    Args:
        html: a web page or fragment, possibly malformed.

    Returns:
        The content as Markdown-ish text, or None when the page holds no text.
    """
    if len(html) >= _MEASURE_FROM and _too_deep(html):
        with shielded():
            log.warning("headroom: HTML nested too deep to parse in time; passed through")
        return None
    try:
        parser = LexborHTMLParser(html)
    except Exception:  # the parser repairs markup; what reaches here is an input it cannot take at all
        with shielded():  # logging takes Python-level locks: never cut short
            log.warning("headroom: could not parse HTML (%d characters)", len(html), exc_info=True)
        return None
    articles = parser.css("article")
    for root in (
        parser.css_first("main"),
        parser.css_first("[role=main]"),
        articles[0] if len(articles) == 1 else None,
        parser.body,
        parser.root,
    ):
        text = _Writer().run(root) if root is not None else ""
        if text:
            return text
    return None


def _too_deep(html: str) -> bool:
    """Whether the elements open at each start tag add up past ``_MAX_WORK``, roughly as an HTML
    parser would see them: void elements never open, an end tag closes up to its element when one is
    open, and a ``<p>`` or ``<li>``-like element closes an open one of its kind."""
    work = 0
    stack: list[str] = []
    open_count: dict[str, int] = {}
    for match in _TAG.finditer(html):
        name = match[2].lower()
        if name in _VOID:
            continue
        if match[1]:
            if open_count.get(name):
                while stack:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
            continue
        if name in _SELF_CLOSING and stack and stack[-1] == name:
            continue  # closes the previous one and opens itself: the depth stays
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        work += len(stack)
        if work > _MAX_WORK:
            return True
    return False


def _judge(node: LexborNode, tag: str) -> int:
    if tag in ("main", "article"):
        return _MAIN
    attributes = node.attributes
    if not attributes or tag in ("body", "html"):
        return _KEEP
    role = attributes.get("role") or ""
    if role == "main":
        return _MAIN
    hidden = "hidden" in attributes or attributes.get("aria-hidden") == "true"
    if hidden or role in _ROLES or "display:none" in (attributes.get("style") or "").replace(" ", ""):
        return _DROP
    names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
    if _STRONG.search(names.lower()):
        return _STRONGLY
    return _KEEP if _WEAK.isdisjoint(map(str.lower, _NAME_WORD.findall(names))) else _WEAKLY


@dataclass
class _Suspect:
    """An element named like boilerplate, and where the output stood when it began."""

    node: int
    strong: bool
    blocks: int
    inline: int
    row: int
    chars: int
    linked: int
    holds_main: bool = False


class _Writer:
    """Turns one subtree into text blocks; ``run`` walks it without recursion."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []  # (text, kind): "p", "li", "row" or "pre"
        self.inline: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [1 if ordered else 0, next number]
        self.bullet: str | None = None  # the marker the next flushed text of a list item takes
        self.heading = self.quote = self.sections = self.cell = self.links = 0
        self.row: list[str] = []
        self.suspects: list[_Suspect] = []
        self.chars = self.linked = 0  # text seen so far, and how much of it inside links

    def run(self, root: LexborNode) -> str:
        self.sections = int((root.tag or "") in _SECTIONS)
        node = root.first_child
        while node is not None:
            entered = self.enter(node)
            child = node.first_child if entered else None
            if child is not None:
                node = child
                continue
            if entered:
                self.leave(node)
            node = self.after(node, root)
        self.flush()
        out: list[str] = []
        for index, (text, kind) in enumerate(self.blocks):
            if index:
                out.append("\n" if kind in ("li", "row") and kind == self.blocks[index - 1][1] else "\n\n")
            out.append(text)
        return "".join(out)

    def after(self, node: LexborNode, root: LexborNode) -> LexborNode | None:
        """The node after the subtree of ``node``, leaving each element climbed out of on the way."""
        stop = root.mem_id  # not ==, which compares serialised HTML
        while True:
            sibling = node.next
            if sibling is not None:
                return sibling
            parent = node.parent
            if parent is None or parent.mem_id == stop:
                return None
            self.leave(parent)
            node = parent

    def text(self, text: str) -> None:
        self.inline.append(text)
        self.chars += len(text)
        self.linked += len(text) if self.links else 0

    def enter(self, node: LexborNode) -> bool:
        """Handle the start of ``node``; False when its children are not to be visited."""
        tag = node.tag or ""
        if tag == "-text":
            self.text((node.text_content or "").replace("\n", " "))
            return False
        if tag.startswith("-") or tag in _SKIP or (tag == "header" and not self.sections):
            return False
        verdict = _judge(node, tag)
        if verdict == _DROP or (verdict in (_WEAKLY, _STRONGLY) and tag in ("pre", "code")):
            return False
        if tag == "pre" and self.cell:
            self.text(" ".join(node.text().split()))
            return False
        if tag == "pre":
            self.flush()
            found = _LANGUAGE.search(f"{node.attributes.get('class') or ''} {_code_class(node)}")
            body = node.text().rstrip("\n")
            if body.strip():
                self.blocks.append((f"```{found[1] if found else ''}\n{body}\n```", "pre"))
                self.chars += len(body)
            return False
        if tag == "code":
            code = " ".join(node.text().split())
            self.text(f"`{code}`" if code else "")
            return False
        if verdict == _MAIN:
            for suspect in self.suspects:
                suspect.holds_main = True
        elif verdict != _KEEP:
            if not self.cell:
                self.flush()  # so that the suspect's text starts a line of its own
            where = (len(self.blocks), len(self.inline), len(self.row), self.chars, self.linked)
            self.suspects.append(_Suspect(node.mem_id, verdict == _STRONGLY, *where))
        self.links += tag == "a"
        if tag == "br":
            self.inline.append("\n")
        elif tag in ("td", "th"):
            self.cell += 1
        elif self.cell:
            self.inline.append(" ")  # inside a table cell, blocks run together
        elif tag in _BLOCK:
            self.flush()
            if tag in ("ul", "ol"):
                self.lists.append([int(tag == "ol"), 1])
            elif tag == "li" and self.lists:
                ordered, number = self.lists[-1]
                self.lists[-1][1] += 1
                indent = "  " * min(len(self.lists) - 1, _DEEPEST)
                self.bullet = indent + (f"{number}. " if ordered else "- ")
            elif len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
                self.heading = int(tag[1])
            elif tag == "blockquote":
                self.quote += 1
            self.sections += tag in _SECTIONS
        return True

    def leave(self, node: LexborNode) -> None:
        tag = node.tag or ""
        self.links -= tag == "a"
        if tag in ("td", "th"):
            self.cell -= 1
            if not self.cell:
                self.row.append(_collapse(self.inline).replace("\n", " ").replace("|", "\\|"))
                self.inline.clear()
        elif self.cell:
            self.inline.append(" ")
        elif tag == "tr":
            if any(self.row):
                self.blocks.append(("| " + " | ".join(self.row) + " |", "row"))
            self.row = []
        elif tag in _BLOCK:
            self.flush()
            if tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            elif tag == "li":
                self.bullet = None
            elif tag == "blockquote":
                self.quote -= 1
            self.heading = 0 if tag[0] == "h" and tag[1:].isdigit() else self.heading
            self.sections -= tag in _SECTIONS
        if self.suspects and self.suspects[-1].node == node.mem_id:
            self.judge(self.suspects.pop())

    def judge(self, suspect: _Suspect) -> None:
        """Keep what a suspect wrote only when it holds the main content or reads like content."""
        if suspect.holds_main:
            return
        chars, linked = self.chars - suspect.chars, self.linked - suspect.linked
        if not suspect.strong and chars >= _CONTENT and linked * 2 < chars:
            return
        del self.blocks[suspect.blocks :], self.inline[suspect.inline :], self.row[suspect.row :]
        self.chars, self.linked = suspect.chars, suspect.linked

    def flush(self) -> None:
        if not self.inline:
            return
        text = _collapse(self.inline)
        self.inline.clear()
        if not text:
            return
        kind = "p"
        if self.heading:
            text = "#" * self.heading + " " + text.replace("\n", " ")
        elif self.bullet is not None:
            text, kind = self.bullet + text, "li"
            self.bullet = " " * len(self.bullet)  # more text of the same item is indented under it
        elif self.lists:
            kind = "li"
        if self.quote:
            text = "\n".join("> " * min(self.quote, _DEEPEST) + line for line in text.split("\n"))
        self.blocks.append((text, kind))


def _collapse(parts: list[str]) -> str:
    """Whitespace collapsed within each line; ``<br>`` breaks (``\\n``) kept."""
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _code_class(pre: LexborNode) -> str:
    code = pre.css_first("code")
    return (code.attributes.get("class") or "") if code is not None else ""
