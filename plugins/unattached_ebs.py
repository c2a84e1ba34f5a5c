"""Built-in collector: EBS volumes in state ``available`` (attached to nothing), with a cost estimate.

One ``ec2:DescribeVolumes`` call per page of up to 500 volumes; the ``status`` filter runs
server-side, so attached volumes are never transferred.

Severity is ``low``, or ``medium`` when the estimated cost reaches ``MEDIUM_COST_USD`` a month:
a large or provisioned-IOPS volume left behind is worth a look sooner than a small one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from collector_core import Collector, CollectorContext, Finding, Scope, hookimpl, tags_from

#: DescribeVolumes accepts at most 500 results a page.
PAGE_SIZE = 500

#: USD per GiB-month by volume type: us-east-1 list prices, an estimate rather than a bill
#: (other regions cost up to ~50% more; "standard" also bills per I/O, left out here).
PRICE_PER_GIB_MONTH: dict[str, float] = {
    "gp2": 0.10,
    "gp3": 0.08,
    "io1": 0.125,
    "io2": 0.125,
    "st1": 0.045,
    "sc1": 0.015,
    "standard": 0.05,
}
#: USD per provisioned IOPS-month for io1 and io2 (io2's first tier; higher tiers are cheaper).
PIOPS_PRICE = 0.065
#: gp3 includes 3000 IOPS and 125 MB/s; more is billed per IOPS-month and per MB/s-month.
GP3_FREE_IOPS, GP3_IOPS_PRICE = 3000, 0.005
GP3_FREE_THROUGHPUT, GP3_THROUGHPUT_PRICE = 125, 0.04

#: Estimated USD a month at or above which a volume is "medium" rather than "low".
MEDIUM_COST_USD = 100.0


def monthly_cost(volume_type: str, size_gib: int, iops: int | None, throughput: int | None) -> float | None:
    """Estimated USD a month for one volume at us-east-1 list prices; None for an unknown type."""
    price = PRICE_PER_GIB_MONTH.get(volume_type)
    if price is None:
        return None
    cost = size_gib * price
    if volume_type in ("io1", "io2"):
        cost += (iops or 0) * PIOPS_PRICE
    elif volume_type == "gp3":
        cost += max(0, (iops or GP3_FREE_IOPS) - GP3_FREE_IOPS) * GP3_IOPS_PRICE
        cost += max(0, (throughput or GP3_FREE_THROUGHPUT) - GP3_FREE_THROUGHPUT) * GP3_THROUGHPUT_PRICE
    return round(cost, 2)


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """Yield one finding per EBS volume in state ``available`` in ctx.region."""
    ec2 = ctx.client("ec2")
    pages = ec2.get_paginator("describe_volumes").paginate(
        Filters=[{"Name": "status", "Values": ["available"]}],
        PaginationConfig={"PageSize": PAGE_SIZE},
    )
    for page in pages:
        for volume in page.get("Volumes", []):
            # The filter is server-side; checking again keeps an odd endpoint from misreporting.
            if volume.get("State") == "available":
                yield _finding(volume)


def _finding(volume: Mapping[str, Any]) -> Finding:
    volume_id = volume["VolumeId"]
    size = int(volume.get("Size", 0))
    volume_type = volume.get("VolumeType", "unknown")
    cost = monthly_cost(volume_type, size, volume.get("Iops"), volume.get("Throughput"))
    tags = tags_from(volume)
    created = volume.get("CreateTime")
    details = {
        "size_gib": size,
        "volume_type": volume_type,
        "iops": volume.get("Iops"),
        "throughput_mibps": volume.get("Throughput"),
        "created": _iso(created) if isinstance(created, dt.datetime) else None,
        "availability_zone": volume.get("AvailabilityZone"),
        "estimated_monthly_cost_usd": cost,
        "tags": tags,
    }
    name = f" ({tags['Name']})" if tags.get("Name") else ""
    return Finding(
        resource_id=volume_id,
        summary=f"Unattached EBS volume {volume_id}{name}: {size} GiB {volume_type}, {_cost_text(cost)}",
        severity="medium" if cost is not None and cost >= MEDIUM_COST_USD else "low",
        details=details,
        tags=tags,
    )


def format_finding(finding: Mapping[str, Any]) -> str:
    """One report line, e.g. ``vol-123 100 GiB gp3, ~$8.00/month, unattached``."""
    details = finding.get("details") or {}
    cost = details.get("estimated_monthly_cost_usd")
    return (
        f"{finding.get('resource_id')} {details.get('size_gib')} GiB {details.get('volume_type')}, "
        f"{_cost_text(None if cost is None else float(cost))}, unattached"
    )


def _cost_text(cost: float | None) -> str:
    return "cost unknown" if cost is None else f"~${cost:,.2f}/month"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@hookimpl
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the unattached_ebs collector."""
    register(
        Collector(
            name="unattached_ebs",
            scope=Scope.REGIONAL,
            summary="EBS volumes not attached to any instance, with an estimated monthly cost",
            permissions=["ec2:DescribeVolumes"],
            options={},
            collect=collect,
            format=format_finding,
            resource_type="AwsEc2Volume",
        )
    )
