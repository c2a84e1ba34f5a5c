"""idle_load_balancers: Application and Network Load Balancers with nothing behind them.

A load balancer bills by the hour whether or not it has anywhere to send traffic. One is idle when
it has target groups and none of them has a registered target, or, for a Network Load Balancer,
when it has no target group at all (it can do nothing without one). An Application Load Balancer
with no target group may still answer with redirects or fixed responses, so it is left out.

DescribeLoadBalancers and DescribeTargetGroups by pages of 400, then one DescribeTargetHealth per
target group attached to a load balancer.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from aws_collector_catalog import options, prices
from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "idle_load_balancers"
#: DescribeLoadBalancers and DescribeTargetGroups return up to 400 a page.
PAGE_SIZE = 400
KINDS = ("application", "network")


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per ALB or NLB whose target groups have no registered target."""
    elbv2 = ctx.client("elbv2")
    balancers = [lb for page in elbv2.get_paginator("describe_load_balancers").paginate(
                     PaginationConfig={"PageSize": PAGE_SIZE})
                 for lb in page.get("LoadBalancers", []) if lb.get("Type") in KINDS]
    if not balancers:
        return
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for page in elbv2.get_paginator("describe_target_groups").paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        for group in page.get("TargetGroups", []):
            for arn in group.get("LoadBalancerArns", []):
                groups.setdefault(arn, []).append(group)
    targets: dict[str, int] = {}
    for balancer in balancers:
        attached = groups.get(balancer["LoadBalancerArn"], [])
        if not attached and balancer["Type"] == "application":
            continue
        for group in attached:
            arn = group["TargetGroupArn"]
            if arn not in targets:
                health = elbv2.describe_target_health(TargetGroupArn=arn)
                targets[arn] = len(health.get("TargetHealthDescriptions", []))
        if all(targets[g["TargetGroupArn"]] == 0 for g in attached):
            yield _finding(balancer, attached, ctx.now)


def _finding(balancer: Mapping[str, Any], groups: list[Mapping[str, Any]], now: dt.datetime) -> Finding:
    kind, name = balancer["Type"], balancer.get("LoadBalancerName", "")
    cost = prices.hourly_month(prices.LOAD_BALANCER_HOUR[kind])
    created = balancer.get("CreatedTime")
    age = (now - created).days if isinstance(created, dt.datetime) else None
    behind = (f"its {len(groups)} target group(s) have no registered targets" if groups
              else "it has no target group")
    label = "Application" if kind == "application" else "Network"
    return Finding(
        resource_id=balancer["LoadBalancerArn"],
        summary=(f"{label} Load Balancer {name} is idle: {behind} ({prices.cost_text(cost)}): delete it, "
                 f"or register targets"),
        severity="low",
        details={
            "name": name,
            "type": kind,
            "scheme": balancer.get("Scheme"),
            "dns_name": balancer.get("DNSName"),
            "created": options.iso(created),
            "age_days": age,
            "target_groups": [g.get("TargetGroupName") for g in groups],
            "estimated_monthly_cost_usd": cost,
            "cost_basis": "the hourly charge at list price; an idle load balancer uses no capacity units",
        },
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.REGIONAL,
    summary="Application and Network Load Balancers whose target groups have no registered targets",
    permissions=["elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
                 "elasticloadbalancing:DescribeTargetHealth"],
    options={},
    collect=collect,
    resource_type="AwsElbv2LoadBalancer",
)
