"""List prices for the cost estimates in the catalog's findings.

US East (N. Virginia) on-demand list prices in USD, as AWS publishes them on each service's pricing
page (aws.amazon.com/ebs/pricing, /vpc/pricing for public IPv4, /elasticloadbalancing/pricing),
read 2025-06. An estimate, never a bill: other regions cost up to about half as much again,
and savings plans, free tiers and usage-based charges are left out.
"""
from __future__ import annotations

#: AWS bills hourly resources by the hour and quotes monthly ones per 730 hours.
HOURS_PER_MONTH = 730

#: EBS volumes, USD per GiB-month, by volume type.
VOLUME_GIB_MONTH: dict[str, float] = {
    "gp2": 0.10,
    "gp3": 0.08,
    "io1": 0.125,
    "io2": 0.125,
    "st1": 0.045,
    "sc1": 0.015,
    "standard": 0.05,
}
#: io1/io2 provisioned IOPS, USD per IOPS-month (io2's first tier; higher tiers cost less).
PIOPS_MONTH = 0.065
#: gp3 includes 3000 IOPS and 125 MiB/s; more is billed per IOPS-month and per MiB/s-month.
GP3_FREE_IOPS, GP3_IOPS_MONTH = 3000, 0.005
GP3_FREE_THROUGHPUT, GP3_THROUGHPUT_MONTH = 125, 0.04
#: EBS snapshots (standard tier), USD per GB-month of data stored.
SNAPSHOT_GB_MONTH = 0.05
#: A public IPv4 address, in use or idle, USD per hour (since 2024-02-01).
PUBLIC_IPV4_HOUR = 0.005
#: An Application or Network Load Balancer, USD per hour, before capacity units (none when idle).
LOAD_BALANCER_HOUR = {"application": 0.0225, "network": 0.0225}


def volume_month(volume_type: str, size_gib: int, iops: int | None = None,
                 throughput: int | None = None) -> float | None:
    """USD a month for one EBS volume; None for a type without a list price here."""
    price = VOLUME_GIB_MONTH.get(volume_type)
    if price is None:
        return None
    cost = size_gib * price
    if volume_type in ("io1", "io2"):
        cost += (iops or 0) * PIOPS_MONTH
    elif volume_type == "gp3":
        cost += max(0, (iops or GP3_FREE_IOPS) - GP3_FREE_IOPS) * GP3_IOPS_MONTH
        cost += max(0, (throughput or GP3_FREE_THROUGHPUT) - GP3_FREE_THROUGHPUT) * GP3_THROUGHPUT_MONTH
    return round(cost, 2)


def hourly_month(price_per_hour: float) -> float:
    """USD a month for something billed by the hour and never stopped."""
    return round(price_per_hour * HOURS_PER_MONTH, 2)


def cost_text(cost: float | None, *, prefix: str = "~") -> str:
    """``~$4.00/month``, or ``cost unknown``."""
    return "cost unknown" if cost is None else f"{prefix}${cost:,.2f}/month"
