"""unattached_ebs against moto, and its pagination against a stubbed client, through the plugin kit
(collector_core.testing) as a plugin author would test it."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from aws_collector_plugins import unattached_ebs
from botocore.stub import Stubber

from collector_core import SEVERITIES, Collector, CollectorContext, Finding, Scope
from collector_core.testing import api_calls, run_collector

FILTERS = [{"Name": "status", "Values": ["available"]}]


@pytest.fixture
def collector(register_plugin: Any) -> Collector:
    """The collector as the runtime gets it: through the plugin's hook."""
    return register_plugin(unattached_ebs)["unattached_ebs"]


@pytest.fixture
def ctx(mocked_aws: None, collector: Collector, collector_context: Any) -> CollectorContext:
    return collector_context(collector)


def _collect(collector: Collector, collector_context: Any, region: str = "us-east-1") -> list[Finding]:
    return run_collector(collector, collector_context(collector, region=region))


def test_registration(register_plugin: Any) -> None:
    registry = register_plugin(unattached_ebs)
    # The module registers this one collector, the way the runtime loads it.
    own = [r.collector for r in registry.collectors.values() if r.plugin.value == unattached_ebs.__name__]
    (collector,) = own
    assert collector.name == "unattached_ebs"
    assert collector.scope is Scope.REGIONAL
    assert collector.permissions == ["ec2:DescribeVolumes"]


def test_reports_available_volumes_only(ctx: CollectorContext, collector: Collector) -> None:
    ec2 = ctx.client("ec2")
    gp3 = ec2.create_volume(
        Size=100, AvailabilityZone="us-east-1a", VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "old-backup"}]}],
    )["VolumeId"]
    io1 = ec2.create_volume(Size=500, AvailabilityZone="us-east-1b", VolumeType="io1", Iops=10000)["VolumeId"]
    # An instance's root volume and an attached data volume are in use: not reported.
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                 Placement={"AvailabilityZone": "us-east-1a"})["Instances"][0]["InstanceId"]
    attached = ec2.create_volume(Size=50, AvailabilityZone="us-east-1a", VolumeType="gp2")["VolumeId"]
    ec2.attach_volume(VolumeId=attached, InstanceId=instance, Device="/dev/sdf")
    in_use = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"] if v["State"] == "in-use"}
    assert attached in in_use and len(in_use) == 2
    calls = api_calls(ec2)

    findings = {f.resource_id: f for f in run_collector(collector, ctx)}

    assert set(findings) == {gp3, io1}
    assert calls == ["DescribeVolumes"]
    small = findings[gp3]
    assert small.severity == "low"
    assert small.details["size_gib"] == 100
    assert small.details["volume_type"] == "gp3"
    assert small.details["availability_zone"] == "us-east-1a"
    assert small.details["estimated_monthly_cost_usd"] == 8.0
    assert small.details["tags"] == {"Name": "old-backup"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", small.details["created"])
    # moto stamps the volume with the clock, not with the context's now (taken at collection,
    # which a long test session leaves minutes behind).
    assert abs(dt.datetime.fromisoformat(small.details["created"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert small.summary == f"Unattached EBS volume {gp3} (old-backup): 100 GiB gp3, ~$8.00/month"
    # 500 GiB at 0.125 plus 10000 IOPS at 0.065: past the "medium" cost line.
    big = findings[io1]
    assert big.details["estimated_monthly_cost_usd"] == 712.5
    assert big.severity == "medium"
    for finding in findings.values():
        assert finding.severity in SEVERITIES
        json.dumps(finding.details, allow_nan=False)


def test_empty_region_has_no_findings_in_one_call(ctx: CollectorContext, collector: Collector) -> None:
    calls = api_calls(ctx.client("ec2"))
    assert run_collector(collector, ctx) == []
    assert calls == ["DescribeVolumes"]


def test_only_the_context_region_is_scanned(mocked_aws: None, collector: Collector, collector_context: Any) -> None:
    collector_context(collector, region="us-west-2").client("ec2").create_volume(Size=10, AvailabilityZone="us-west-2a")
    assert _collect(collector, collector_context, "us-east-1") == []
    west = _collect(collector, collector_context, "us-west-2")
    assert [f.details["availability_zone"] for f in west] == ["us-west-2a"]


def test_many_volumes_still_one_call(ctx: CollectorContext, collector: Collector) -> None:
    ec2 = ctx.client("ec2")
    for _ in range(30):
        ec2.create_volume(Size=1, AvailabilityZone="us-east-1a", VolumeType="sc1")
    calls = api_calls(ec2)
    assert len(run_collector(collector, ctx)) == 30
    assert calls == ["DescribeVolumes"]


def _volume(volume_id: str, size: int) -> dict[str, Any]:
    return {
        "VolumeId": volume_id, "Size": size, "VolumeType": "gp2", "State": "available",
        "AvailabilityZone": "us-east-1a", "CreateTime": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    }


def test_follows_every_page_with_the_server_side_filter(ctx: CollectorContext, collector: Collector) -> None:
    ec2 = ctx.client("ec2")
    calls = api_calls(ec2)
    with Stubber(ec2) as stub:
        stub.add_response("describe_volumes", {"Volumes": [_volume("vol-1", 10)], "NextToken": "page2"},
                          {"Filters": FILTERS, "MaxResults": 500})
        stub.add_response("describe_volumes", {"Volumes": [_volume("vol-2", 20)]},
                          {"Filters": FILTERS, "MaxResults": 500, "NextToken": "page2"})
        findings = run_collector(collector, ctx)
        stub.assert_no_pending_responses()
    assert [f.resource_id for f in findings] == ["vol-1", "vol-2"]
    assert [f.details["estimated_monthly_cost_usd"] for f in findings] == [1.0, 2.0]
    assert findings[0].details["created"] == "2024-01-02T03:04:05Z"
    assert findings[0].details["tags"] == {}
    assert calls == ["DescribeVolumes", "DescribeVolumes"]


@pytest.mark.parametrize(
    ("volume_type", "size", "iops", "throughput", "expected"),
    [
        ("gp2", 100, 300, None, 10.0),
        ("gp3", 100, 3000, 125, 8.0),  # baseline IOPS and throughput are included
        ("gp3", 1000, 6000, 250, 100.0),  # 80 + 3000 * 0.005 + 125 * 0.04
        ("io2", 100, 1000, None, 77.5),  # 12.5 + 1000 * 0.065
        ("st1", 1000, None, None, 45.0),
        ("sc1", 1000, None, None, 15.0),
        ("standard", 10, None, None, 0.5),
        ("future-type", 10, None, None, None),
    ],
)
def test_monthly_cost(volume_type: str, size: int, iops: int | None, throughput: int | None,
                      expected: float | None) -> None:
    assert unattached_ebs.monthly_cost(volume_type, size, iops, throughput) == expected


def test_unknown_type_is_reported_without_a_cost(ctx: CollectorContext, collector: Collector) -> None:
    ec2 = ctx.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_volumes", {"Volumes": [{**_volume("vol-9", 5), "VolumeType": "gp9"}]})
        (finding,) = run_collector(collector, ctx)
    assert finding.details["estimated_monthly_cost_usd"] is None
    assert finding.severity == "low"
    assert finding.summary.endswith("5 GiB gp9, cost unknown")


def test_format_reads_a_stored_finding(collector: Collector) -> None:
    stored = {"resource_id": "vol-123", "details": {"size_gib": 100, "volume_type": "gp3",
                                                    "estimated_monthly_cost_usd": 8.0}}
    assert collector.format is not None
    assert collector.format(stored) == "vol-123 100 GiB gp3, ~$8.00/month, unattached"
