"""Declarative checks over moto's server, end to end through `aws-collector run`: a check is a
collector like a plugin's (enabled, disabled and given options per account; in plan, plugins and
iam-policy), a paginated call is read whole, a global check runs once per account, and
`checks try` prints what a check would report, writing nothing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from collector_core.cli import main

pytestmark = pytest.mark.slow
A, B = "111111111111", "222222222222"
REGION = "us-east-1"
CHECKS = """\
checks:
  unassociated_eips:
    summary: Elastic IPs that are not associated with anything
    call: ec2.describe_addresses
    select: "Addresses[?AssociationId == null]"
    id: AllocationId
    message: "Elastic IP {PublicIp} is not associated"
    severity: low
  logs_kept_forever:
    summary: Log groups without a retention period
    call: logs.describe_log_groups
    params: {limit: 5}              # moto honours it: 12 groups come in 3 pages
    select: "logGroups[?retentionInDays == null]"
    id: logGroupName
    message: "{logGroupName} keeps its logs forever"
    severity: low
  console_users:
    summary: IAM users (once per account)
    call: iam.list_users
    select: Users
    id: UserName
    message: "user {UserName} ({Path})"
    scope: global
"""


def member(endpoint: str, account_id: str, service: str) -> Any:
    creds = boto3.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def seed(endpoint: str) -> dict[str, Any]:
    """Per account: two free EIPs and one associated, 12 log groups (2 with retention), 2 users."""
    seeded: dict[str, Any] = {}
    for account in (A, B):
        ec2, logs, iam = (member(endpoint, account, s) for s in ("ec2", "logs", "iam"))
        free = [ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in range(2)]
        ec2.create_tags(Resources=free[:1], Tags=[{"Key": "team", "Value": f"team-{account[:1]}"}])
        instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        used = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.associate_address(AllocationId=used, InstanceId=instance)
        groups = [f"/app/{account}/g{i:02d}" for i in range(12)]
        for name in groups:
            logs.create_log_group(logGroupName=name)
        for name in groups[:2]:
            logs.put_retention_policy(logGroupName=name, retentionInDays=30)
        users = [f"user-{account[:1]}-{i}" for i in range(2)]
        for user in users:
            iam.create_user(UserName=user, Path="/people/")
        seeded[account] = {"eips": set(free), "groups": set(groups[2:]), "users": set(users)}
    return seeded


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"table: checks-e2e\nregions: [{REGION}]\n"
        f"accounts:\n"
        f"  - {{id: '{A}', name: prod, plugins: {{logs_kept_forever: {{severity: high}}}}}}\n"
        f"  - id: '{B}'\n    name: sandbox\n    plugins:\n      unassociated_eips: {{enabled: false}}\n"
        f"      logs_kept_forever: {{params: {{limit: 5, logGroupNamePrefix: '/app/{B}/g1'}}}}\n"
        "plugins: {unattached_ebs: {enabled: false}, iam_key_age: {enabled: false},\n"
        "          open_security_groups: {enabled: false}}\n" + CHECKS)
    return path


def findings(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["findings", "--config", str(path), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_checks_run_as_collectors_with_per_account_settings(server_env: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed(server_env)
    path = config(tmp_path)

    assert main(["checks", "try", "logs_kept_forever", "--config", str(path), "--account", A,
                 "--region", REGION, "--json"]) == 0
    tried = json.loads(capsys.readouterr().out)
    assert {f["resource_id"] for f in tried} == seeded[A]["groups"]  # 10 of 12, read over 3 pages of 5
    assert {f["severity"] for f in tried} == {"high"}  # the account's own option
    assert boto3.client("dynamodb", endpoint_url=server_env).list_tables()["TableNames"] == []  # wrote nothing

    assert main(["run", "--config", str(path)]) == 0
    capsys.readouterr()
    found = findings(path, capsys)
    got = {(f["plugin"], f["account_id"], f["region"], f["resource_id"]): f for f in found}
    expected = {("unassociated_eips", A, REGION, eip) for eip in seeded[A]["eips"]}  # B disabled it
    expected |= {("logs_kept_forever", A, REGION, g) for g in seeded[A]["groups"]}
    expected |= {("logs_kept_forever", B, REGION, g) for g in seeded[B]["groups"] if g.startswith(f"/app/{B}/g1")}
    expected |= {("console_users", account, "global", u) for account in (A, B) for u in seeded[account]["users"]}
    assert set(got) == expected

    eip = got[("unassociated_eips", A, REGION, sorted(seeded[A]["eips"])[0])]
    assert eip["severity"] == "low"
    assert eip["summary"] == f"Elastic IP {eip['details']['PublicIp']} is not associated"
    assert eip["details"]["AllocationId"] == eip["resource_id"]
    # The item's Tags are the finding's tags, which routes and mutes match.
    assert {got[("unassociated_eips", A, REGION, e)]["tags"].get("team") for e in seeded[A]["eips"]} == {"team-1", None}
    assert {got[k]["severity"] for k in got if k[0] == "logs_kept_forever"} == {"high", "low"}
    assert all(got[k]["severity"] == ("high" if k[1] == A else "low") for k in got if k[0] == "logs_kept_forever")
    user = next(f for k, f in got.items() if k[0] == "console_users")
    assert user["summary"] == f"user {user['resource_id']} (/people/)"
    assert isinstance(user["details"]["CreateDate"], str) and user["details"]["CreateDate"].startswith("20")


def test_checks_appear_in_plan_plugins_and_iam_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path)
    assert main(["plan", "--config", str(path), "--format", "json"]) == 0
    plan = {a["id"]: a["collectors"] for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert set(plan[A]) == {"unassociated_eips", "logs_kept_forever", "console_users"}
    assert set(plan[B]) == {"logs_kept_forever", "console_users"}
    assert plan[A]["logs_kept_forever"] == {"params": {"limit": 5}, "severity": "high"}

    assert main(["plugins", "--config", str(path), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    [mine] = [p for p in listing["plugins"] if p["distribution"] == "config"]
    assert {c["name"]: c["permissions"] for c in mine["collectors"]} == {
        "unassociated_eips": ["ec2:DescribeAddresses"], "logs_kept_forever": ["logs:DescribeLogGroups"],
        "console_users": ["iam:ListUsers"]}

    assert main(["iam-policy", "--config", str(path)]) == 0
    actions = {a for s in json.loads(capsys.readouterr().out)["Statement"] for a in s["Action"]}
    assert {"ec2:DescribeAddresses", "logs:DescribeLogGroups", "iam:ListUsers"} <= actions
    assert "ec2:DescribeVolumes" not in actions  # the disabled built-ins ask for nothing
