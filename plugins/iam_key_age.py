"""Built-in collector: active IAM access keys older than ``max_age_days``.

Age is in whole days (floored); a key is reported when its age is strictly greater than
``max_age_days``, so a key exactly 90 days old is not reported under the default 90, and one of
91 days is. Severity is ``medium``, ``high`` past twice the limit, and ``critical`` for the root
user's keys (which also get ``root-access-key-N`` as resource id: no API run in a member role
returns a root key's id).

Two paths, the cheaper first:
- the IAM credential report: GenerateCredentialReport until COMPLETE (bounded polls), one
  GetCredentialReport, then one ListAccessKeys per user whose report row shows an old active key.
  The report has no key ids; ListAccessKeys gives them, and its Status and CreateDate are
  authoritative, since AWS may return a report up to four hours old.
- when the report is denied or not ready: ListUsers, ListAccessKeys per user, and
  GetAccessKeyLastUsed per old active key. This path cannot see root keys.

A finding carries its user's tags (``team``, ``owner``...) for routes and mutes: neither the
report nor ListUsers has them, so it costs one ListUserTags per user with an old key (only those,
never per user listed); a denied call leaves that user's findings untagged.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from collector_core import Collector, CollectorContext, Finding, Scope, hookimpl, tags_from

#: Seconds to wait between GenerateCredentialReport calls: ten calls, about 17 s at most.
#: A small account's report is usually ready on the second call.
REPORT_POLL_DELAYS: tuple[float, ...] = (0.25, 0.5, 1, 1, 2, 2, 3, 3, 4)
ROOT_USER = "<root_account>"
#: ListUsers returns 100 users a page unless asked for up to 1000.
USERS_PAGE_SIZE = 1000
#: Report cells that mean "no date / no value".
EMPTY_CELLS = {"", "N/A", "no_information", "not_supported"}


class ReportUnavailable(Exception):
    """The credential report could not be had; the collector lists users instead."""


def collect(ctx: CollectorContext, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[Finding]:
    """Yield one finding per active access key older than ``max_age_days`` in the account."""
    max_age = int(ctx.options.get("max_age_days", 90))
    iam = ctx.client("iam")
    try:
        rows = credential_report(iam, sleep)
    except ReportUnavailable as exc:
        ctx.log.info("iam_key_age_source", source="list_users", reason=str(exc))
        yield from _from_listing(ctx, iam, max_age)
        return
    ctx.log.info("iam_key_age_source", source="credential_report", users=len(rows))
    yield from _from_report(ctx, iam, rows, max_age)


def credential_report(iam: Any, sleep: Callable[[float], None] = time.sleep) -> list[dict[str, str]]:
    """The credential report's rows, generating it first; ReportUnavailable if it cannot be had."""
    for delay in (*REPORT_POLL_DELAYS, None):
        try:
            state = iam.generate_credential_report().get("State")
        except ClientError as exc:
            raise ReportUnavailable(f"GenerateCredentialReport failed: {_error_code(exc)}") from exc
        if state == "COMPLETE":
            break
        if delay is None:
            raise ReportUnavailable(f"report still {state} after {len(REPORT_POLL_DELAYS) + 1} attempts")
        sleep(delay)
    try:
        content = iam.get_credential_report()["Content"]
    except ClientError as exc:
        raise ReportUnavailable(f"GetCredentialReport failed: {_error_code(exc)}") from exc
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    return list(csv.DictReader(io.StringIO(text)))


def _from_report(
    ctx: CollectorContext, iam: Any, rows: list[dict[str, str]], max_age: int
) -> Iterator[Finding]:
    for row in rows:
        rotated = {n: _parse_time(row.get(f"access_key_{n}_last_rotated")) for n in (1, 2)}
        old = {
            n: created for n, created in rotated.items()
            if created is not None and row.get(f"access_key_{n}_active") == "true"
            and _age_days(ctx.now, created) > max_age
        }
        if not old:
            continue
        user, arn = row.get("user", ""), row.get("arn", "")
        if user == ROOT_USER:
            for n, created in old.items():
                yield _finding(ctx.now, max_age, user, arn, f"root-access-key-{n}", created,
                               *_report_last_used(row, n), root=True)
            continue
        # ListAccessKeys has the ids; a key matches the report slot created in the same second.
        tags = _UserTags(ctx, iam, user)
        for key in _access_keys(iam, user):
            created = key["CreateDate"]
            if key.get("Status") != "Active" or _age_days(ctx.now, created) <= max_age:
                continue
            second = int(created.timestamp())
            slot = next((n for n, t in rotated.items() if t and int(t.timestamp()) == second), 0)
            last_used, service = _report_last_used(row, slot) if slot else (None, None)
            rotated.pop(slot, None)  # two keys created in one second take one slot each
            yield _finding(ctx.now, max_age, user, arn, key["AccessKeyId"], created, last_used, service,
                           tags=tags.get())


def _from_listing(ctx: CollectorContext, iam: Any, max_age: int) -> Iterator[Finding]:
    for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": USERS_PAGE_SIZE}):
        for user in page.get("Users", []):
            tags = _UserTags(ctx, iam, user["UserName"])
            for key in _access_keys(iam, user["UserName"]):
                created = key["CreateDate"]
                if key.get("Status") != "Active" or _age_days(ctx.now, created) <= max_age:
                    continue
                last_used, service = _api_last_used(ctx, iam, key["AccessKeyId"])
                yield _finding(ctx.now, max_age, user["UserName"], user.get("Arn", ""),
                               key["AccessKeyId"], created, last_used, service, tags=tags.get())


def _access_keys(iam: Any, user: str) -> list[Mapping[str, Any]]:
    try:
        return [
            key
            for page in iam.get_paginator("list_access_keys").paginate(UserName=user)
            for key in page.get("AccessKeyMetadata", [])
        ]
    except ClientError as exc:
        # Deleted since the report or the user listing was made: it has no keys now.
        if _error_code(exc) == "NoSuchEntity":
            return []
        raise


class _UserTags:
    """A user's tags, listed on first need (one ListUserTags, a single page: a user has at most 50)."""

    def __init__(self, ctx: CollectorContext, iam: Any, user: str) -> None:
        self._ctx, self._iam, self._user = ctx, iam, user
        self._tags: dict[str, str] | None = None

    def get(self) -> dict[str, str]:
        if self._tags is None:
            try:
                self._tags = tags_from(self._iam.list_user_tags(UserName=self._user))
            except ClientError as exc:  # tags route the finding; the finding stands without them
                self._ctx.log.warning("iam_user_tags_failed", user=self._user, error=_error_code(exc))
                self._tags = {}
        return self._tags


def _report_last_used(row: Mapping[str, str], slot: int) -> tuple[dt.datetime | None, str | None]:
    service = row.get(f"access_key_{slot}_last_used_service", "")
    return (
        _parse_time(row.get(f"access_key_{slot}_last_used_date")),
        None if service in EMPTY_CELLS else service,
    )


def _api_last_used(ctx: CollectorContext, iam: Any, key_id: str) -> tuple[dt.datetime | None, str | None]:
    try:
        info = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    except ClientError as exc:
        # Last use is context, not the finding: report the key without it.
        ctx.log.warning("iam_key_last_used_failed", access_key_id=key_id, error=_error_code(exc))
        return None, None
    service = info.get("ServiceName") or ""
    return info.get("LastUsedDate"), None if service in EMPTY_CELLS else service


def _finding(
    now: dt.datetime,
    max_age: int,
    user: str,
    arn: str,
    key_id: str,
    created: dt.datetime,
    last_used: dt.datetime | None,
    service: str | None,
    *,
    root: bool = False,
    tags: Mapping[str, str] | None = None,
) -> Finding:
    age = _age_days(now, created)
    details = {
        "user": user,
        "user_arn": arn,
        "access_key_id": key_id,
        "age_days": age,
        "created": _iso(created),
        "last_used": _iso(last_used) if last_used else None,
        "last_used_service": service,
    }
    owner = "the root user" if root else f"IAM user {user}"
    return Finding(
        resource_id=key_id,
        summary=f"Access key {key_id} of {owner} is {age} days old (limit {max_age}), {_used_text(details)}",
        severity="critical" if root else "high" if age > 2 * max_age else "medium",
        details=details,
        tags=tags or {},
    )


def format_finding(finding: Mapping[str, Any]) -> str:
    """One report line, e.g. ``AKIA... (alice) 120 days old, last used 2024-05-01``."""
    details = finding.get("details") or {}
    return (
        f"{finding.get('resource_id')} ({details.get('user')}) {details.get('age_days')} days old, "
        f"{_used_text(details)}"
    )


def _used_text(details: Mapping[str, Any]) -> str:
    last_used = details.get("last_used")
    return f"last used {str(last_used)[:10]}" if last_used else "no recorded use"


def _parse_time(cell: str | None) -> dt.datetime | None:
    if cell is None or cell in EMPTY_CELLS:
        return None
    moment = dt.datetime.fromisoformat(cell)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _age_days(now: dt.datetime, created: dt.datetime) -> int:
    return (now - created).days


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", exc))


@hookimpl
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the iam_key_age collector."""
    register(
        Collector(
            name="iam_key_age",
            scope=Scope.GLOBAL,
            summary="Active IAM access keys older than max_age_days",
            permissions=[
                "iam:GenerateCredentialReport",
                "iam:GetCredentialReport",
                "iam:ListUsers",
                "iam:ListAccessKeys",
                "iam:GetAccessKeyLastUsed",
                "iam:ListUserTags",
            ],
            options={"max_age_days": 90},
            collect=collect,
            format=format_finding,
            resource_type="AwsIamAccessKey",
        )
    )
