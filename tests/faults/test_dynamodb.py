"""Scenario 5: DynamoDB leaves half of every batch unprocessed and throttles; every finding is
written eventually or reported by name; nothing is silently dropped."""
from __future__ import annotations

from typing import Any

from fault_harness import Faults
from proxy import Rule


def test_unprocessed_items_and_throttling_lose_nothing(faults: Faults, figures: dict[str, Any]) -> None:
    stuck, *others = faults.org.accounts
    proxy = faults.proxy
    proxy.add(Rule("error", service="dynamodb", rate=0.15, max_in_a_row=2))
    halving = proxy.add(Rule(
        "unprocessed", operation="BatchWriteItem", keep=0.5,
        # One account's findings are never taken: they must come back as reported failures.
        hold=lambda item: item.get("pk", "").startswith(f"{stuck.id}#"),
    ))
    result = faults.run(store_attempts=8)

    by_account = {r.account.id: r for r in result.results or []}
    assert all(by_account[a.id].status == "ok" for a in others), [by_account[a.id].errors for a in others]
    landed = set(faults.stored())
    assert len(faults.stored()) == len(landed)
    assert landed == faults.expected(accounts=others)

    stuck_result = by_account[stuck.id]
    assert stuck_result.status == "failed" and stuck_result.written == 0
    reported = {(e.plugin, e.account_id, e.region, e.message.split(":")[0]) for e in stuck_result.errors}
    assert all(e.error == "WriteFailed" and "UnprocessedItems" in e.message for e in stuck_result.errors)
    assert reported == faults.expected(accounts=[stuck])
    assert len(stuck_result.errors) == len(reported)
    # Unwritten findings resolve nothing: no scan of that account counts as complete.
    record = next(r for r in faults.contents().account_runs if r.account_id == stuck.id)
    assert record.scanned_ok == set()

    figures.update(
        batch_writes=proxy.count(operation="BatchWriteItem"),
        partial_batches=proxy.count(operation="BatchWriteItem", outcome="partial"),
        all_unprocessed=proxy.count(operation="BatchWriteItem", outcome="unprocessed"),
        dynamodb_throttled=proxy.count(service="dynamodb", outcome="throttled"),
        batch_rule_matched=halving.matched,
        landed=len(landed), reported=len(reported),
        expected=len(faults.expected()),
    )
