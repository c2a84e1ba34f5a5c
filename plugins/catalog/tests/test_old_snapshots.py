"""old_snapshots over moto's server: old and unused snapshots found, AMIs' and recent ones left out."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aws_collector_catalog import old_snapshots
from aws_collector_catalog.options import BadOption
from catalog_aws import Pages, other_account

from collector_core.testing import run_collector


def snapshot(ec2: Any, size: int = 10) -> str:
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=size)["VolumeId"]
    return ec2.create_snapshot(VolumeId=volume, Description="nightly")["SnapshotId"]


def test_old_snapshots_not_behind_an_ami_are_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(old_snapshots.COLLECTOR, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=120, hours=1))
    ec2 = ctx.client("ec2")
    unused, big = snapshot(ec2, 10), snapshot(ec2, 1000)
    ec2.create_tags(Resources=[unused], Tags=[{"Key": "Name", "Value": "nightly-db"}, {"Key": "team", "Value": "data"}])
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = ec2.create_image(InstanceId=instance, Name="golden")["ImageId"]
    behind_ami = {m["Ebs"]["SnapshotId"] for m in ec2.describe_images(ImageIds=[image])["Images"][0]
                  ["BlockDeviceMappings"]}
    assert behind_ami  # the AMI's own snapshot exists, old as the others

    found = {f.resource_id: f for f in run_collector(old_snapshots.COLLECTOR, ctx)}

    assert set(found) == {unused, big}
    assert found[unused].severity == "low" and found[big].severity == "medium"
    assert found[unused].details["estimated_monthly_cost_usd"] == 0.5  # 10 GiB at $0.05
    assert found[unused].details["age_days"] == 120
    assert "no AMI uses it" in found[unused].summary and "up to $0.50/month" in found[unused].summary
    assert found[unused].tags == {"Name": "nightly-db", "team": "data"} and found[big].tags == {}
    assert "(nightly-db)" in found[unused].summary


def test_snapshots_younger_than_max_age_days_are_not(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(old_snapshots.COLLECTOR, options={"max_age_days": 200},
                            now=dt.datetime.now(dt.UTC) + dt.timedelta(days=120, hours=1))
    snapshot(ctx.client("ec2"))

    assert run_collector(old_snapshots.COLLECTOR, ctx) == []


def test_every_page_of_snapshots_is_read(aws_server: str, collector_context: Any, ) -> None:
    ctx = collector_context(old_snapshots.COLLECTOR, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=91, hours=1))
    ec2 = ctx.client("ec2")
    made = {snapshot(ec2) for _ in range(5)}
    paged = Pages(ec2, "DescribeSnapshots", "Snapshots", size=2)

    assert {f.resource_id for f in run_collector(old_snapshots.COLLECTOR, ctx)} == made
    assert paged.requests == 3


def test_another_accounts_snapshots_are_not_its_own(aws_server: str, collector_context: Any) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=120, hours=1)
    snapshot(other_account("ec2"))

    assert run_collector(old_snapshots.COLLECTOR, collector_context(old_snapshots.COLLECTOR, now=later)) == []


def test_max_age_days_below_one_fails_the_scan_by_name(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(old_snapshots.COLLECTOR, options={"max_age_days": 0})

    with pytest.raises(BadOption, match="old_snapshots: option max_age_days must be a whole number of days >= 1"):
        run_collector(old_snapshots.COLLECTOR, ctx)
