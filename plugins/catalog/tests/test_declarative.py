"""The catalog's declarative checks (checks.yaml) over moto's server, run by aws-collector's engine
as the worker runs them: what each must find, what it must not, and every page."""
from __future__ import annotations

from typing import Any

import aws_collector_catalog
import pytest
from catalog_aws import Pages

from collector_core import Collector, Scope
from collector_core.testing import run_collector

DECLARATIVE = ("unassociated_eips", "unattached_enis", "gp2_volumes", "unencrypted_volumes", "public_rds_instances")


@pytest.fixture
def registry(register_plugin: Any) -> Any:
    return register_plugin(aws_collector_catalog, name="catalog")


def check(registry: Any, name: str) -> Collector:
    return registry[name]


def test_every_declarative_check_is_registered_regional_and_read_only(registry: Any) -> None:
    for name in DECLARATIVE:
        collector = check(registry, name)
        assert collector.scope is Scope.REGIONAL
        assert collector.permissions and all(":Describe" in p for p in collector.permissions), collector.permissions


def test_unassociated_eips(aws_server: str, registry: Any, collector_context: Any) -> None:
    ctx = collector_context("unassociated_eips")
    ec2 = ctx.client("ec2")
    idle = ec2.allocate_address(Domain="vpc")["AllocationId"]
    used = ec2.allocate_address(Domain="vpc")["AllocationId"]
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.associate_address(AllocationId=used, InstanceId=instance)

    [found] = run_collector(check(registry, "unassociated_eips"), ctx)

    assert found.resource_id == idle and found.severity == "low"
    assert found.details["estimated_monthly_cost_usd"] == 3.65 and "release it" in found.summary


def test_unattached_enis_every_page(aws_server: str, registry: Any, collector_context: Any) -> None:
    ctx = collector_context("unattached_enis")
    ec2 = ctx.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    loose = {ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"] for _ in range(5)}
    ec2.create_tags(Resources=sorted(loose)[:1], Tags=[{"Key": "team", "Value": "net"}])
    ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)  # its interface is in use
    paged = Pages(ec2, "DescribeNetworkInterfaces", "NetworkInterfaces", size=2)

    found = run_collector(check(registry, "unattached_enis"), ctx)

    assert {f.resource_id for f in found} == loose and paged.requests == 3
    assert sorted(f.tags.get("team", "") for f in found) == ["", "", "", "", "net"]  # the item's TagSet


def test_gp2_and_unencrypted_volumes(aws_server: str, registry: Any, collector_context: Any) -> None:
    ctx = collector_context("gp2_volumes")
    ec2 = ctx.client("ec2")
    gp2 = {ec2.create_volume(AvailabilityZone="us-east-1a", Size=100, VolumeType="gp2", Encrypted=True)["VolumeId"]
           for _ in range(3)}
    plain = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, VolumeType="gp3")["VolumeId"]
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, VolumeType="gp3", Encrypted=True)  # neither
    paged = Pages(ec2, "DescribeVolumes", "Volumes", size=2)

    old_types = run_collector(check(registry, "gp2_volumes"), ctx)
    assert paged.requests == 2  # three gp2 volumes, two a page
    old_type = old_types[0]
    [unencrypted] = run_collector(check(registry, "unencrypted_volumes"), collector_context("unencrypted_volumes"))

    assert {f.resource_id for f in old_types} == gp2 and old_type.details["saving_per_gib_month_usd"] == 0.02
    assert "modify it to gp3" in old_type.summary and "(100 GiB)" in old_type.summary
    assert unencrypted.resource_id == plain and unencrypted.severity == "medium"


def test_public_rds_instances(aws_server: str, registry: Any, collector_context: Any) -> None:
    ctx = collector_context("public_rds_instances")
    rds = ctx.client("rds")
    for name, public in (("open-db", True), ("private-db", False)):
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                               MasterUsername="app", MasterUserPassword="not-a-real-password-1",
                               AllocatedStorage=20, PubliclyAccessible=public, Tags=[{"Key": "team", "Value": name}])

    [found] = run_collector(check(registry, "public_rds_instances"), ctx)

    assert (found.resource_id, found.severity) == ("open-db", "high")
    assert "set PubliclyAccessible to false" in found.summary and found.details["Engine"] == "postgres"
    assert found.tags == {"team": "open-db"}  # the item's TagList
