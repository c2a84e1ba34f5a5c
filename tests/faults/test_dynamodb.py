"""Scenario 5: DynamoDB throttles, and refuses every write of one account's findings; every finding
is written eventually or reported by name, nothing is silently dropped, and an unstored finding
resolves nothing."""
from __future__ import annotations

import json
from typing import Any

from fault_harness import Faults
from proxy import Call, Rule


def test_throttling_and_refused_writes_lose_nothing(faults: Faults, figures: dict[str, Any]) -> None:
    stuck, *others = faults.org.accounts
    proxy = faults.proxy

    def stuck_finding(call: Call) -> bool:
        item = json.loads(call.body or b"{}").get("Item", {})
        return item.get("pk", {}).get("S") == f"A#{stuck.id}" and item.get("kind", {}).get("S") == "finding"

    proxy.add(Rule("error", service="dynamodb", rate=0.15, max_in_a_row=2))
    refused = proxy.add(Rule("error", operation="PutItem", when=stuck_finding, code="InternalServerError",
                             status=500))
    result = faults.run()

    by_account = {r.account.id: r for r in result.results or []}
    assert all(by_account[a.id].status == "ok" for a in others), [by_account[a.id].errors for a in others]
    landed = set(faults.stored())
    assert len(faults.stored()) == len(landed)
    assert landed == faults.expected(accounts=others)

    stuck_result = by_account[stuck.id]
    assert stuck_result.status == "failed" and stuck_result.written == 0
    assert all(e.error == "WriteFailed" for e in stuck_result.errors), stuck_result.errors
    counted = sum(stuck_result.error_counts.get(p, {}).get("WriteFailed", 0) for p in stuck_result.error_counts)
    assert counted == len(faults.expected(accounts=[stuck]))  # every refused finding, by name or by count
    named = {(e.plugin, e.account_id, e.region, e.message.split(":")[0]) for e in stuck_result.errors}
    assert named <= faults.expected(accounts=[stuck])
    # Unwritten findings resolve nothing: no scan of that account counts as successful.
    (attempt,) = next(s for s in faults.states() if s.account_id == stuck.id).attempts
    assert attempt.ok_places == frozenset()

    figures.update(
        puts=proxy.count(operation="PutItem"),
        dynamodb_throttled=proxy.count(service="dynamodb", outcome="throttled"),
        refused=refused.matched, landed=len(landed), reported=counted, expected=len(faults.expected()),
    )
