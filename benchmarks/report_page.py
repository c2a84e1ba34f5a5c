"""The HTML report at scale: the report model and page built from synthetic account states (no AWS
needed), in a process of its own for its peak memory, then loaded from disk in chromium.

``python -m benchmarks.report_page FINDINGS FILE`` builds one page and prints its figures as JSON;
``measure`` runs that, loads the page in the system chromium when there is one, and adds the rows
to the harness's report. What the figures mean: docs/performance.md.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
#: Building: 2 s per 20,000 findings (the notifier Lambda has 300 s, and a laptop user waits); loading:
#: a person opening the morning's page should not wait for it, however big the organization.
TARGET_BUILD_SECONDS_PER_FINDING, TARGET_LOAD_SECONDS = 2.0 / 20_000, 2.0
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build(findings: int, path: Path) -> dict[str, Any]:
    """Build the report and its page from ``findings`` synthetic findings; the child's figures."""
    from collector_core.demo import synthetic
    from collector_core.notify import page, text
    from collector_core.notify.build import build_report

    org = synthetic.organization(findings, accounts=max(12, findings // 500), now=NOW)
    history = synthetic.history(30, now=NOW)
    before = _rss_mb()
    started = time.perf_counter()
    report = build_report(org.states, now=NOW, run=org.run, previous=org.previous, names=org.names)
    built = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        page.write(report, history, out)
    written = time.perf_counter()
    for _ in text.lines(report):  # the baseline: the same report as the terminal's text
        pass
    return {"findings": report.open, "model": built - started, "page": written - built,
            "text": time.perf_counter() - written, "bytes": path.stat().st_size,
            "embedded": sum(min(len(s.open), page.MAX_ROWS_PER_PLUGIN) for s in report.sections),
            "rss_before_mb": before, "peak_rss_mb": _peak_rss_mb()}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def load(path: Path, tries: int = 3) -> tuple[float, float, str]:
    """(median seconds from navigation to the tables drawn, median seconds to filter, browser version)."""
    from playwright.sync_api import expect, sync_playwright

    loads, filters = [], []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=_chromium(), args=ARGS)
        for _ in range(tries):
            tab = browser.new_page()
            started = time.perf_counter()
            tab.goto(path.as_uri())
            tab.wait_for_selector("html[data-ready=true]", state="attached")
            loads.append(time.perf_counter() - started)
            started = time.perf_counter()
            tab.locator("#filter-text").fill("bastion")
            expect(tab.locator("#filter-status")).to_contain_text("match the filters")
            filters.append(time.perf_counter() - started)
            tab.close()
        version = browser.version
        browser.close()
    return statistics.median(loads), statistics.median(filters), version


def _can_load() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return _chromium() is not None


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def measure(report: Any, sizes: tuple[int, ...]) -> None:
    """Add a build row and a load row per size to the harness's report."""
    for findings in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.html"
            done = subprocess.run([sys.executable, "-m", "benchmarks.report_page", str(findings), str(path)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise SystemExit(f"benchmarks.report_page failed:\n{done.stderr[-3000:]}")
            figures = json.loads(done.stdout)
            total = figures["model"] + figures["page"]
            target = TARGET_BUILD_SECONDS_PER_FINDING * findings
            report.add(f"report page: build at {findings:,} findings",
                       f"{total:.2f} s = model {figures['model']:.2f} s + page {figures['page']:.2f} s; "
                       f"{figures['bytes'] / 1e6:.1f} MB, {figures['embedded']:,} rows embedded; peak RSS "
                       f"{figures['peak_rss_mb']:.0f} MB ({figures['rss_before_mb']:.0f} MB before building)",
                       f"<= {target:g} s", f"the same report as terminal text: {figures['text']:.2f} s",
                       ok=total <= target)
            if not _can_load():
                report.add(f"report page: browser load at {findings:,} findings", "skipped: no chromium or no "
                           "playwright (tests/browser/install_chromium.py)", f"<= {TARGET_LOAD_SECONDS:g} s")
                continue
            loaded, filtered, version = load(path)
            report.add(f"report page: browser load at {findings:,} findings",
                       f"{loaded:.2f} s to the first page of every table (file://, chromium {version}); "
                       f"a text filter over every row {filtered:.2f} s", f"<= {TARGET_LOAD_SECONDS:g} s",
                       "median of 3 loads", ok=loaded <= TARGET_LOAD_SECONDS)


if __name__ == "__main__":
    print(json.dumps(build(int(sys.argv[1]), Path(sys.argv[2]))))
