"""The HTML report in a real browser, opened from disk as a person would: it loads with no error and
no request, its tables filter, sort and page, its chart is drawn, the keyboard reaches every
control, hostile names stay text, and printing leaves the controls out."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from page_helpers import example_report, write_page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')",
                             ).expect

SECTIONS = {"iam_key_age": 0, "open_security_groups": 1, "unattached_ebs": 2}
SG = SECTIONS["open_security_groups"]
HOSTILE_NAME = '<img src=x onerror="alert(\'account\')">'
HOSTILE_GROUP = "<script>alert('sg')</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_page(tmp_path_factory.mktemp("page") / "report.html", example_report(600))


def rows(tab: Any, section: int) -> list[list[str]]:
    """The cells of the rows a table shows, as text."""
    found = tab.locator(f"#plugin-{section} table.findings tbody tr")
    return [found.nth(i).locator("td").all_inner_texts() for i in range(found.count())]


def shown(tab: Any, section: int) -> str:
    return str(tab.locator(f"#plugin-{section} .shown").inner_text())


def test_the_page_opens_from_disk_with_no_error_and_asks_the_network_for_nothing(open_page: Any,
                                                                               report_file: Path) -> None:
    opened = open_page(report_file)

    assert opened.console_errors == [] and opened.page_errors == []  # a CSP violation is a console error
    assert opened.requests == [report_file.as_uri()]
    tab = opened.page
    assert tab.title().startswith("aws-collector report, 2026-11-30: ")
    assert tab.locator("h1").inner_text() == "aws-collector report"
    for section in SECTIONS.values():
        assert len(rows(tab, section)) == 100  # a page of rows at a time
        assert shown(tab, section).startswith("Rows 1 to 100 of ")


def test_filtering_narrows_the_rows(open_page: Any, report_file: Path) -> None:
    tab = open_page(report_file).page
    everything = shown(tab, SG)

    tab.get_by_label("Text").fill("bastion")
    expect(tab.locator("#filter-status")).to_contain_text("match the filters")
    matching = rows(tab, SG)
    assert 0 < len(matching) < 100 and all("bastion" in cells[4] for cells in matching)
    assert rows(tab, SECTIONS["unattached_ebs"]) == [["No findings match the filters."]]

    tab.get_by_label("Text").fill("")
    tab.get_by_label("Severity").select_option(label="critical and above")
    assert {cells[0] for cells in rows(tab, SG)} == {"critical"}
    assert "matching the filters" in shown(tab, SG)

    region = tab.get_by_label("Region")
    region.select_option("eu-west-1")
    assert {cells[2] for cells in rows(tab, SG)} == {"eu-west-1"}
    tab.get_by_label("Open at least (days)").fill("90")
    tab.get_by_label("Open at least (days)").dispatch_event("change")
    assert all(int(cells[5]) >= 90 for cells in rows(tab, SG))

    tab.get_by_role("button", name="Clear").click()
    expect(tab.locator("#filter-status")).to_contain_text("open findings on this page.")
    assert shown(tab, SG) == everything


def test_sorting_sorts_and_says_so(open_page: Any, report_file: Path) -> None:
    tab = open_page(report_file).page
    age = tab.locator(f"#plugin-{SG} th[data-key=age]")

    age.get_by_role("button").click()
    ages = [int(cells[5]) for cells in rows(tab, SG)]
    assert ages == sorted(ages, reverse=True) and age.get_attribute("aria-sort") == "descending"

    age.get_by_role("button").click()
    ages = [int(cells[5]) for cells in rows(tab, SG)]
    assert ages == sorted(ages) and age.get_attribute("aria-sort") == "ascending"

    tab.locator(f"#plugin-{SG} th[data-key=resource] button").click()
    resources = [cells[3] for cells in rows(tab, SG)]
    assert resources == sorted(resources) and age.get_attribute("aria-sort") is None


def test_the_pages_of_a_long_table(open_page: Any, report_file: Path) -> None:
    tab = open_page(report_file).page
    first = rows(tab, SG)

    tab.locator(f"#plugin-{SG}").get_by_role("button", name="Next page").click()

    assert shown(tab, SG).startswith("Rows 101 to ") and rows(tab, SG) != first
    assert tab.locator(f"#plugin-{SG}").get_by_role("button", name="Previous page").is_enabled()


def test_the_chart_draws_one_series_per_plugin(open_page: Any, report_file: Path) -> None:
    tab = open_page(report_file).page

    for panel in ("open", "new", "resolved"):
        series = tab.locator(f"#chart-{panel} g.series")
        assert [series.nth(i).get_attribute("data-plugin") for i in range(series.count())] == list(SECTIONS)
        for i in range(series.count()):
            box = series.nth(i).locator("polyline").bounding_box()
            assert box is not None and box["width"] > 300  # drawn across the chart, 30 runs wide
    assert tab.get_by_role("img", name="Open findings per plugin over the last 30 runs").is_visible()


def test_the_keyboard_reaches_every_kind_of_control(open_page: Any, report_file: Path) -> None:
    tab = open_page(report_file).page
    reached = []
    for _ in range(40):
        tab.keyboard.press("Tab")
        reached.append(tab.evaluate("document.activeElement.name || document.activeElement.textContent.trim()"))

    assert reached[0] == "Skip to the findings"
    for control in ("text", "severity", "account", "region", "age", "onlyNew", "Clear", "Severity", "Open (days)"):
        assert control in reached, (control, reached)
    # Enter on a focused sort button sorts.
    tab.locator(f"#plugin-{SG} th[data-key=age] button").focus()
    tab.keyboard.press("Enter")
    assert tab.locator(f"#plugin-{SG} th[data-key=age]").get_attribute("aria-sort") == "descending"


def test_hostile_names_from_aws_and_plugins_stay_text(open_page: Any, tmp_path: Path) -> None:
    report = example_report(60, account_name=HOSTILE_NAME, extra=[
        {"plugin": "open_security_groups", "resource_id": "sg-0hostile", "severity": "critical",
         "summary": f"sg-0hostile ({HOSTILE_GROUP}) allows 0.0.0.0/0 on 22"}])
    opened = open_page(write_page(tmp_path / "hostile.html", report))
    tab = opened.page

    assert opened.dialogs == [] and opened.page_errors == [] and opened.console_errors == []
    assert tab.locator("img").count() == 0 and tab.locator("script").count() == 2
    tab.get_by_label("Text").fill("sg-0hostile")
    expect(tab.locator("#filter-status")).to_contain_text("match the filters")
    (cells,) = rows(tab, SG)
    assert cells[4] == f"sg-0hostile ({HOSTILE_GROUP}) allows 0.0.0.0/0 on 22"
    assert cells[1].startswith(HOSTILE_NAME)
    assert tab.locator("#accounts table").get_by_text(HOSTILE_NAME).count() == 1
    assert opened.dialogs == [] and tab.locator("img").count() == 0


def test_printing_leaves_the_controls_out(open_page: Any, report_file: Path, tmp_path: Path) -> None:
    tab = open_page(report_file).page

    tab.emulate_media(media="print")

    for hidden in ("#filters", f"#plugin-{SG} .pager", "nav.contents"):
        assert tab.locator(hidden).evaluate("e => getComputedStyle(e).display") == "none", hidden
    assert tab.locator(f"#plugin-{SG} table.findings").is_visible()
    assert tab.locator("#chart-open").is_visible()
    pdf = tab.pdf(path=str(tmp_path / "report.pdf"))
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000


def test_the_screenshot_in_the_docs(open_page: Any, tmp_path: Path) -> None:
    """Takes docs/report.png, the README's picture of the page, when AWS_COLLECTOR_SCREENSHOT names it."""
    target = Path(os.environ.get("AWS_COLLECTOR_SCREENSHOT") or tmp_path / "report.png")
    tab = open_page(write_page(tmp_path / "example.html", example_report(240)), device_scale_factor=1).page

    tab.get_by_label("Account", exact=True).select_option(label="prod-web (100000015838)")
    tab.get_by_label("Severity").select_option(label="high and above")
    tab.locator(f"#plugin-{SG} th[data-key=age] button").click()
    tab.evaluate("window.scrollTo(0, 0)")  # the click scrolled; the sticky filters belong at the top
    box = tab.locator(f"#plugin-{SG} table").bounding_box()
    height = box["y"] + box["height"] + 16
    picture = tab.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": 1280, "height": height},
                             full_page=True)

    assert picture.startswith(b"\x89PNG") and len(picture) > 50_000
