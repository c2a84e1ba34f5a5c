"""old_snapshots: EBS snapshots the account owns, older than ``max_age_days``, that none of its AMIs
in the region uses (deleting a snapshot behind an AMI would break the AMI, so those are left out).

One DescribeImages (the account's own AMIs, their block device mappings) and DescribeSnapshots by
pages of 1000. The cost is an upper bound: a snapshot stores only the blocks that changed since
the one before it, which no Describe call tells, so the source volume's size is used.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from aws_collector_catalog import options, prices
from collector_core import Collector, CollectorContext, Finding, Scope, tags_from

NAME = "old_snapshots"
#: DescribeSnapshots returns up to 1000 a page.
PAGE_SIZE = 1000
#: At or above this estimated USD a month, a finding is medium rather than low.
MEDIUM_COST_USD = 50.0


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per old snapshot of the account's that no AMI of the account's uses."""
    max_age = options.days(ctx, NAME, "max_age_days")
    ec2 = ctx.client("ec2")
    in_use = set()
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]):
        for image in page.get("Images", []):
            for mapping in image.get("BlockDeviceMappings", []):
                snapshot = (mapping.get("Ebs") or {}).get("SnapshotId")
                if snapshot:
                    in_use.add(snapshot)
    # OwnerIds=self is what AWS needs; the owner-id filter says the same where "self" is not understood.
    pages = ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], Filters=[{"Name": "owner-id", "Values": [ctx.account.id]}],
        PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for snapshot in page.get("Snapshots", []):
            started = snapshot.get("StartTime")
            if snapshot["SnapshotId"] in in_use or not isinstance(started, dt.datetime):
                continue
            age = (ctx.now - started).days
            if age > max_age:
                yield _finding(snapshot, age, max_age)


def _finding(snapshot: Mapping[str, Any], age: int, max_age: int) -> Finding:
    snapshot_id, size = snapshot["SnapshotId"], int(snapshot.get("VolumeSize") or 0)
    cost = round(size * prices.SNAPSHOT_GB_MONTH, 2)
    tags = tags_from(snapshot)
    name = f" ({tags['Name']})" if tags.get("Name") else ""
    return Finding(
        resource_id=snapshot_id,
        summary=(f"EBS snapshot {snapshot_id}{name} of {snapshot.get('VolumeId') or 'a deleted volume'} is "
                 f"{age} days old and no AMI uses it: delete it if no restore needs it "
                 f"({prices.cost_text(cost, prefix='up to ')})"),
        severity="medium" if cost >= MEDIUM_COST_USD else "low",
        details={
            "volume_id": snapshot.get("VolumeId"),
            "volume_size_gib": size,
            "started": options.iso(snapshot.get("StartTime")),
            "age_days": age,
            "max_age_days": max_age,
            "description": snapshot.get("Description", ""),
            "estimated_monthly_cost_usd": cost,
            "cost_basis": "upper bound: the source volume's size at the snapshot list price",
        },
        tags=tags,  # which routes and mutes match
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.REGIONAL,
    summary="EBS snapshots older than max_age_days that no AMI of the account uses, with a cost estimate",
    permissions=["ec2:DescribeImages", "ec2:DescribeSnapshots"],
    options={"max_age_days": 90},
    collect=collect,
)
