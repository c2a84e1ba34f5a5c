"""stopped_instances and idle_load_balancers over moto's server."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from aws_collector_catalog import idle_load_balancers, stopped_instances
from aws_collector_catalog.options import BadOption
from catalog_aws import Pages

from collector_core.testing import run_collector

LATER = dt.timedelta(days=45)


def instance(ec2: Any, size: int = 8, volume_type: str = "gp3") -> str:
    root = {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": size, "VolumeType": volume_type}}
    made = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, BlockDeviceMappings=[root])
    return str(made["Instances"][0]["InstanceId"])


def test_the_stop_date_is_read_from_the_state_transition_reason() -> None:
    assert stopped_instances.stopped_at("User initiated (2025-01-31 10:00:00 GMT)") == dt.datetime(
        2025, 1, 31, 10, tzinfo=dt.UTC)
    assert stopped_instances.stopped_at("User initiated (2025-01-31 10:00:00 UTC)") is not None
    assert stopped_instances.stopped_at("Server.ScheduledStop: Stopped due to event.") is None


def test_instances_stopped_too_long_are_reported_with_their_volumes_cost(
        aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(stopped_instances.COLLECTOR, now=dt.datetime.now(dt.UTC) + LATER)
    ec2 = ctx.client("ec2")
    stopped, running = instance(ec2, size=100), instance(ec2)
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.create_tags(Resources=[stopped], Tags=[{"Key": "team", "Value": "web"}])

    found = run_collector(stopped_instances.COLLECTOR, ctx)

    assert [f.resource_id for f in found] == [stopped] and running != stopped
    assert found[0].details["stopped_days"] in (44, 45)
    assert found[0].details["estimated_monthly_cost_usd"] == 8.0  # 100 GiB gp3 at $0.08
    assert "stopped for" in found[0].summary and "~$8.00/month" in found[0].summary
    assert found[0].tags == {"team": "web"}  # which routes and mutes match


def test_instances_stopped_recently_are_not(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(stopped_instances.COLLECTOR, options={"max_stopped_days": 60},
                            now=dt.datetime.now(dt.UTC) + LATER)
    ec2 = ctx.client("ec2")
    ec2.stop_instances(InstanceIds=[instance(ec2)])

    assert run_collector(stopped_instances.COLLECTOR, ctx) == []


def test_every_page_of_stopped_instances_is_read(aws_server: str, collector_context: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopped_instances, "PAGE_SIZE", 5)  # moto pages DescribeInstances itself
    ctx = collector_context(stopped_instances.COLLECTOR, now=dt.datetime.now(dt.UTC) + LATER)
    ec2 = ctx.client("ec2")
    ids = [instance(ec2) for _ in range(7)]
    ec2.stop_instances(InstanceIds=ids)
    requests: list[str] = []
    ec2.meta.events.register("before-call.ec2.DescribeInstances", lambda **_: requests.append("page"))

    assert sorted(f.resource_id for f in run_collector(stopped_instances.COLLECTOR, ctx)) == sorted(ids)
    assert len(requests) == 2


def test_max_stopped_days_is_validated(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(stopped_instances.COLLECTOR, options={"max_stopped_days": -3})

    with pytest.raises(BadOption, match="max_stopped_days"):
        run_collector(stopped_instances.COLLECTOR, ctx)


def balancer_setup(ctx: Any) -> tuple[Any, Any, str, list[str]]:
    ec2, elbv2 = ctx.client("ec2"), ctx.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    return ec2, elbv2, vpc, subnets


def test_load_balancers_with_nothing_behind_them_are_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(idle_load_balancers.COLLECTOR)
    ec2, elbv2, vpc, subnets = balancer_setup(ctx)

    def balancer(name: str, kind: str = "application", targets: list[str] | None = None) -> str:
        arn = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type=kind)["LoadBalancers"][0]["LoadBalancerArn"]
        if targets is not None:
            protocol = "HTTP" if kind == "application" else "TCP"
            group = elbv2.create_target_group(Name=f"{name}-tg", Protocol=protocol, Port=80,
                                              VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
            elbv2.create_listener(LoadBalancerArn=arn, Protocol=protocol, Port=80,
                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
            if targets:
                elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": t} for t in targets])
        return arn

    busy = balancer("busy", targets=[instance(ec2)])
    empty_alb = balancer("empty-alb", targets=[])
    bare_nlb = balancer("bare-nlb", kind="network")
    redirects_only = balancer("redirects")  # an ALB with no target group may answer redirects

    found = {f.resource_id: f for f in run_collector(idle_load_balancers.COLLECTOR, ctx)}

    assert set(found) == {empty_alb, bare_nlb}
    assert busy not in found and redirects_only not in found
    assert found[empty_alb].details["estimated_monthly_cost_usd"] == 16.43  # $0.0225 x 730 h
    assert "no registered targets" in found[empty_alb].summary
    assert "no target group" in found[bare_nlb].summary


def test_every_page_of_load_balancers_is_read(aws_server: str, collector_context: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idle_load_balancers, "PAGE_SIZE", 2)
    ctx = collector_context(idle_load_balancers.COLLECTOR)
    _, elbv2, _, subnets = balancer_setup(ctx)
    arns = {elbv2.create_load_balancer(Name=f"nlb{i}", Subnets=subnets, Type="network")["LoadBalancers"][0]
            ["LoadBalancerArn"] for i in range(5)}
    paged = Pages(elbv2, "DescribeTargetGroups", "TargetGroups", size=2, token_in="Marker", token_out="NextMarker")
    requests: list[str] = []
    elbv2.meta.events.register("before-call.elastic-load-balancing-v2.DescribeLoadBalancers",
                               lambda **_: requests.append("page"))

    assert {f.resource_id for f in run_collector(idle_load_balancers.COLLECTOR, ctx)} == arns
    assert len(requests) == 3 and paged.requests == 1
