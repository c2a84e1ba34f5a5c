"""Helpers for the browser tests: the synthetic organization's report, written as a page."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from collector_core.demo import synthetic
from collector_core.findings import StoredFinding, order
from collector_core.notify import page
from collector_core.notify.build import build_report
from collector_core.notify.report import Report

NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)


def example_report(findings: int = 240, *, extra: list[dict[str, Any]] | None = None,
                   account_name: str | None = None) -> Report:
    """The synthetic organization's report after two runs; ``extra`` findings (new) and another
    ``account_name`` go to its first account."""
    org = synthetic.organization(findings, now=NOW)
    state = org.states[0]
    found = list(state.findings)
    found += [StoredFinding({**found[0].finding, **f}, seen_seq=2, first_seq=2) for f in extra or []]
    if account_name is not None:  # as AWS would name it: in the findings and in the attempts' records
        found = [dataclasses.replace(f, finding={**f.finding, "account_name": account_name}) for f in found]
        state.attempts[:] = [dataclasses.replace(a, result={**a.result, "account": {"id": a.account_id,
                                                                                     "name": account_name}})
                             for a in state.attempts]
    state.findings = sorted(found, key=lambda f: order(f.finding))  # the store's key order
    return build_report(org.states, now=NOW, run=org.run, previous=org.previous, names=org.names)


def write_page(path: Path, report: Report, runs: int = 30) -> Path:
    """The report's page, with ``runs`` runs of synthetic history, written to ``path``."""
    path.write_text(page.render(report, synthetic.history(runs, now=NOW)), encoding="utf-8")
    return path
