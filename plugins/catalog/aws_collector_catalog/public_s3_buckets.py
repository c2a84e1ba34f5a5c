"""public_s3_buckets: buckets open to anyone through their ACL or their policy, with nothing blocking it.

S3 Block Public Access overrides both: ``IgnorePublicAcls`` (at the account or the bucket level)
makes a public ACL grant nothing, and ``RestrictPublicBuckets`` makes a public policy grant
nothing to anyone outside the account. So a bucket is public when:
- its ACL grants AllUsers or AuthenticatedUsers and neither level ignores public ACLs; or
- its policy has an Allow statement for ``"Principal": "*"`` (or ``{"AWS": "*"}``) with no
  Condition, and neither level restricts public buckets.
One finding per bucket, high; critical when what is open includes writing.

GetPublicAccessBlock for the account (S3 Control), ListBuckets, then per bucket GetPublicAccessBlock,
GetBucketAcl and GetBucketPolicy, skipping the calls a block already answers.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "public_s3_buckets"
GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
WRITE_PERMISSIONS = {"WRITE", "WRITE_ACP", "FULL_CONTROL"}
NO_BLOCK = {"NoSuchPublicAccessBlockConfiguration"}
NO_POLICY = {"NoSuchBucketPolicy"}
#: Policy actions that read only; anything else (s3:*, s3:Put*, s3:DeleteObject...) counts as writing.
READ_PREFIXES = ("s3:Get", "s3:List")


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per bucket that anyone can reach."""
    account_block = _block(lambda: ctx.client("s3control").get_public_access_block(AccountId=ctx.account.id))
    if account_block.get("IgnorePublicAcls") and account_block.get("RestrictPublicBuckets"):
        return  # the account blocks both ways in for every bucket
    s3 = ctx.client("s3")
    for name in _buckets(s3):
        block = _block(lambda name=name: s3.get_public_access_block(Bucket=name))
        ignore_acls = bool(account_block.get("IgnorePublicAcls") or block.get("IgnorePublicAcls"))
        restrict = bool(account_block.get("RestrictPublicBuckets") or block.get("RestrictPublicBuckets"))
        grants = [] if ignore_acls else public_grants(s3.get_bucket_acl(Bucket=name))
        statements = [] if restrict else public_statements(_policy(s3, name))
        if grants or statements:
            yield _finding(name, grants, statements, account_block, block)


def _buckets(s3: Any) -> Iterator[str]:
    """Every bucket's name, by pages where this botocore can page ListBuckets."""
    if s3.can_paginate("list_buckets"):
        pages = s3.get_paginator("list_buckets").paginate()
    else:
        pages = iter([s3.list_buckets()])
    for page in pages:
        for bucket in page.get("Buckets", []):
            yield bucket["Name"]


def public_grants(acl: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ACL's grants to everyone or to any AWS user."""
    found = []
    for grant in acl.get("Grants", []):
        group = GROUPS.get((grant.get("Grantee") or {}).get("URI", ""))
        if group:
            found.append({"grantee": group, "permission": grant.get("Permission", "")})
    return found


def public_statements(policy: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The policy's Allow statements for any principal with no condition."""
    if not policy:
        return []
    statements = policy.get("Statement", [])
    found = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if _anyone(statement.get("Principal")):
            actions = statement.get("Action", [])
            found.append({"sid": statement.get("Sid", ""),
                          "actions": [actions] if isinstance(actions, str) else list(actions)})
    return found


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def _block(call: Any) -> Mapping[str, Any]:
    """A public access block's settings; none set is all off."""
    try:
        return call().get("PublicAccessBlockConfiguration", {})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in NO_BLOCK:
            return {}
        raise


def _policy(s3: Any, bucket: str) -> Mapping[str, Any] | None:
    try:
        document = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in NO_POLICY:
            return None
        raise
    parsed = json.loads(document)
    return parsed if isinstance(parsed, dict) else None


def _finding(bucket: str, grants: list[dict[str, str]], statements: list[dict[str, Any]],
             account_block: Mapping[str, Any], block: Mapping[str, Any]) -> Finding:
    writes = any(g["permission"] in WRITE_PERMISSIONS for g in grants) or any(
        not action.startswith(READ_PREFIXES) for s in statements for action in s["actions"])
    how = [f"its ACL grants {g['permission']} to {g['grantee']}" for g in grants]
    how += [f"its policy allows {', '.join(s['actions']) or 'actions'} to anyone" for s in statements]
    return Finding(
        resource_id=bucket,
        summary=(f"S3 bucket {bucket} is public: {'; '.join(how)}. Turn on Block Public Access for it (or the "
                 f"account) unless it must be public"),
        severity="critical" if writes else "high",
        details={
            "public_acl_grants": grants,
            "public_policy_statements": statements,
            "anyone_can_write": writes,
            "account_public_access_block": dict(account_block),
            "bucket_public_access_block": dict(block),
        },
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.GLOBAL,
    summary="S3 buckets whose ACL or policy lets anyone in, with Block Public Access off",
    permissions=["s3:GetAccountPublicAccessBlock", "s3:ListAllMyBuckets", "s3:GetBucketPublicAccessBlock",
                 "s3:GetBucketAcl", "s3:GetBucketPolicy"],
    options={},
    collect=collect,
    resource_type="AwsS3Bucket",
)
