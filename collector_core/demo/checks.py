"""The demo's declarative checks, and the resources seeded for them in each account and region:
what `aws-collector demo` shows a check doing, and checks that it finds exactly those."""
from __future__ import annotations

from typing import Any

from collector_core.collector import Account

#: The demo config's ``checks:`` section (two checks of docs/checks.md).
DEMO_CHECKS: dict[str, Any] = {
    "unassociated_eips": {
        "summary": "Elastic IPs that are not associated with anything",
        "call": "ec2.describe_addresses",
        "select": "Addresses[?AssociationId == null]",
        "id": "AllocationId",
        "message": "Elastic IP {PublicIp} is not associated",
        "severity": "low",
        "resource_type": "AwsEc2Eip",
    },
    "logs_kept_forever": {
        "summary": "CloudWatch log groups without a retention period",
        "call": "logs.describe_log_groups",
        "select": "logGroups[?retentionInDays == null]",
        "id": "logGroupName",
        "message": "{logGroupName} keeps its logs forever",
        "severity": "low",
    },
}


def seed_for_checks(session: Any, endpoint: str, account: Account, region: str, n: int,
                    instance: str | None) -> set[tuple[str, str, str, str]]:
    """Per region: one or two free Elastic IPs (and one associated, where there is an instance),
    log groups kept forever and one with a retention period; the findings the checks must make."""
    ec2 = session.client("ec2", endpoint_url=endpoint, region_name=region)
    logs = session.client("logs", endpoint_url=endpoint, region_name=region)
    expected = set()
    for _ in range(1 + n % 2):
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        expected.add(("unassociated_eips", account.id, region, eip))
    if instance:  # an associated address is not a finding
        used = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.associate_address(AllocationId=used, InstanceId=instance)
    for k in range(1 + n % 3):
        name = f"/demo/app-{k}"
        logs.create_log_group(logGroupName=name)
        expected.add(("logs_kept_forever", account.id, region, name))
    logs.create_log_group(logGroupName="/demo/audited")
    logs.put_retention_policy(logGroupName="/demo/audited", retentionInDays=90)
    return expected
