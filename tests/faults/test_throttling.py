"""Scenario 1: 30 % of every AWS call throttled; every finding still lands, exactly once."""
from __future__ import annotations

import time
from typing import Any

from fault_harness import Faults
from proxy import Rule


def test_every_finding_lands_once_when_30_percent_of_calls_are_throttled(
    faults: Faults, figures: dict[str, Any]
) -> None:
    # At most three refusals in a row for one request: botocore's retries can then always win,
    # so any loss would be the runtime's, not the dice's. A rule (and a seeded die) per service, so
    # which of a service's calls are throttled does not depend on how threads interleave services.
    services = ("ec2", "iam", "sts", "dynamodb")
    for service in services:
        faults.proxy.add(Rule("error", service=service, rate=0.3, max_in_a_row=3))
    faults.proxy.add(Rule("error", rate=0.3, max_in_a_row=3, when=lambda call: call.service not in services))
    started = time.monotonic()
    result = faults.run()
    seconds = time.monotonic() - started

    throttled, total = faults.proxy.count(outcome="throttled"), faults.proxy.count()
    stored = faults.stored()
    figures.update(calls=total, throttled=throttled, throttled_pct=round(100 * throttled / total, 1),
                   services=sorted({k[0] for k in faults.proxy.counts}),
                   landed=len(set(stored)), expected=len(faults.expected()), seconds=round(seconds, 1))
    assert 0.2 < throttled / total < 0.4, figures
    # Throttling of every kind was exercised: EC2, IAM, STS and DynamoDB shapes.
    for service in services:
        assert faults.proxy.count(service=service, outcome="throttled"), service
    assert [r.status for r in result.results or []] == ["ok"] * len(faults.org.accounts), \
        [e for r in result.results or [] for e in r.errors]
    assert len(stored) == len(set(stored)), "a finding was stored twice"
    assert set(stored) == faults.expected()
    assert faults.current() == faults.expected()
