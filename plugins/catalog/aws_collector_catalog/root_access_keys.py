"""root_access_keys: the account's root user has an active access key.

A root access key can do anything in the account and cannot be limited by any policy; AWS advises
having none. Only the IAM credential report shows the root user's keys (as ``<root_account>``):
GenerateCredentialReport until it is ready (a few polls, waiting between them), then one
GetCredentialReport. One finding per active key, ``root-access-key-1`` or ``-2`` (no API run in
a member role returns a root key's id).
"""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "root_access_keys"
ROOT_USER = "<root_account>"
#: Seconds between GenerateCredentialReport calls: about 17 s in all before giving up.
POLL_DELAYS: tuple[float, ...] = (0.25, 0.5, 1, 1, 2, 2, 3, 3, 4)
EMPTY = {"", "N/A", "no_information", "not_supported"}


class ReportNotReady(RuntimeError):
    """The credential report was still being generated after every poll."""


def credential_report(iam: Any, sleep: Callable[[float], None] = time.sleep) -> list[dict[str, str]]:
    """The credential report's rows, generated first."""
    for delay in (*POLL_DELAYS, None):
        state = iam.generate_credential_report().get("State")
        if state == "COMPLETE":
            break
        if delay is None:
            raise ReportNotReady(f"the IAM credential report is still {state} after {len(POLL_DELAYS) + 1} "
                                 "requests; the next run will read it")
        sleep(delay)
    content = iam.get_credential_report()["Content"]
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def collect(ctx: CollectorContext, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[Finding]:
    """One finding per active access key of the root user."""
    for row in credential_report(ctx.client("iam"), sleep):
        if row.get("user") == ROOT_USER:
            for n in (1, 2):
                if row.get(f"access_key_{n}_active", "").lower() == "true":
                    yield _finding(ctx.account.id, row, n)


def _finding(account_id: str, row: Mapping[str, str], n: int) -> Finding:
    def cell(name: str) -> str | None:
        value = row.get(f"access_key_{n}_{name}", "")
        return None if value in EMPTY else value

    used = cell("last_used_date")
    return Finding(
        resource_id=f"root-access-key-{n}",
        summary=(f"The root user of account {account_id} has an active access key ({n} of 2), last used "
                 f"{used or 'never'}: move its uses to an IAM role, then delete it"),
        severity="critical",
        details={
            "key": n,
            "last_rotated": cell("last_rotated"),
            "last_used": used,
            "last_used_service": cell("last_used_service"),
            "last_used_region": cell("last_used_region"),
            "root_mfa_active": row.get("mfa_active", "").lower() == "true",
        },
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.GLOBAL,
    summary="The root user has an active access key (from the IAM credential report)",
    permissions=["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
    options={},
    collect=collect,
)
