"""An example aws-collector plugin: Elastic IP addresses that are not associated with anything.

An unassociated Elastic IP is billed by the hour and does nothing. This is aws-collector's plugin
template (`aws-collector new-plugin NAME` writes a copy under your names): replace the collector
with your own.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from collector_core import Collector, CollectorContext, Finding, Scope, hookimpl

#: The aws-collector plugin API this plugin is built for: 1.0 and any later 1.x. A release of
#: aws-collector outside this range reports the plugin as failed to load instead of running it.
PLUGIN_API = ">=1.0,<2"
#: Tag holding the date an address was allocated (ISO 8601); DescribeAddresses has no such field.
CREATED_TAG = "created"
#: Public IPv4 price, USD per hour, for the monthly estimate in each finding's details.
HOURLY_PRICE = 0.005


@hookimpl
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register this plugin's collectors."""
    register(
        Collector(
            name="unused_elastic_ips",
            scope=Scope.REGIONAL,
            summary="Elastic IPs not associated with anything",
            permissions=["ec2:DescribeAddresses"],
            options={"min_age_days": 0},
            collect=collect_unused_eips,
            format=format_finding,
        )
    )


def collect_unused_eips(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per Elastic IP with no association, unless its `created` tag is too recent."""
    min_age_days: int = ctx.options["min_age_days"]
    for address in ctx.client("ec2").describe_addresses()["Addresses"]:
        if address.get("AssociationId"):
            continue
        tags = {t["Key"]: t["Value"] for t in address.get("Tags", [])}
        age_days = _age_days(tags.get(CREATED_TAG), ctx.now)
        # Without the tag the age is unknown: report it rather than hide a paid, idle address.
        if age_days is not None and age_days < min_age_days:
            continue
        ip = address["PublicIp"]
        yield Finding(
            resource_id=address.get("AllocationId") or ip,
            summary=f"Elastic IP {ip} is not associated with anything",
            severity="low",
            details={
                "public_ip": ip,
                "domain": address.get("Domain"),
                "age_days": age_days,
                "monthly_cost_usd": round(HOURLY_PRICE * 730, 2),
                "tags": tags,
            },
        )


def format_finding(finding: Mapping[str, Any]) -> str:
    """How one stored finding reads as a line in a report."""
    return f"{finding['account_name']} {finding['region']}: {finding['details']['public_ip']} is unused"


def _age_days(created: str | None, now: dt.datetime) -> int | None:
    if not created:
        return None
    try:
        when = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (now - when).days
