"""A real browser for the HTML report: Debian's chromium, driven by playwright through its executable
path (nothing is downloaded). Without either, every test here skips and says what is missing."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from install_chromium import chromium

# As the probe of this machine starts it: no sandbox (root), and none of the background connections
# that a closed network refuses.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system chromium, started once for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    path = chromium()
    if path is None:
        pytest.skip("no chromium on PATH (or none where CHROMIUM names one): as root, `python "
                    "tests/browser/install_chromium.py` (apt-get install -y chromium) installs it; tox -e py runs "
                    "that first")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path, args=ARGS)
        yield launched
        launched.close()


@dataclass
class Opened:
    """A page open in the browser, and everything it said or asked for."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """A function that opens an HTML file from disk and waits for its script to finish."""
    contexts = []

    def open_(path: Path, **options: Any) -> Opened:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
        contexts.append(context)
        tab = context.new_page()
        opened = Opened(tab)
        tab.on("console", lambda m: opened.console_errors.append(m.text) if m.type in ("error", "warning") else None)
        tab.on("pageerror", lambda e: opened.page_errors.append(str(e)))
        tab.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
        tab.on("request", lambda r: opened.requests.append(r.url))
        tab.goto(path.as_uri())
        tab.wait_for_selector("html[data-ready=true]", state="attached")
        return opened

    yield open_
    for context in contexts:
        context.close()
