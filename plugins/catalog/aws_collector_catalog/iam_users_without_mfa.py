"""iam_users_without_mfa: IAM users who can sign in to the console with a password and have no MFA.

A password alone is one phishing email away from the console. One call and a filter cannot say
this (ListUsers knows neither passwords nor MFA), but the IAM credential report has both, one row
per user: ``password_enabled`` and ``mfa_active``. The same report as root_access_keys, generated
then read (a few polls at most); the root user is root_access_keys' concern and is left out here.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from aws_collector_catalog.root_access_keys import EMPTY, ROOT_USER, credential_report
from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "iam_users_without_mfa"


def collect(ctx: CollectorContext, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[Finding]:
    """One finding per IAM user with a console password and no MFA device."""
    for row in credential_report(ctx.client("iam"), sleep):
        user = row.get("user", "")
        if user == ROOT_USER or row.get("password_enabled", "").lower() != "true":
            continue
        if row.get("mfa_active", "").lower() == "true":
            continue
        used = row.get("password_last_used", "")
        used = None if used in EMPTY else used
        yield Finding(
            resource_id=user,
            summary=(f"IAM user {user} signs in to the console with a password and no MFA (password last used "
                     f"{used or 'never'}): add an MFA device, or remove the password if nobody signs in"),
            severity="high" if used else "medium",
            details={"arn": row.get("arn"), "password_last_used": used,
                     "password_last_changed": None if row.get("password_last_changed", "") in EMPTY
                     else row.get("password_last_changed"), "user_created": row.get("user_creation_time")},
        )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.GLOBAL,
    summary="IAM users with a console password and no MFA device (from the IAM credential report)",
    permissions=["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
    options={},
    collect=collect,
    resource_type="AwsIamUser",
)
