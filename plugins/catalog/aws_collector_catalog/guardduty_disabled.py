"""guardduty_disabled: a region where GuardDuty has no enabled detector.

GuardDuty watches one region per detector; a region without an enabled one is a region where a
compromise goes unnoticed. ListDetectors, then GetDetector per detector until one is enabled.
The finding's resource is the region (one per account and region).
"""
from __future__ import annotations

from collections.abc import Iterator

from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "guardduty_disabled"


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding when the region has no enabled GuardDuty detector."""
    guardduty = ctx.client("guardduty")
    detectors = [d for page in guardduty.get_paginator("list_detectors").paginate()
                 for d in page.get("DetectorIds", [])]
    statuses = {}
    for detector in detectors:
        status = guardduty.get_detector(DetectorId=detector).get("Status", "")
        if status == "ENABLED":
            return
        statuses[detector] = status
    why = (f"its detector(s) {', '.join(statuses)} are suspended: enable them" if statuses
           else "it has no detector: enable GuardDuty here (or from the organization's delegated administrator)")
    yield Finding(
        resource_id=ctx.region,
        summary=f"GuardDuty is off in {ctx.region}: {why}",
        severity="medium",
        details={"detectors": statuses},
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.REGIONAL,
    summary="Regions where GuardDuty has no enabled detector",
    permissions=["guardduty:ListDetectors", "guardduty:GetDetector"],
    options={},
    collect=collect,
)
