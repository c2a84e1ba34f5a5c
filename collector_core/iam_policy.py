"""The member role's least-privilege policy, from what the enabled collectors declare."""
from __future__ import annotations

from typing import Any

from collector_core.config import Config
from collector_core.plugins import Registry

#: What the worker itself calls in a member account, whatever the collectors.
RUNTIME_ACTIONS = ("ec2:DescribeRegions",)


def enabled_collectors(config: Config, registry: Registry) -> list[str]:
    """Collectors enabled for at least one account (or by default, for organization runs)."""
    account_ids = [a.id for a in config.accounts]
    if config.organization or not account_ids:
        account_ids.append("")  # an organization account with no entry gets the defaults
    names: set[str] = set()
    for account_id in account_ids:
        names.update(config.collectors_for(account_id, registry))
    return sorted(names)


def member_policy(config: Config, registry: Registry) -> dict[str, Any]:
    """An IAM policy document with exactly the union of the enabled collectors' permissions."""
    actions = set(RUNTIME_ACTIONS)
    for name in enabled_collectors(config, registry):
        actions.update(registry[name].permissions)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsCollectorRead",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": "*",
            }
        ],
    }
