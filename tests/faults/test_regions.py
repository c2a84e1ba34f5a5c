"""Scenario 2: one region denied, one not enabled, two that never answer; the rest lands, and
each failure is a recorded error with its names, in the run summary and in the report."""
from __future__ import annotations

import io
import time
from typing import Any

from fault_harness import REGIONS, Faults, direct_client
from proxy import Rule

from collector_core.notify.channels import NotifySettings, notify
from collector_core.notify.summary import render_summary
from collector_core.store import Store

DENIED = "eu-west-1"  # seeded: its findings exist from the first, clean run
NOT_ENABLED = "ap-east-1"  # an opt-in region this account never enabled
REFUSED = "eu-central-1"  # the endpoint closes every connection unanswered
SILENT = "sa-east-1"  # the endpoint accepts and never answers
FAILING = {
    DENIED: "UnauthorizedOperation",
    NOT_ENABLED: "AuthFailure",
    REFUSED: "ConnectionClosedError",
    SILENT: "ReadTimeoutError",
}
REGIONAL_PLUGINS = ("open_security_groups", "unattached_ebs")


def test_failing_regions_are_recorded_by_name_and_the_rest_lands(
    faults: Faults, figures: dict[str, Any]
) -> None:
    regions = [*REGIONS, NOT_ENABLED, REFUSED, SILENT]
    config = faults.config(regions=regions)
    first = faults.run(config, clients=faults.clients(max_attempts=3, timeout=1))
    assert not first.failed and faults.current() == faults.expected()

    proxy = faults.proxy
    proxy.add(Rule("error", service="ec2", region=DENIED, code="UnauthorizedOperation", status=403,
                   message="You are not authorized to perform this operation."))
    proxy.add(Rule("error", region=NOT_ENABLED, code="AuthFailure", status=401,
                   message="AWS was not able to validate the provided access credentials"))
    proxy.add(Rule("drop", region=REFUSED))
    proxy.add(Rule("hang", region=SILENT, seconds=30))
    started = time.monotonic()
    second = faults.run(config, clients=faults.clients(max_attempts=3, timeout=1))
    seconds = time.monotonic() - started

    results = second.results or []
    assert [r.status for r in results] == ["partial"] * len(faults.org.accounts)
    for result in results:
        recorded = {(e.region, e.plugin, e.error) for e in result.errors}
        wanted = {(region, plugin, code) for region, code in FAILING.items() for plugin in REGIONAL_PLUGINS}
        assert recorded == wanted, result.errors
        assert all(e.account_id == result.account.id and e.message for e in result.errors)
        ok = {(s.region, s.plugin) for s in result.scans if s.ok}
        scanned = {(r, p) for r in REGIONS if r != DENIED for p in REGIONAL_PLUGINS}
        assert ok == scanned | {("global", "iam_key_age")}

    # Everything outside the failed regions was scanned again; nothing in them was resolved.
    stored = faults.stored()
    assert len(stored) == len(set(stored))
    assert faults.current() == faults.expected()
    rescanned = {s.finding["resource_id"] for state in faults.states() for s in state.findings
                 if s.finding["run_id"] == second.run_id}
    assert rescanned == {e[3] for e in faults.expected() if e[2] != DENIED}

    summary = render_summary(second, faults.registry, seconds)
    for result in results:
        for region, code in FAILING.items():
            for plugin in REGIONAL_PLUGINS:
                assert f"{result.account.id} {region} {plugin}: {code}" in summary, summary
    assert f"{len(faults.org.accounts)} partial" in summary

    out = io.StringIO()
    printed = NotifySettings.from_doc({"stdout": True}, faults.registry)
    sent = notify(printed, mutes=(), registry=faults.registry, clients=faults.clients(),
                  store=Store(config.table, direct_client("dynamodb", faults.org.endpoint)),
                  run_seq=second.run_seq, out=out)
    report = out.getvalue()
    assert sent.ok and len(sent.report.problems) == len(faults.org.accounts)
    for result in results:
        problem = next(p for p in sent.report.problems if p.account_id == result.account.id)
        assert problem.status == "partial" and problem.detail.startswith(f"{len(result.errors)} errors")
        assert f"{result.account.id} {result.account.name}: partial" in report
    figures.update(regions=len(regions), failing_regions=len(FAILING),
                   errors_per_account=len(results[0].errors),
                   dropped=proxy.count(outcome="dropped"), hung=proxy.count(outcome="hung"),
                   denied=proxy.count(outcome="error:UnauthorizedOperation"),
                   not_enabled=proxy.count(outcome="error:AuthFailure"),
                   landed=len(rescanned), expected_outside_failed=len(rescanned), seconds=round(seconds, 1))
    print(report)
