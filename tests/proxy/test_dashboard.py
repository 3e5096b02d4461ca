"""``GET /dashboard`` in a real browser: Debian's chromium driven by Playwright (no browser download).

A scripted session goes through the proxy (the fake Anthropic reports cache usage and rate-limit
headers) and a library engine writes to the same ledger; the page must show the ledger's figures, draw
its charts, follow the source filter, fetch nothing from anywhere else, and split the blocks so each
split adds up to the headline. Screenshots (light, dark, phone) go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from click.testing import CliRunner
from headroom import Config, Headroom
from headroom_proxy._cli import dashboard
from headroom_proxy._dashboard import ASSETS, CSP

from .conftest import sdk

CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
_INSTALL = "chromium missing: `make browser` installs Debian's (apt-get install chromium)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail(_INSTALL, pytrace=False)
        pytest.skip(_INSTALL)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium refuses its sandbox
        found = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        found.close()


def session(kit: Any, stack: Any, store_url: str) -> None:
    """Two proxied requests of a priced model (cache usage reported) and library compressions."""
    stack.fake.reply_headers.update({"anthropic-ratelimit-input-tokens-limit": "400000",
                                     "anthropic-ratelimit-input-tokens-remaining": "391000",
                                     "anthropic-ratelimit-input-tokens-reset": "2026-12-03T20:40:00Z"})  # fmt: skip
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)

    def retrieve(body: dict[str, Any]) -> Any:  # the model's first turn pulls the first log back
        (ref,) = kit.REF.findall(json.dumps(body["messages"]))
        return kit.Calls([("headroom_retrieve", {"ref": ref, "query": "payment"})])

    stack.fake.script = [retrieve, kit.Text("Card declines.")]
    for seed in (7, 8):
        client.messages.create(model="claude-opus-4-5", max_tokens=50,
                               messages=kit.anthropic_messages(kit.app_log(seed=seed)))  # fmt: skip
    kit.proxy_requests(stack, 2)
    library = Headroom(Config(store=store_url, time_budget=0), source="library")
    for seed in (3, 4, 5):
        library.compress_text(kit.app_log(seed=seed), model="gpt-4o")
    library.close()


def text(page: Any, name: str) -> str:
    return str(page.locator(f'[data-figure="{name}"]').inner_text())


def table(page: Any, name: str) -> list[list[str]]:
    rows = page.locator(f"#{name} tbody tr").all()
    return [[cell.inner_text() for cell in row.locator("td").all()] for row in rows]


def refreshed(page: Any) -> None:
    """Wait for the page's next refresh to land (the status line names its time)."""
    page.evaluate("document.body.dataset.ready = 'false'")


def test_the_dashboard_shows_the_ledgers_figures(kit: Any, stack: Any, store_url: str, browser: Any) -> None:
    session(kit, stack, store_url)
    stats = httpx.get(f"{stack.proxy.url}/stats").json()
    library = httpx.get(f"{stack.proxy.url}/stats", params={"source": "library"}).json()
    assert stats["money"]["with_usage"] == 2
    assert stats["money"]["at_cache_mix"] > 0
    assert library["tokens_before"] - library["tokens_after"] > 0

    context = browser.new_context(viewport={"width": 1280, "height": 1400}, color_scheme="light")
    page = context.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(stack.proxy.url) else elsewhere.append(r.url))
    page.goto(f"{stack.proxy.url}/dashboard")
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)

    saved = stats["tokens_before"] - stats["tokens_after"]
    assert text(page, "tokens-saved").startswith(f"{saved:,} (")
    assert f"{stats['tokens_before']:,} → {stats['tokens_after']:,}" in text(page, "tokens-before-after")
    money = stats["money"]
    assert f"({money['with_usage']} requests)" in text(page, "money-basis")
    assert money["net_saved"] < 1  # shown with four decimals
    # the saving is compression's alone: the provider's discount and the client's busts are apart
    assert text(page, "money-saved") == f"${money['net_saved']:.4f}"
    assert text(page, "busts-ours").startswith(f"{money['our_busts']} ours")
    assert text(page, "provider-discount") != "–"
    assert text(page, "ttfb").startswith("first byte added ")  # the warm request measured it
    assert "400000" in " ".join(" ".join(row) for row in table(page, "table-limits"))
    # a chart with data points (one per hour bucket of the session)
    assert int(page.locator("#chart-tokens").get_attribute("data-points")) >= 1
    assert page.locator("#chart-tokens canvas").count() == 1

    # no figure counted twice: each split of the blocks adds up to the headline
    for by in ("source", "model", "kind", "tool"):
        refreshed(page)
        page.select_option("#by", by)
        page.wait_for_selector("body[data-ready=true]")
        column = [int(row[4].replace(",", "")) for row in table(page, "table-by")]
        assert sum(column) == saved, by
    assert len(table(page, "table-by")) >= 1
    # split by tool: the proxied tool results, and the library's texts (no tool)
    assert {row[0] for row in table(page, "table-by")} == {"read_logs", "unknown"}
    # the model's retrieval, by the kind and the tool of the block it pulled back
    assert table(page, "table-retrievals") == [["log", "1", "5", "20.0%"]]  # 3 blocks are the library's
    assert table(page, "table-retrievals-tool") == [
        ["read_logs", "1", "2", "50.0%"],
        ["unknown", "0", "3", "0.0%"],
    ]

    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "dashboard-light.png"), full_page=True)

    # the source filter changes the figures to that source's
    refreshed(page)
    page.select_option("#source", "library")
    page.wait_for_selector("body[data-ready=true]")
    library_saved = library["tokens_before"] - library["tokens_after"]
    assert library_saved != saved
    assert text(page, "tokens-saved").startswith(f"{library_saved:,} (")
    assert text(page, "money-saved") == "$0.0000"  # the library's blocks were not proxied requests

    background = "getComputedStyle(document.body).backgroundColor"
    assert page.evaluate(background) == "rgb(247, 247, 245)"  # light, as the system asks
    page.click("#theme")  # dark
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(background) == "rgb(21, 23, 27)"
    page.screenshot(path=str(ARTEFACTS / "dashboard-dark.png"), full_page=True)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True)
    small = phone.new_page()
    small.goto(f"{stack.proxy.url}/dashboard")
    small.wait_for_selector("body[data-ready=true]", timeout=15_000)
    assert small.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than a phone
    small.screenshot(path=str(ARTEFACTS / "dashboard-phone.png"), full_page=True)
    phone.close()
    context.close()
    assert problems == []
    assert elsewhere == []


def test_the_page_and_its_assets_are_served_from_the_wheel_only(stack: Any) -> None:
    for name in ("", *(f"/{asset}" for asset in ASSETS)):
        reply = httpx.get(f"{stack.proxy.url}/dashboard{name}")
        assert reply.status_code == 200, name
        assert reply.headers["content-security-policy"] == CSP
        assert "http://" not in reply.text.replace(stack.proxy.url, "") or name.endswith(".js")
    page = httpx.get(f"{stack.proxy.url}/dashboard").text
    assert "https://" not in page
    assert "//cdn" not in page
    assert httpx.get(f"{stack.proxy.url}/dashboard/__init__.py").status_code == 404
    assert httpx.get(f"{stack.proxy.url}/dashboard/vendor/uPlot.LICENSE").status_code == 404
    licence = (
        Path(__file__).resolve().parents[2] / "packages/headroom-proxy/src/headroom_proxy/dashboard/vendor"
    )
    assert "MIT License" in (licence / "uPlot.LICENSE").read_text()
    pinned = re.search(r"^UPLOT := (\S+)$", (licence.parents[5] / "Makefile").read_text(), re.MULTILINE)
    assert pinned is not None
    # the vendored file is the version `make vendor` pins
    assert f"(v{pinned[1]})" in (licence / "uPlot.iife.min.js").read_text()[:80]


def test_headroom_dashboard_opens_the_running_proxys_page(stack: Any, kit: Any) -> None:
    result = CliRunner().invoke(dashboard, ["--port", str(stack.proxy.port), "--no-open"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"http://127.0.0.1:{stack.proxy.port}/dashboard"
    missing = CliRunner().invoke(dashboard, ["--port", str(kit.free_port()), "--no-open"])
    assert missing.exit_code == 1
    assert "start it with `headroom proxy --port" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
