"""A real browser for the HTML report: Debian's chromium, driven by playwright through its executable
path (nothing is downloaded). Without either, every test here skips and says what is missing."""
from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from collector_core.demo import synthetic
from collector_core.findings import StoredFinding
from collector_core.notify import page
from collector_core.notify.build import build_report
from collector_core.notify.report import Report

sys.path.insert(0, str(Path(__file__).parent))
from install_chromium import chromium  # noqa: E402 (this folder is not a package)

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
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
        pytest.skip("no chromium on PATH: as root, `python tests/browser/install_chromium.py` "
                    "(apt-get install -y chromium) installs it; tox -e py runs that first")
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


def example_report(findings: int = 240, *, extra: list[dict[str, Any]] | None = None,
                   account_name: str | None = None) -> Report:
    """The synthetic organization's report after two runs; ``extra`` findings (new) and another
    ``account_name`` go to its first account."""
    org = synthetic.organization(findings, now=NOW)
    state = org.states[0]
    state.findings += [StoredFinding({**state.findings[0].finding, **f}, seen_seq=2, first_seq=2) for f in extra or []]
    if account_name is not None:
        state.findings[:] = [dataclasses.replace(f, finding={**f.finding, "account_name": account_name})
                             for f in state.findings]
    return build_report(org.states, now=NOW, run=org.run, previous=org.previous, names=org.names)


def write_page(path: Path, report: Report, runs: int = 30) -> Path:
    """The report's page, with ``runs`` runs of synthetic history, written to ``path``."""
    path.write_text(page.render(report, synthetic.history(runs, now=NOW)), encoding="utf-8")
    return path
