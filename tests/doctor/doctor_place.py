"""The place `doctor` is tried in: member accounts on moto's server, each with the member role as
`iam-policy` generates it, behind the fault proxy (tests/faults/proxy.py), which refuses calls the
way AWS refuses a caller without the permission: moto itself allows everything."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3

# The proxy lives with the fault tests; it is imported by this unique name there too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))

from proxy import FaultProxy  # noqa: E402

from collector_core.collector import Account  # noqa: E402
from collector_core.config.load import parse_config  # noqa: E402
from collector_core.iam_policy import POLICY_NAME, member_actions, policy_document  # noqa: E402
from collector_core.plugins import load_plugins  # noqa: E402

ROLE = "aws-collector-readonly"
TABLE = "doctor-findings"


@dataclass
class Place:
    """The organization doctor looks at, and the proxy in front of it."""

    endpoint: str
    proxy: FaultProxy
    accounts: list[Account]
    config: Path

    def member(self, account_id: str, service: str) -> object:
        """A client in a member account, straight to moto (around the proxy)."""
        creds = boto3.client("sts", endpoint_url=self.endpoint).assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/setup", RoleSessionName="setup")["Credentials"]
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    def deploy_member_role(self, account_id: str, *, without: tuple[str, ...] = ()) -> None:
        """The member role's policy as `iam-policy` generates it (less ``without``), in one account."""
        registry = load_plugins()
        config = parse_config({"accounts": [{"id": account_id}]}, "c.yaml", registry)
        actions = [a for a in member_actions(config, registry) if a not in without]
        iam = self.member(account_id, "iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(  # type: ignore[attr-defined]
            {"Version": "2012-10-17", "Statement": []}))
        iam.put_role_policy(RoleName=ROLE, PolicyName=POLICY_NAME,  # type: ignore[attr-defined]
                            PolicyDocument=json.dumps(policy_document(actions, role_name=ROLE)))
