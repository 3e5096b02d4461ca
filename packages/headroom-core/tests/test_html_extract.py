from __future__ import annotations

import pytest
from headroom import Headroom
from headroom._compressors._html_extract import extract

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Configuring timeouts | Acme Docs</title>
  <style>body { font-family: sans-serif; } .cookie-banner { position: fixed; }</style>
  <script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>
</head>
<body class="docs-page menu-closed">
  <div id="cookie-consent" class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
  <header class="site-header">
    <a href="/" class="logo">Acme</a>
    <nav class="main-nav"><ul><li><a href="/docs">Docs</a></li><li><a href="/pricing">Pricing</a></li></ul></nav>
  </header>
  <div class="layout">
    <aside class="sidebar"><h3>On this page</h3><ul><li><a href="#a">Defaults</a></li></ul></aside>
    <div class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/docs">Docs</a></div>
    <main id="content" class="main-content has-sidebar">
      <article class="post">
        <header class="post-header"><h1>Configuring   timeouts</h1><p class="byline">By Ada &amp; Grace, March 2026</p></header>
        <p>Every client call has a <strong>default timeout</strong> of
           30&nbsp;seconds. Set <code>ACME_TIMEOUT</code> to change it; see the <a href="/docs/env">environment guide</a>.</p>
        <h2>Precedence</h2>
        <ol>
          <li>The <code>timeout=</code> argument</li>
          <li>The environment variable
            <ul><li>read once at start-up</li><li>in seconds</li></ul>
          </li>
          <li>The built-in default</li>
        </ol>
        <h2>Limits</h2>
        <table>
          <thead><tr><th>Setting</th><th>Minimum</th><th>Maximum</th></tr></thead>
          <tbody>
            <tr><td>connect</td><td>1 s</td><td>60 s</td></tr>
            <tr><td>read</td><td>1 s</td><td>600 s | hard</td></tr>
          </tbody>
        </table>
        <h3>Example</h3>
        <pre><code class="language-python">import acme

client = acme.Client(timeout=5)
if x &lt; 3:
    client.get("/items")  # retries   twice
</code></pre>
        <blockquote><p>Timeouts under 1 second<br>are rounded up.</p></blockquote>
        <div class="share-buttons"><a>Share on Mastodon</a></div>
        <div hidden>Draft note: rewrite this section</div>
        <footer class="post-footer">Tags: config, networking</footer>
      </article>
      <div class="newsletter-signup"><h3>Subscribe to our newsletter</h3><form><input type="email"><button>Sign up</button></form></div>
    </main>
  </div>
  <footer class="site-footer"><p>© 2026 Acme Inc. All rights reserved.</p></footer>
  <script src="/app.js"></script>
  <noscript>Please enable JavaScript.</noscript>
</body>
</html>
"""

EXPECTED = """# Configuring timeouts

By Ada & Grace, March 2026

Every client call has a default timeout of 30 seconds. Set `ACME_TIMEOUT` to change it; see the environment guide.

## Precedence

1. The `timeout=` argument
2. The environment variable
  - read once at start-up
  - in seconds
3. The built-in default

## Limits

| Setting | Minimum | Maximum |
| connect | 1 s | 60 s |
| read | 1 s | 600 s \\| hard |

### Example

```python
import acme

client = acme.Client(timeout=5)
if x < 3:
    client.get("/items")  # retries   twice
```

> Timeouts under 1 second
> are rounded up."""


def test_the_main_content_becomes_markdownish_text() -> None:
    assert extract(PAGE) == EXPECTED


def test_boilerplate_around_the_content_is_dropped() -> None:
    out = extract(PAGE)
    assert out is not None
    for gone in (
        "cookies",  # banner
        "Pricing",  # nav in the site header
        "On this page",  # sidebar
        "Home",  # breadcrumbs
        "Share on",
        "Draft note",  # hidden
        "Tags:",  # footer
        "newsletter",
        "Sign up",  # form
        "All rights reserved",
        "dataLayer",  # script
        "font-family",  # style
        "enable JavaScript",  # noscript
        "Acme Docs",  # title
        "/docs/env",  # link targets
    ):
        assert gone not in out, gone


NOTES = " ".join(f"Change {i} makes the build faster for projects with many modules." for i in range(8))


def test_without_main_the_body_is_used_and_its_site_header_dropped() -> None:
    html = (
        "<body><header><a>Logo</a><p>Site tagline</p></header>"
        f"<div class='layout with-sidebar'><h2>Release notes</h2><p>{NOTES}</p></div>"
        "<div class='post'><section><header><h3>Details</h3></header><p>Faster builds.</p></section></div>"
        "<div role='navigation'><a>Next page</a></div></body>"
    )
    assert extract(html) == f"## Release notes\n\n{NOTES}\n\n### Details\n\nFaster builds."


def test_elements_named_like_boilerplate_are_judged_by_their_text() -> None:
    links = "".join(f"<li><a href='/p/{i}'>Another interesting post number {i}</a></li>" for i in range(30))
    legal = f"<p>We and our partners use cookies. {NOTES}</p>"
    html = (
        f"<body><p>Intro.</p><div class='sidebar'><h3>Recent</h3><ul>{links}</ul></div>"
        f"<div class='sidebar-note'><p>{NOTES}</p></div>"
        f"<div class='cookie-notice'>{legal}</div><p>Outro.</p></body>"
    )
    assert extract(html) == f"Intro.\n\n{NOTES}\n\nOutro."


def test_a_short_suspect_inside_a_table_cell_leaves_the_row_intact() -> None:
    html = (
        "<table><tr><td>Price <span class='ad-slot'>Buy now!</span>12 EUR</td><td>in stock</td></tr></table>"
    )
    assert extract(html) == "| Price 12 EUR | in stock |"


def test_a_wrapper_whose_class_names_boilerplate_is_kept_when_it_holds_the_article() -> None:
    html = (
        "<body><div class='page has-sidebar nav-open'><aside>Links</aside>"
        "<article><p>The real story.</p></article></div><article><p>A teaser.</p></article></body>"
    )
    out = extract(html)
    assert out is not None
    assert "The real story." in out
    assert "A teaser." in out  # two articles: the body is the root
    assert "Links" not in out


def test_role_main_and_a_lone_article_are_preferred_to_the_body() -> None:
    assert extract("<p>Outside</p><div role='main'><p>Inside</p></div>") == "Inside"
    assert extract("<p>Outside</p><article><p>Inside</p></article>") == "Inside"


def test_an_empty_main_falls_back_to_the_body() -> None:
    assert extract("<main><script>render()</script></main><div><p>Server text</p></div>") == "Server text"


def test_class_words_match_whole_words_only() -> None:
    html = "<div class='canvas-wrapper adventure'><p>Kept: canvas and adventure are not nav or ad.</p></div>"
    assert extract(html) == "Kept: canvas and adventure are not nav or ad."
    assert extract("<div class='navBar'><p>menu</p></div><p>Body</p>") == "Body"


def test_entities_are_decoded_and_whitespace_collapsed() -> None:
    assert extract("<p>caf&eacute;  &amp;\n\t &lt;tea&gt; &#x41;&#66;</p>") == "café & <tea> AB"


def test_pre_is_verbatim_and_inline_code_in_backticks() -> None:
    html = "<p>Run <code>make   test</code> first.</p><pre>  indented\n\n\ttabbed &amp; kept\n</pre>"
    assert extract(html) == "Run `make test` first.\n\n```\n  indented\n\n\ttabbed & kept\n```"


def test_nested_tables_are_flattened_into_their_cell() -> None:
    html = "<table><tr><td>outer<table><tr><td>inner</td></tr></table></td><td><p>b</p></td></tr></table>"
    assert extract(html) == "| outer inner | b |"


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t",
        "<html><head><title>Only a title</title><script>x()</script></head><body></body></html>",
        "<img src='a.png'><svg><text>drawn</text></svg><style>p{}</style>",
        "\x00" * 100,
    ],
)
def test_a_page_without_text_gives_none(html: str) -> None:
    assert extract(html) is None


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>unclosed <b>bold <i>italic</p></div></span><td>cell", "unclosed bold italic\n\ncell"),
        ("<div>" * 10_000 + "deep" + "</div>" * 10_000, "deep"),
        ("<ul><li>" * 3_000 + "bottom", "                - bottom"),
        ("<blockquote>" * 3_000 + "quoted", "> > > > > > > > quoted"),
        ("<table><tr><td>" * 2_000 + "cell", "| cell |"),
        ("<pre>" + "<div>" * 5_000 + "code", "```\ncode\n```"),
        ("<p>lone \ud800 surrogate</p>", "lone surrogate"),
        ("plain text, no markup", "plain text, no markup"),
    ],
)
def test_bad_input_never_raises(html: str, expected: str) -> None:
    assert extract(html) == expected


def test_binary_bytes_read_as_text_never_raise() -> None:
    junk = bytes(range(256)).decode("latin-1") * 200
    assert isinstance(extract(junk), str)
    assert extract(bytes(range(256)).decode("utf-8", "surrogateescape") * 50) is not None


def test_a_five_megabyte_page_is_extracted_whole() -> None:
    section = (
        "<section><h2>Part {i}</h2><p>Paragraph {i} with <a href='#'>a link</a> and <code>code_{i}</code>.</p>"
        "<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table></section>"
    )
    html = "<main>" + "".join(section.format(i=i) for i in range(26_000)) + "</main>"
    assert len(html) > 5_000_000
    out = extract(html)  # its speed is measured by the benchmark, not here
    assert out is not None
    assert out.startswith("## Part 0\n\nParagraph 0 with a link and `code_0`.\n\n- one\n- two\n\n| a | b |")
    assert "## Part 25999" in out


def test_a_page_through_the_engine_reads_as_its_content(hr: Headroom) -> None:
    result = hr.compress_text(PAGE, query="What is the default timeout?")
    assert (result.kind, result.outcome) == ("html", "compressed")
    assert "Every client call has a default timeout of 30 seconds." in result.text
    for gone in ("dataLayer", "cookies", "font-family", "Pricing", "newsletter"):
        assert gone not in result.text
    assert result.tokens_after * 3 < result.tokens_before
    assert hr.retrieve(result.ref or "") == PAGE


def test_markup_nested_deeper_than_any_page_passes_through() -> None:
    soup = "<div><span class='a'>" * 40_000  # quadratic in the parser's tree building
    assert extract(soup) is None
    ordinary = (
        "<html><body>"
        + "<div><p>Paragraph one of many.</p><ul><li>a<li>b</ul></div>\n" * 5_000
        + "</body></html>"
    )
    assert "Paragraph one of many." in (extract(ordinary) or "")  # 5,000 siblings: shallow, parsed
    deep_but_fine = "<div>" * 9_000 + "<p>Deep but real.</p>" + "</div>" * 9_000 + "x" * 70_000
    assert "Deep but real." in (extract(deep_but_fine) or "")
