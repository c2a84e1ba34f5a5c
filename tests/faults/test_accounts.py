"""Scenario 4: AssumeRole denied for one account; that account is reported failed, the others complete."""
from __future__ import annotations

from typing import Any

from fault_harness import Faults
from proxy import Call, Rule

from collector_core.notify.summary import render_summary


def test_an_account_whose_role_cannot_be_assumed_fails_alone(faults: Faults, figures: dict[str, Any]) -> None:
    denied, *others = faults.org.accounts

    def for_denied(call: Call) -> bool:
        return f"::{denied.id}:role/" in call.form().get("RoleArn", "")

    faults.proxy.add(Rule("error", service="sts", operation="AssumeRole", when=for_denied,
                          code="AccessDenied", status=403,
                          message=f"User is not authorized to perform: sts:AssumeRole on arn:aws:iam::"
                                  f"{denied.id}:role/aws-collector-readonly"))
    result = faults.run()

    by_account = {r.account.id: r for r in result.results or []}
    failed = by_account[denied.id]
    assert failed.status == "failed" and not failed.scans
    assert [(e.account_id, e.region, e.plugin, e.error) for e in failed.errors] == [
        (denied.id, "-", "-", "AccessDenied")]
    assert all(by_account[a.id].status == "ok" for a in others)
    assert faults.current() == faults.expected(accounts=others)
    # The failure is on record in the table (for the report) and in the run summary.
    (record,) = next(s for s in faults.states() if s.account_id == denied.id).attempts
    assert record.status == "failed" and [e["error"] for e in record.result["errors"]] == ["AccessDenied"]
    summary = render_summary(result, faults.registry, 1.0)
    assert f"{denied.id} - -: AccessDenied" in summary and "2 ok, 0 partial, 1 failed" in summary
    figures.update(assume_role_denied=faults.proxy.count(outcome="error:AccessDenied"),
                   accounts_ok=len(others), landed=len(faults.current()),
                   expected=len(faults.expected(accounts=others)))
