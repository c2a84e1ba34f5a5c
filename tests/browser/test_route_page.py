"""The report page opened for one route, as a route's message links it (``?route=NAME``, or
``#route=NAME`` after a presigned link's query): only that route's findings show, with its totals,
and the Route control says which."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from page_helpers import NOW, write_page

from collector_core.demo import synthetic
from collector_core.notify.build import build_reports
from collector_core.notify.routes import Match, Route

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')",
                             ).expect


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The synthetic organization's page with two routes: its first account, and what is high or worse."""
    org = synthetic.organization(600, now=NOW)
    first = org.states[0].account_id
    routes = [Route("first-account", Match(accounts=(first,))), Route("urgent", Match(min_severity="high"))]
    reports = build_reports(org.states, now=NOW, run=org.run, previous=org.previous, names=org.names, routes=routes)
    path = write_page(tmp_path_factory.mktemp("routes") / "report.html", reports.full)
    return path, {"first": first, "reports": reports}


def _cells(tab: Any) -> list[list[str]]:
    found = tab.locator("table.findings tbody tr")
    return [found.nth(i).locator("td").all_inner_texts() for i in range(found.count())]


def _open_url(browser: Any, path: Path, suffix: str) -> Any:
    """The page from disk at its URL plus ``suffix`` (a query or a fragment), once its script is done."""
    tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(path.as_uri() + suffix)
    tab.wait_for_selector("html[data-ready=true]", state="attached")
    assert errors == []
    return tab


@pytest.fixture
def browser(browser: Any) -> Iterator[Any]:
    """The session's browser; the contexts a test opens are closed after it."""
    yield browser
    for context in browser.contexts:
        context.close()


def test_the_page_opened_on_a_route_shows_only_its_findings(browser: Any, routed: tuple[Path, dict]) -> None:
    path, known = routed
    route = known["reports"].routes["first-account"]
    assert 0 < route.open < known["reports"].full.open
    page = _open_url(browser, path, "?route=first-account")

    expect(page.locator("#filter-route")).to_have_value("0")
    expect(page.locator("#route-note")).to_have_text(
        f"Opened on the route first-account: its {route.open} open findings ({route.new} new) are the rows below; "
        "the totals above are the whole report's.")
    assert page.locator("#filter-status").inner_text().startswith(f"Route first-account: {route.open} open findings")
    rows = _cells(page)
    assert rows and all(known["first"] in cells[1] for cells in rows if len(cells) > 1)
    # Every row of the route, and only those, across the plugins' tables.
    assert page.locator("#filter-status").inner_text().endswith(f"{route.open} of {known['reports'].full.open} "
                                                                 "open findings match the filters.")


def test_a_route_after_a_signed_query_and_the_route_control(browser: Any, routed: tuple[Path, dict]) -> None:
    path, known = routed
    urgent = known["reports"].routes["urgent"]
    assert 0 < urgent.open < known["reports"].full.open
    page = _open_url(browser, path, "#route=urgent")

    assert page.locator("#filter-status").inner_text().startswith(f"Route urgent: {urgent.open} open findings")
    assert {cells[0] for cells in _cells(page) if len(cells) > 1} <= {"high", "critical"}
    page.select_option("#filter-route", label="any")
    expect(page.locator("#route-note")).to_be_hidden()
    expect(page.locator("#filter-status")).to_have_text(f"{known['reports'].full.open} open findings on this page.")
