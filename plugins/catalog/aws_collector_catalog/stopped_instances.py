"""stopped_instances: EC2 instances stopped for more than ``max_stopped_days``.

A stopped instance costs nothing itself, but its EBS volumes are billed as if it ran; an instance
stopped for months is usually forgotten. EC2 keeps no "stopped since" field: the date is read from
the state transition reason, ``User initiated (2025-01-31 10:00:00 GMT)``. An instance whose reason
holds no date (stopped by AWS, or a reason in another form) is left out and logged, never guessed.

DescribeInstances (stopped only, by pages of 1000), then DescribeVolumes for the old ones' volumes.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from aws_collector_catalog import options, prices
from collector_core import Collector, CollectorContext, Finding, Scope, tags_from

NAME = "stopped_instances"
PAGE_SIZE = 1000
#: DescribeVolumes takes up to 200 values in one filter.
FILTER_VALUES = 200
STOPPED_AT = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")
MEDIUM_COST_USD = 50.0


def stopped_at(reason: str) -> dt.datetime | None:
    """When the instance stopped, from its state transition reason; None when it does not say."""
    match = STOPPED_AT.search(reason or "")
    if not match:
        return None
    return dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per instance stopped for more than max_stopped_days, with its volumes' cost."""
    max_days = options.days(ctx, NAME, "max_stopped_days")
    ec2 = ctx.client("ec2")
    old: list[tuple[Mapping[str, Any], dt.datetime, int]] = []
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}], PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                since = stopped_at(instance.get("StateTransitionReason", ""))
                if since is None:
                    ctx.log.info("stopped_instance_without_date", instance=instance["InstanceId"],
                                 reason=instance.get("StateTransitionReason"))
                    continue
                days = (ctx.now - since).days
                if days > max_days:
                    old.append((instance, since, days))
    volumes = _volumes(ec2, [instance["InstanceId"] for instance, _, _ in old])
    for instance, since, days in old:
        yield _finding(instance, since, days, max_days, volumes.get(instance["InstanceId"], []))


def _volumes(ec2: Any, instance_ids: list[str]) -> dict[str, list[Mapping[str, Any]]]:
    """The EBS volumes attached to these instances, by instance id."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for start in range(0, len(instance_ids), FILTER_VALUES):
        batch = instance_ids[start:start + FILTER_VALUES]
        pages = ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "attachment.instance-id", "Values": batch}])
        for page in pages:
            for volume in page.get("Volumes", []):
                for attachment in volume.get("Attachments", []):
                    if attachment.get("InstanceId") in batch:
                        found.setdefault(attachment["InstanceId"], []).append(volume)
    return found


def _finding(instance: Mapping[str, Any], since: dt.datetime, days: int, max_days: int,
             volumes: list[Mapping[str, Any]]) -> Finding:
    instance_id = instance["InstanceId"]
    costs = [prices.volume_month(v.get("VolumeType", ""), int(v.get("Size", 0)), v.get("Iops"), v.get("Throughput"))
             for v in volumes]
    cost = None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 2)
    tags = tags_from(instance)
    name = f" ({tags['Name']})" if tags.get("Name") else ""
    return Finding(
        resource_id=instance_id,
        summary=(f"EC2 instance {instance_id}{name} has been stopped for {days} days and its "
                 f"{len(volumes)} EBS volume(s) still bill ({prices.cost_text(cost)}): terminate it, or "
                 f"snapshot and delete its volumes"),
        severity="medium" if cost is not None and cost >= MEDIUM_COST_USD else "low",
        details={
            "instance_type": instance.get("InstanceType"),
            "stopped_since": options.iso(since),
            "stopped_days": days,
            "max_stopped_days": max_days,
            "volumes": [{"volume_id": v["VolumeId"], "size_gib": v.get("Size"), "volume_type": v.get("VolumeType")}
                        for v in volumes],
            "estimated_monthly_cost_usd": cost,
            "cost_basis": "its EBS volumes at list prices (a stopped instance's compute is not billed)",
        },
        tags=tags,  # which routes and mutes match
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.REGIONAL,
    summary="EC2 instances stopped for more than max_stopped_days, with their volumes' monthly cost",
    permissions=["ec2:DescribeInstances", "ec2:DescribeVolumes"],
    options={"max_stopped_days": 30},
    collect=collect,
    resource_type="AwsEc2Instance",
)
