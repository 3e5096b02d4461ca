"""HTML benchmark: generated pages, an article wrapped in site chrome (QUALITY.md lists no HTML corpus).

Each page is built here by code from a fixed seed, so every run sees the same bytes: a docs page and a
blog article, each with ``<head>`` metadata, inline and linked styles and scripts (analytics, JSON-LD),
a navigation bar, a cookie banner, a sidebar and a footer around one ``<article>`` with headings,
paragraphs, lists, a table and a code block.

- main content retention: every heading text of the article and every non-blank line of its code block
  is visible (whitespace collapsed; the HTML-escaped form counts too).
- script/style leakage: no line of a ``<script>`` or ``<style>`` block (stripped, 12 characters or more)
  is visible.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

from ._core import Check, Context, Kind, Section, round_trip_check, share, summarize
from ._format import HEAD_COLUMNS, TAIL_COLUMNS, fmt_frac, head_cells, mark, plain, tail_cells

_VOCABULARY = """the pool keeps a small number of connections open and hands them to requests as they arrive
while idle sockets are closed after a timeout so that the server never holds more than it needs during quiet
hours each worker checks the health of its connection before use and retries once when the database restarts
or a network partition drops packets between the regions of the cluster"""
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Page:
    """A generated page and what the judge needs: article headings, code lines, script/style lines."""

    name: str
    html: str
    headings: tuple[str, ...]
    code: tuple[str, ...]
    hidden: tuple[str, ...]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(9, 22))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


_STYLE = """
  :root { --brand-primary: #2b59c3; --brand-muted: #6b7280; --radius-card: 6px; }
  body.site-layout { font-family: "Inter", system-ui, sans-serif; margin: 0; color: #111827; }
  .site-nav__link--active { border-bottom: 2px solid var(--brand-primary); font-weight: 600; }
  .cookie-consent-banner { position: fixed; bottom: 0; inset-inline: 0; background: #1f2937; }
  .sidebar-toc__item > a:hover { text-decoration: underline; color: var(--brand-primary); }
  @media (max-width: 768px) { .layout-grid--with-sidebar { grid-template-columns: 1fr; } }
"""

_SCRIPT = """
  window.dataLayer = window.dataLayer || [];
  function gtag(){ dataLayer.push(arguments); }
  gtag('config', 'G-7QX2K9LM4B', { anonymize_ip: true, page_path: location.pathname });
  document.addEventListener('DOMContentLoaded', function initCookieConsent() {
    var consentBanner = document.querySelector('[data-cookie-consent]');
    if (localStorage.getItem('cookieConsentAccepted') === 'yes') consentBanner.remove();
  });
"""

_CODE = {
    "docs": [
        "from poolkit import Pool, RetryPolicy",
        "",
        "pool = Pool(",
        '    dsn="postgresql://app@db.internal:5432/orders",',
        "    min_size=2,",
        "    max_size=20,",
        "    idle_timeout=30.0,",
        "    retry=RetryPolicy(attempts=3, backoff=0.2),",
        ")",
        "",
        "with pool.connection() as conn:",
        '    rows = conn.execute("SELECT id, total FROM orders WHERE total > %s", [100]).fetchall()',
        "    if len(rows) < 10 and pool.stats().waiting == 0:",
        '        print(f"{len(rows)} large orders & no waiting clients")',
    ],
    "blog": [
        "async function fetchWithRetry(url, attempts = 3) {",
        "  for (let i = 0; i < attempts; i++) {",
        "    const response = await fetch(url, { headers: { Accept: 'application/json' } });",
        "    if (response.ok && response.status !== 204) return response.json();",
        "    await new Promise((resolve) => setTimeout(resolve, 2 ** i * 100));",
        "  }",
        "  throw new Error(`gave up on ${url} after ${attempts} attempts`);",
        "}",
    ],
}

_HEADINGS = {
    "docs": (
        "Configuring the connection pool",
        [
            "Sizing the pool",
            "Idle timeouts & recycling",
            "Retries after a failover",
            "Reference: pool options",
        ],
    ),
    "blog": (
        "What we learned running 400 database replicas",
        [
            "Why the old pooler fell over",
            "Measuring the retry storm",
            "The fix, in twelve lines",
            "What we would do differently",
        ],
    ),
}


def build_page(name: str, seed: int) -> Page:
    """One page: ``name`` is ``docs`` or ``blog``; the same seed always builds the same bytes."""
    rng = random.Random(seed)
    title, sections = _HEADINGS[name]
    nav = "\n".join(
        f'      <li class="site-nav__item"><a class="site-nav__link" href="/{w}/">{w.title()}</a></li>'
        for w in ("guides", "reference", "changelog", "community", "pricing", "blog", "status", "careers")
    )
    labels = [html.escape(" ".join(h.split()[:2])) for h in sections]  # short: not the headings themselves
    toc = "\n".join(
        f'        <li class="sidebar-toc__item"><a href="#s{i}">{label}</a></li>'
        for i, label in enumerate(labels)
    )
    body = [f"      <h1>{html.escape(title)}</h1>", f'      <p class="lead">{_paragraph(rng)}</p>']
    code = _CODE[name]
    for index, heading in enumerate(sections):
        body.append(f'      <h2 id="s{index}">{html.escape(heading)}</h2>')
        body += [f"      <p>{_paragraph(rng)}</p>" for _ in range(rng.randint(2, 3))]
        if index == 0:
            items = "".join(f"\n        <li>{_sentence(rng)}</li>" for _ in range(4))
            body.append(f"      <ul>{items}\n      </ul>")
        if index == 1:
            items = "".join(f"\n        <li>{_sentence(rng)}</li>" for _ in range(3))
            body.append(f"      <ol>{items}\n      </ol>")
        if index == 2:
            lang = "python" if name == "docs" else "javascript"
            escaped = html.escape("\n".join(code), quote=False)
            body.append(f'      <pre><code class="language-{lang}">{escaped}</code></pre>')
        if index == 3:
            rows = "".join(
                f"\n          <tr><td><code>{k}</code></td><td>{rng.randint(1, 64)}</td>"
                f"<td>{' '.join(rng.choice(_WORDS) for _ in range(6))}</td></tr>"
                for k in ("min_size", "max_size", "idle_timeout", "max_lifetime", "retry_attempts")
            )
            body.append(
                '      <table class="options-table">\n        <thead><tr><th>Option</th><th>Default</th>'
                f"<th>Meaning</th></tr></thead>\n        <tbody>{rows}\n        </tbody>\n      </table>"
            )
    json_ld = (
        '\n  {"@context": "https://schema.org", "@type": "TechArticle", '
        f'"headline": "{title}", "datePublished": "2024-0{seed % 9 + 1}-12"}}\n'
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)} | Poolkit</title>
  <meta name="description" content="{html.escape(title)}: a guide for production deployments.">
  <link rel="stylesheet" href="/static/css/site.4f9c2e1b.css">
  <link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
  <style>{_STYLE}</style>
  <script async src="https://www.googletagmanager.com/gtag/js?id=G-7QX2K9LM4B"></script>
  <script>{_SCRIPT}</script>
  <script type="application/ld+json">{json_ld}</script>
</head>
<body class="site-layout">
  <div class="cookie-consent-banner" data-cookie-consent role="dialog" aria-live="polite">
    <p>We use cookies to improve your experience and to measure traffic. See our <a href="/privacy/">privacy
    policy</a>.</p>
    <button class="btn btn--primary" data-accept>Accept all</button>
    <button class="btn btn--ghost" data-reject>Reject non-essential</button>
  </div>
  <header class="site-header">
    <a class="site-header__logo" href="/"><svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 2L2 7l10 5 10-5-10-5zm0 13l-10-5v7l10 5 10-5v-7l-10 5z"/></svg>Poolkit</a>
    <nav class="site-nav" aria-label="Main">
    <ul class="site-nav__list">
{nav}
    </ul>
    </nav>
  </header>
  <div class="layout-grid layout-grid--with-sidebar">
    <aside class="sidebar">
      <h4 class="sidebar__title">On this page</h4>
      <ul class="sidebar-toc">
{toc}
      </ul>
      <p class="sidebar__promo">Poolkit Cloud: managed pools with zero-downtime failover.
        <a href="/cloud/">Start free</a></p>
    </aside>
    <main id="content">
    <article class="prose">
{chr(10).join(body)}
    </article>
    </main>
  </div>
  <footer class="site-footer">
    <p>&copy; 2024 Poolkit Labs. All rights reserved.
      <a href="/terms/">Terms</a> · <a href="/privacy/">Privacy</a></p>
  </footer>
  <script src="/static/js/site.9a7d3c21.js" defer></script>
</body>
</html>
"""
    hidden = tuple(
        line.strip()
        for block in (_STYLE, _SCRIPT, json_ld)
        for line in block.splitlines()
        if len(line.strip()) >= 12
    )
    return Page(
        f"{name}.html", page, (title, *sections), tuple(line for line in code if line.strip()), hidden
    )


def pages() -> list[Page]:
    return [build_page("docs", 1), build_page("blog", 2)]


def _visible(item: str, flat_output: str) -> bool:
    """``item`` (whitespace collapsed) or its HTML-escaped form occurs in the whitespace-collapsed output."""
    flat = " ".join(item.split())
    return flat in flat_output or html.escape(flat, quote=False) in flat_output


@dataclass(frozen=True)
class HtmlCoverage:
    headings: tuple[int, int]
    code: tuple[int, int]
    leaked: tuple[int, int]  # script/style lines visible, of all such lines


def html_coverage(page: Page, output: str) -> HtmlCoverage:
    """Article headings and code lines visible, and script/style lines (wrongly) visible, in ``output``."""
    flat = " ".join(output.split())
    headings = sum(1 for heading in page.headings if _visible(heading, flat))
    code = sum(1 for line in page.code if _visible(line, flat))
    leaked = sum(1 for line in page.hidden if _visible(line, flat))
    return HtmlCoverage((headings, len(page.headings)), (code, len(page.code)), (leaked, len(page.hidden)))


def run(ctx: Context) -> Section:
    """Compress every generated page without a query and judge what of the article survives."""
    columns = ["page", *HEAD_COLUMNS, "headings", "code lines", "script/style seen", "as"]
    section = Section(
        "html", "html: generated docs and blog pages", [*columns, *TAIL_COLUMNS], text_columns=1
    )
    measurements, rows = [], []
    kept = [0, 0]
    leaked = 0
    for page in pages():
        ctx.say(f"html: {page.name}")
        m = ctx.measure("html", page.name, page.html)
        measurements.append(m)
        coverage = html_coverage(page, m.text)
        kept = [
            kept[0] + coverage.headings[0] + coverage.code[0],
            kept[1] + coverage.headings[1] + coverage.code[1],
        ]
        leaked += coverage.leaked[0]
        rows.append(
            {
                **m.as_json(),
                "headings_visible": coverage.headings[0],
                "headings_total": coverage.headings[1],
                "code_lines_visible": coverage.code[0],
                "code_lines_total": coverage.code[1],
                "hidden_lines_visible": coverage.leaked[0],
                "hidden_lines_total": coverage.leaked[1],
            }
        )
        section.rows.append(
            [
                plain(page.name),
                *head_cells(summarize([m])),
                mark(fmt_frac(*coverage.headings), coverage.headings[0] == coverage.headings[1]),
                mark(fmt_frac(*coverage.code), coverage.code[0] == coverage.code[1]),
                mark(fmt_frac(*coverage.leaked), coverage.leaked[0] == 0),
                plain(m.out_kind or "-"),
                *tail_cells(summarize([m])),
            ]
        )
    group = summarize(measurements)
    section.rows.append(["[bold]all[/]", *head_cells(group), "", "", "", "", *tail_cells(group)])
    section.checks += [
        Check(
            "html article headings and code lines visible",
            kept[0] == kept[1],
            f"{fmt_frac(*kept)} {share(*kept):.0%}",
        ),
        Check("html nothing of script/style visible", leaked == 0, f"{leaked} line(s)"),
        round_trip_check("html", group),
    ]
    section.data = {"summary": group.as_json(), "pages": rows}
    return section


KIND = Kind("html", run)
