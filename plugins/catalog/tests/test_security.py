"""root_access_keys, public_s3_buckets, cloudtrail_not_logging and guardduty_disabled over moto's server."""
from __future__ import annotations

import json
from typing import Any

from aws_collector_catalog import (
    cloudtrail_not_logging,
    guardduty_disabled,
    iam_users_without_mfa,
    public_s3_buckets,
    root_access_keys,
)
from catalog_aws import Pages

from collector_core.testing import run_collector

ACCOUNT = "123456789012"
#: moto's credential report has no root row; AWS's has one first (the documented CSV format).
HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def root_row(key_1: bool, key_2: bool) -> str:
    return (f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,"
            f"not_supported,true,{str(key_1).lower()},2021-03-01T00:00:00+00:00,2025-05-30T08:00:00+00:00,"
            f"us-east-1,s3,{str(key_2).lower()},N/A,N/A,N/A,N/A,false,N/A,false,N/A")


class FakeIam:
    """The two calls of the credential report, answering STARTED ``pending`` times first."""

    def __init__(self, rows: list[str], pending: int = 1) -> None:
        self.rows, self.pending, self.generated = rows, pending, 0

    def generate_credential_report(self) -> dict[str, str]:
        self.generated += 1
        return {"State": "STARTED" if self.generated <= self.pending else "COMPLETE"}

    def get_credential_report(self) -> dict[str, bytes]:
        return {"Content": "\n".join([HEADER, *self.rows]).encode()}


def test_an_active_root_key_is_critical_and_says_what_to_do() -> None:
    slept: list[float] = []
    iam = FakeIam([root_row(True, False)], pending=2)

    rows = root_access_keys.credential_report(iam, slept.append)
    found = [root_access_keys._finding(ACCOUNT, r, n) for r in rows for n in (1, 2)
             if r[f"access_key_{n}_active"] == "true"]

    assert slept == [0.25, 0.5] and iam.generated == 3
    assert [f.resource_id for f in found] == ["root-access-key-1"]
    assert found[0].severity == "critical" and "move its uses to an IAM role" in found[0].summary
    assert found[0].details["last_used_service"] == "s3"


def test_no_root_key_no_finding_over_moto(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(root_access_keys.COLLECTOR)
    ctx.client("iam").create_user(UserName="alice")
    ctx.client("iam").create_access_key(UserName="alice")  # a user's key is not the root's

    assert list(root_access_keys.collect(ctx, sleep=lambda _: None)) == []


def public_policy(bucket: str, action: str = "s3:GetObject", condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": action,
                                 "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_public_buckets_by_acl_or_policy_are_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(public_s3_buckets.COLLECTOR)
    s3 = ctx.client("s3")
    for name in ("by-acl", "by-policy", "writable", "private", "conditional", "blocked"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket="by-acl", ACL="public-read")
    s3.put_bucket_policy(Bucket="by-policy", Policy=public_policy("by-policy"))
    s3.put_bucket_acl(Bucket="writable", GrantWrite='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    s3.put_bucket_policy(Bucket="conditional", Policy=public_policy(
        "conditional", condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    s3.put_bucket_acl(Bucket="blocked", ACL="public-read")
    s3.put_public_access_block(Bucket="blocked", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})

    found = {f.resource_id: f for f in run_collector(public_s3_buckets.COLLECTOR, ctx)}

    assert set(found) == {"by-acl", "by-policy", "writable"}
    assert found["by-acl"].severity == "high" and found["writable"].severity == "critical"
    assert "AllUsers" in found["by-acl"].summary and "Block Public Access" in found["by-acl"].summary
    assert found["by-policy"].details["public_policy_statements"][0]["actions"] == ["s3:GetObject"]


def test_the_accounts_block_hides_every_bucket(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(public_s3_buckets.COLLECTOR)
    ctx.client("s3").create_bucket(Bucket="by-acl")
    ctx.client("s3").put_bucket_acl(Bucket="by-acl", ACL="public-read")
    ctx.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})

    assert run_collector(public_s3_buckets.COLLECTOR, ctx) == []


def trail(ctx: Any, name: str, *, multi_region: bool, logging: bool) -> None:
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=f"{name}-logs")
    cloudtrail = ctx.client("cloudtrail")
    cloudtrail.create_trail(Name=name, S3BucketName=f"{name}-logs", IsMultiRegionTrail=multi_region)
    if logging:
        cloudtrail.start_logging(Name=name)


def test_an_account_without_a_logging_multi_region_trail_is_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(cloudtrail_not_logging.COLLECTOR)
    assert [f.resource_id for f in run_collector(cloudtrail_not_logging.COLLECTOR, ctx)] == [ACCOUNT]

    trail(ctx, "one-region", multi_region=False, logging=True)
    trail(ctx, "stopped", multi_region=True, logging=False)
    [finding] = run_collector(cloudtrail_not_logging.COLLECTOR, ctx)
    assert finding.severity == "high" and "stopped are not logging" in finding.summary

    trail(ctx, "everywhere", multi_region=True, logging=True)
    assert run_collector(cloudtrail_not_logging.COLLECTOR, ctx) == []


def test_a_region_without_an_enabled_detector_is_reported(aws_server: str, collector_context: Any) -> None:
    on, off, suspended = (collector_context(guardduty_disabled.COLLECTOR, region=r)
                          for r in ("us-east-1", "eu-west-1", "ap-southeast-2"))
    on.client("guardduty").create_detector(Enable=True)
    suspended.client("guardduty").create_detector(Enable=False)
    paged = Pages(on.client("guardduty"), "ListDetectors", "DetectorIds", size=1)
    on.client("guardduty").create_detector(Enable=False)  # a second page, after the enabled one

    assert run_collector(guardduty_disabled.COLLECTOR, on) == []
    assert paged.requests == 2
    [found] = run_collector(guardduty_disabled.COLLECTOR, off)
    assert (found.resource_id, found.severity) == ("eu-west-1", "medium") and "no detector" in found.summary
    [found] = run_collector(guardduty_disabled.COLLECTOR, suspended)
    assert "suspended" in found.summary


def test_console_users_without_mfa_are_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(iam_users_without_mfa.COLLECTOR)
    iam = ctx.client("iam")
    for user in ("console-no-mfa", "console-with-mfa", "keys-only"):
        iam.create_user(UserName=user)
    for user in ("console-no-mfa", "console-with-mfa"):
        iam.create_login_profile(UserName=user, Password="Correct-horse-battery-9")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="console-with-mfa", SerialNumber=device, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")

    found = list(iam_users_without_mfa.collect(ctx, sleep=lambda _: None))

    assert [f.resource_id for f in found] == ["console-no-mfa"]
    assert found[0].severity == "medium" and "add an MFA device" in found[0].summary
