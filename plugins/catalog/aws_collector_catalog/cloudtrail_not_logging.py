"""cloudtrail_not_logging: the account has no multi-region trail that is logging.

Without one, nobody can say afterwards who did what in a region. DescribeTrails (shadow trails
included, so a multi-region trail made in another region counts) and one GetTrailStatus per
multi-region trail, until one is logging. A member account may not be allowed to read the status
of its organization's trail: such a trail is counted as logging (its owner, the management
account, is where to check it), and the finding says so when it is all there is.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "cloudtrail_not_logging"


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding for the account when no multi-region trail is logging."""
    cloudtrail = ctx.client("cloudtrail")
    trails = [t for t in cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", [])
              if t.get("IsMultiRegionTrail")]
    checked = []
    for trail in trails:
        try:
            logging = bool(cloudtrail.get_trail_status(Name=trail["TrailARN"]).get("IsLogging"))
        except ClientError as exc:
            if not trail.get("IsOrganizationTrail"):
                raise
            ctx.log.info("organization_trail_status_unreadable", trail=trail["TrailARN"],
                         error=exc.response.get("Error", {}).get("Code"))
            return  # the organization's trail covers the account; its status is the management account's
        if logging:
            return
        checked.append(trail)
    yield _finding(ctx.account.id, checked)


def _finding(account_id: str, stopped: list[Mapping[str, Any]]) -> Finding:
    if stopped:
        names = ", ".join(t.get("Name", t["TrailARN"]) for t in stopped)
        why = f"its multi-region trail(s) {names} are not logging: start logging"
    else:
        why = "it has no multi-region trail: create one that logs to a bucket outside the account's reach"
    return Finding(
        resource_id=account_id,
        summary=f"CloudTrail does not record every region of account {account_id}: {why}",
        severity="high",
        details={"multi_region_trails": [{"name": t.get("Name"), "arn": t["TrailARN"],
                                          "home_region": t.get("HomeRegion"), "logging": False} for t in stopped]},
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.GLOBAL,
    summary="No multi-region CloudTrail trail is logging in the account",
    permissions=["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus"],
    options={},
    collect=collect,
)
