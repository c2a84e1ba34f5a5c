"""A simulated multi-account organization on moto's server, for the demo, tests and benchmarks.

Everything goes through real HTTP on 127.0.0.1 except one thing no AWS API can do: backdating an
access key, which edits moto's in-process IAM backend (the server runs in this process).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from collector_core.collector import Account
from collector_core.demo.checks import seed_for_checks
from collector_core.demo.seeders import Seeder, installed_seeders

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: (plugin, account_id, region, resource_id)
Expected = tuple[str, str, str, str]


@dataclass
class SimulatedOrg:
    """What was seeded, and the findings a correct collector run must produce."""

    endpoint: str
    management: str
    accounts: list[Account]
    regions: list[str]
    expected: set[Expected] = field(default_factory=set)
    #: The findings the demo's declarative checks must make (seeded only when asked for).
    expected_checks: set[Expected] = field(default_factory=set)


@contextmanager
def moto_server(*, environ: bool = True) -> Iterator[str]:
    """Start moto's server on 127.0.0.1 (a free port) and yield its URL.

    With ``environ``, point this process's AWS environment at it for the duration.
    """
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no AMI catalogue per region: docs/performance.md
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    if environ:
        os.environ.update(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=url,
                          AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    try:
        yield url
    finally:
        server.stop()
        if environ:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def seed_organization(
    endpoint: str,
    *,
    accounts: int = 3,
    regions: tuple[str, ...] | list[str] = DEFAULT_REGIONS,
    now: dt.datetime | None = None,
    seeders: Mapping[str, Seeder] | None = None,
    checks: bool = False,
) -> SimulatedOrg:
    """Create an organization with member accounts and seed each with known problems: the built-ins',
    then each installed plugin's (``seeders``, by default those of the loaded plugins); with
    ``checks``, also those the demo's declarative checks find."""
    import boto3

    seeders = installed_seeders() if seeders is None else seeders

    now = now or dt.datetime.now(dt.timezone.utc)
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )
    org = session.client("organizations", endpoint_url=endpoint, region_name="us-east-1")
    with contextlib.suppress(org.exceptions.AlreadyInOrganizationException):
        org.create_organization(FeatureSet="ALL")
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    sim = SimulatedOrg(endpoint=endpoint, management=management, accounts=[], regions=list(regions))
    for i in range(accounts):
        name = f"member-{i + 1:02d}"
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        account = Account(status["AccountId"], name)
        sim.accounts.append(account)
        creds = session.client("sts", endpoint_url=endpoint, region_name="us-east-1").assume_role(
            RoleArn=f"arn:aws:iam::{account.id}:role/aws-collector-readonly", RoleSessionName="seed"
        )["Credentials"]
        member = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        for j, region in enumerate(regions):
            instance = _seed_region(member, endpoint, account, region, i + j, sim.expected)
            if checks:
                sim.expected_checks |= seed_for_checks(member, endpoint, account, region, i + j, instance)
        _seed_iam(member, endpoint, account, i, now, sim.expected)
        for seed in seeders.values():
            sim.expected.update((collector, account.id, region, resource)
                                for collector, region, resource in seed(member, endpoint, account.id, list(regions), i))
    return sim


def _seed_region(session: Any, endpoint: str, account: Account, region: str, n: int,
                 expected: set[Expected]) -> str | None:
    """Seed one region; the instance it started, if any."""
    ec2 = session.client("ec2", endpoint_url=endpoint, region_name=region)
    zone = f"{region}a"
    for k in range(1 + n % 3):  # unattached volumes: 1 to 3 per region
        volume = ec2.create_volume(AvailabilityZone=zone, Size=10 * (k + 1), VolumeType="gp3", Encrypted=True)
        expected.add(("unattached_ebs", account.id, region, volume["VolumeId"]))
    instance = None
    if n % 2 == 0:  # an attached volume is not a finding
        # gp3 and encrypted, as a plugin's checks of volume type and encryption expect of a healthy volume
        instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                     InstanceType="t3.micro", Placement={"AvailabilityZone": zone},
                                     BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {
                                         "VolumeSize": 8, "VolumeType": "gp3", "Encrypted": True}}],
                                     )["Instances"][0]["InstanceId"]
        volume = ec2.create_volume(AvailabilityZone=zone, Size=8, VolumeType="gp3", Encrypted=True)
        ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=instance, Device="/dev/sdf")
    rules: list[tuple[str, list[dict[str, Any]], bool]] = [
        ("open-ssh", [_rule(22, 22, cidr="0.0.0.0/0")], True),
        ("web-only", [_rule(443, 443, cidr="0.0.0.0/0"), _rule(80, 80, cidr="0.0.0.0/0")], False),
        ("internal-ssh", [_rule(22, 22, cidr="10.0.0.0/8")], False),
    ]
    if n % 2 == 1:
        rules.append(("rdp-v6", [_rule(3389, 3389, ipv6="::/0")], True))
    if n % 3 == 2:
        rules.append(("everything", [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}], True))
    for name, permissions, is_finding in rules:
        group = ec2.create_security_group(GroupName=name, Description=f"seeded {name}")["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions)
        if is_finding:
            expected.add(("open_security_groups", account.id, region, group))
    return instance


def _seed_iam(session: Any, endpoint: str, account: Account, n: int, now: dt.datetime,
              expected: set[Expected]) -> None:
    from moto.iam.models import iam_backends

    iam = session.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    backend = iam_backends[account.id]["aws"]
    plan = [("old-admin", 200, True, True), ("fresh-ci", 10, True, False), ("old-disabled", 400, False, False)]
    if n % 2 == 0:
        plan.append(("old-deployer", 120, True, True))
    for user, age_days, active, is_finding in plan:
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        if not active:
            iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
        for stored in backend.users[user].access_keys:
            if stored.access_key_id == key:  # no API sets a past CreateDate
                stored.create_date = (now - dt.timedelta(days=age_days)).replace(tzinfo=None)
        if is_finding:
            expected.add(("iam_key_age", account.id, "global", key))


def _rule(from_port: int, to_port: int, *, cidr: str | None = None, ipv6: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": from_port, "ToPort": to_port}
    if cidr:
        rule["IpRanges"] = [{"CidrIp": cidr}]
    if ipv6:
        rule["Ipv6Ranges"] = [{"CidrIpv6": ipv6}]
    return rule
