"""iam_key_age: the credential-report path and the listing fallback against moto, and the
report's parsing, root keys and pagination against stubbed clients, through the plugin kit
(collector_core.testing) as a plugin author would test it."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aws_collector_plugins import iam_key_age
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from freezegun import freeze_time
from moto.iam.models import AccessKeyLastUsed, iam_backends
from structlog.testing import capture_logs

from collector_core import SEVERITIES, Collector, CollectorContext, Finding, Scope
from collector_core.testing import FakeClock, api_calls, run_collector

#: A fixed "now" to the second, so ages measured by the collector are exact.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)
HENRY_1, HENRY_2 = "AKIAHENRY1000000", "AKIAHENRY2000000"  # ids must be at least 16 characters
REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
    "cert_2_active,cert_2_last_rotated"
)


@pytest.fixture
def collector(register_plugin: Any) -> Collector:
    """The collector as the runtime gets it: through the plugin's hook."""
    return register_plugin(iam_key_age)["iam_key_age"]


@pytest.fixture
def ctx(mocked_aws: None, collector: Collector, collector_context: Any) -> CollectorContext:
    """The context of a global collector: region "global", clients in us-east-1."""
    return collector_context(collector, now=NOW)


@pytest.fixture
def calls(ctx: CollectorContext, account: dict[str, str]) -> list[str]:
    """Every IAM call made after the account is set up."""
    return api_calls(ctx.client("iam"))


def _collect(collector: Collector, ctx: CollectorContext, clock: FakeClock | None = None) -> list[Finding]:
    # The poll sleep replaced, so tests never wait.
    return run_collector(collector, ctx, sleep=(clock or FakeClock()).sleep)


def _add_key(ctx: CollectorContext, user: str, age: dt.timedelta, *, active: bool = True) -> str:
    """Create an access key for ``user`` and backdate it to ``age`` before NOW."""
    iam = ctx.client("iam")
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    if not active:
        iam.update_access_key(UserName=user, AccessKeyId=key, Status="Inactive")
    backend_key = next(k for k in _backend().users[user].access_keys if k.access_key_id == key)
    backend_key.create_date = (NOW - age).replace(tzinfo=None)  # moto keeps naive UTC
    return key


def _backend() -> Any:
    return iam_backends["123456789012"]["aws"]


@pytest.fixture
def account(ctx: CollectorContext) -> dict[str, str]:
    """Users and keys with a known answer; returns a name -> key id map."""
    iam = ctx.client("iam")
    for user in ("alice", "bob", "carol", "dave", "erin", "frank"):
        iam.create_user(UserName=user)
    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "payments"}, {"Key": "owner", "Value": "alice"}])
    keys = {
        "alice-1": _add_key(ctx, "alice", 120 * DAY),  # two old keys for one user
        "alice-2": _add_key(ctx, "alice", 200 * DAY),  # past twice the limit: high
        "bob": _add_key(ctx, "bob", 91 * DAY),  # one day over: reported
        "carol-exact": _add_key(ctx, "carol", 90 * DAY),  # exactly the limit: not reported
        "carol-almost": _add_key(ctx, "carol", 90 * DAY + dt.timedelta(hours=23)),  # 90 whole days
        "dave": _add_key(ctx, "dave", 300 * DAY, active=False),  # old but inactive
        "erin": _add_key(ctx, "erin", 5 * DAY),  # fresh
    }
    last_used = (NOW - 3 * DAY).replace(tzinfo=None)
    _backend().users["bob"].access_keys[0].last_used = AccessKeyLastUsed(last_used, "s3", "us-east-1")
    return keys


REPORTED = ("alice-1", "alice-2", "bob")


def _check_ground_truth(findings: list[Finding], keys: dict[str, str]) -> None:
    by_id = {f.resource_id: f for f in findings}
    assert set(by_id) == {keys[k] for k in REPORTED}
    ages = {k: (by_id[keys[k]].details["age_days"], by_id[keys[k]].severity) for k in REPORTED}
    assert ages == {"alice-1": (120, "medium"), "alice-2": (200, "high"), "bob": (91, "medium")}
    # Each finding carries its user's tags, listed once per user with an old key.
    assert by_id[keys["alice-2"]].tags == {"owner": "alice", "team": "payments"} and by_id[keys["bob"]].tags == {}
    bob = by_id[keys["bob"]]
    assert bob.details["user"] == "bob"
    assert bob.details["user_arn"] == "arn:aws:iam::123456789012:user/bob"
    assert bob.details["access_key_id"] == keys["bob"]
    assert bob.details["created"] == (NOW - 91 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert bob.details["last_used"] == (NOW - 3 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert by_id[keys["alice-1"]].details["last_used"] is None
    assert by_id[keys["alice-1"]].details["last_used_service"] is None
    assert bob.summary == (f"Access key {keys['bob']} of IAM user bob is 91 days old (limit 90), "
                           f"last used {(NOW - 3 * DAY).date()}")
    for finding in findings:
        assert finding.severity in SEVERITIES
        json.dumps(finding.details, allow_nan=False)


def test_registration(register_plugin: Any) -> None:
    registry = register_plugin(iam_key_age)
    # The module registers this one collector, the way the runtime loads it.
    own = [r.collector for r in registry.collectors.values() if r.plugin.value == iam_key_age.__name__]
    (collector,) = own
    assert collector.name == "iam_key_age"
    assert collector.scope is Scope.GLOBAL
    assert collector.options == {"max_age_days": 90}
    assert set(collector.permissions) == {
        "iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:ListUsers",
        "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListUserTags",
    }


def test_report_path_finds_old_active_keys_with_few_calls(
    ctx: CollectorContext, collector: Collector, account: dict[str, str], calls: list[str]
) -> None:
    clock = FakeClock()
    with capture_logs() as logs:
        findings = _collect(collector, ctx, clock)
    _check_ground_truth(findings, account)
    # moto answers STARTED, then COMPLETE; then one ListAccessKeys and one ListUserTags per offending
    # user (alice, bob), never per user in the account.
    assert calls == ["GenerateCredentialReport", "GenerateCredentialReport", "GetCredentialReport",
                     "ListAccessKeys", "ListUserTags", "ListAccessKeys", "ListUserTags"]
    assert clock.sleeps == [iam_key_age.REPORT_POLL_DELAYS[0]]
    assert [e["source"] for e in logs if e["event"] == "iam_key_age_source"] == ["credential_report"]


def _deny(operation: str, code: str = "AccessDenied") -> Callable[..., None]:
    def handler(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, operation)
    return handler


@pytest.mark.parametrize(
    ("operation", "code"),
    [("GenerateCredentialReport", "AccessDenied"), ("GetCredentialReport", "ReportInProgress")],
)
def test_fallback_finds_the_same_keys(ctx: CollectorContext, collector: Collector, account: dict[str, str],
                                     calls: list[str], operation: str, code: str) -> None:
    iam = ctx.client("iam")
    iam.meta.events.register(f"before-call.iam.{operation}", _deny(operation, code))
    with capture_logs() as logs:
        findings = _collect(collector, ctx)
    _check_ground_truth(findings, account)
    assert next(f for f in findings if f.resource_id == account["bob"]).details["last_used_service"] == "s3"
    (source,) = [e for e in logs if e["event"] == "iam_key_age_source"]
    assert source["source"] == "list_users" and code in source["reason"]
    # One ListUsers page, ListAccessKeys for each of the six users, last use of the three old keys,
    # the tags of the two users who have them.
    fallback = calls[calls.index("ListUsers"):]
    assert Counter(fallback) == {"ListUsers": 1, "ListAccessKeys": 6, "GetAccessKeyLastUsed": 3, "ListUserTags": 2}


def test_report_never_ready_falls_back_after_bounded_polls(
    ctx: CollectorContext, collector: Collector, account: dict[str, str], calls: list[str]
) -> None:
    iam = ctx.client("iam")
    # Answer every GenerateCredentialReport with INPROGRESS, without reaching moto.
    iam.meta.events.register("before-call.iam.GenerateCredentialReport",
                             lambda **_: (AWSResponse("", 200, {}, None), {"State": "INPROGRESS"}))
    clock = FakeClock()
    findings = _collect(collector, ctx, clock)
    _check_ground_truth(findings, account)
    assert clock.sleeps == list(iam_key_age.REPORT_POLL_DELAYS)
    assert sum(clock.sleeps) < 20
    assert calls.count("GenerateCredentialReport") == len(iam_key_age.REPORT_POLL_DELAYS) + 1
    assert "GetCredentialReport" not in calls


def test_max_age_days_option(collector: Collector, collector_context: Any, account: dict[str, str]) -> None:
    ctx = collector_context(collector, options={"max_age_days": 10}, now=NOW)
    found = {f.resource_id: f for f in _collect(collector, ctx)}
    assert set(found) == {account[k] for k in ("alice-1", "alice-2", "bob", "carol-exact", "carol-almost")}
    assert {f.severity for f in found.values()} == {"high"}


def test_key_created_under_freeze_time(ctx: CollectorContext, collector: Collector) -> None:
    iam = ctx.client("iam")
    iam.create_user(UserName="grace")
    with freeze_time(NOW - 100 * DAY):
        key = iam.create_access_key(UserName="grace")["AccessKey"]["AccessKeyId"]
    (finding,) = _collect(collector, ctx)
    assert (finding.resource_id, finding.details["age_days"]) == (key, 100)


def test_empty_account_has_no_findings(ctx: CollectorContext, collector: Collector) -> None:
    calls = api_calls(ctx.client("iam"))
    assert _collect(collector, ctx) == []
    assert calls == ["GenerateCredentialReport", "GenerateCredentialReport", "GetCredentialReport"]


def _report(*rows: str) -> bytes:
    return "\n".join([REPORT_HEADER, *rows]).encode()


def _row(user: str, key1: tuple[str, str, str, str] = ("false", "N/A", "N/A", "N/A"),
         key2: tuple[str, str, str, str] = ("false", "N/A", "N/A", "N/A")) -> str:
    """A report row; each key is (active, last_rotated, last_used_date, last_used_service)."""
    arn = "arn:aws:iam::123456789012:" + ("root" if user == "<root_account>" else f"user/{user}")
    a1, r1, u1, s1 = key1
    a2, r2, u2, s2 = key2
    return (f"{user},{arn},2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
            f"{a1},{r1},{u1},us-east-1,{s1},{a2},{r2},{u2},us-east-1,{s2},false,N/A,false,N/A")


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_report_parsing_root_keys_and_a_stale_report(ctx: CollectorContext, collector: Collector) -> None:
    now = NOW
    old, older, used = now - 100 * DAY, now - 400 * DAY, now - 2 * DAY
    report = _report(
        _row("<root_account>", key1=("true", _iso(older), _iso(used), "ec2")),
        _row("henry", key1=("true", _iso(old), _iso(used), "sts"),
             key2=("true", _iso(old + DAY), "N/A", "N/A")),
        _row("ivy", key1=("true", _iso(old), "N/A", "N/A")),  # deactivated since the report was made
        _row("jack", key1=("false", _iso(older), "N/A", "N/A")),
        _row("kate", key1=("true", _iso(old), "N/A", "N/A")),  # deleted since the report was made
    )
    iam = ctx.client("iam")
    calls = api_calls(iam)
    with Stubber(iam) as stub:
        stub.add_response("generate_credential_report", {"State": "COMPLETE"})
        stub.add_response("get_credential_report", {"Content": report, "ReportFormat": "text/csv"})
        stub.add_response("list_access_keys", {"AccessKeyMetadata": [
            {"UserName": "henry", "AccessKeyId": HENRY_1, "Status": "Active", "CreateDate": old},
            {"UserName": "henry", "AccessKeyId": HENRY_2, "Status": "Active", "CreateDate": old + DAY},
        ]}, {"UserName": "henry"})
        stub.add_response("list_user_tags", {"Tags": [{"Key": "team", "Value": "data"}], "IsTruncated": False},
                          {"UserName": "henry"})  # once for both of henry's keys
        stub.add_response("list_access_keys", {"AccessKeyMetadata": [
            {"UserName": "ivy", "AccessKeyId": "AKIAIVY000000000", "Status": "Inactive", "CreateDate": old},
        ]}, {"UserName": "ivy"})
        stub.add_client_error("list_access_keys", "NoSuchEntity", http_status_code=404,
                              expected_params={"UserName": "kate"})
        findings = _collect(collector, ctx)
        stub.assert_no_pending_responses()

    by_id = {f.resource_id: f for f in findings}
    assert set(by_id) == {"root-access-key-1", HENRY_1, HENRY_2}
    root = by_id["root-access-key-1"]
    assert root.severity == "critical" and root.details["age_days"] == 400
    assert root.summary.startswith("Access key root-access-key-1 of the root user is 400 days old")
    # Each key gets the last use of its own report slot, matched by creation time.
    first, second = by_id[HENRY_1].details, by_id[HENRY_2].details
    assert (first["last_used"], first["last_used_service"]) == (used.strftime("%Y-%m-%dT%H:%M:%SZ"), "sts")
    assert (second["last_used"], second["last_used_service"], second["age_days"]) == (None, None, 99)
    assert by_id[HENRY_1].tags == by_id[HENRY_2].tags == {"team": "data"} and root.tags == {}
    # One ListAccessKeys each for henry, ivy and kate; none for root or jack; henry's tags once.
    assert calls == ["GenerateCredentialReport", "GetCredentialReport", "ListAccessKeys", "ListUserTags",
                     "ListAccessKeys", "ListAccessKeys"]


def test_fallback_follows_every_page(ctx: CollectorContext, collector: Collector) -> None:
    old = NOW - 95 * DAY
    created = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    def user(name: str) -> dict[str, Any]:
        return {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper():0>12}", "CreateDate": created,
                "Arn": f"arn:aws:iam::123456789012:user/{name}"}

    iam = ctx.client("iam")
    with Stubber(iam) as stub:
        stub.add_client_error("generate_credential_report", "AccessDenied", http_status_code=403)
        stub.add_response("list_users", {"Users": [user("u1")], "IsTruncated": True, "Marker": "m1"},
                          {"MaxItems": 1000})
        stub.add_response("list_access_keys", {"AccessKeyMetadata": [
            {"UserName": "u1", "AccessKeyId": "AKIAU10000000000", "Status": "Active", "CreateDate": old}]},
            {"UserName": "u1"})
        stub.add_response("get_access_key_last_used", {"UserName": "u1", "AccessKeyLastUsed": {
            "ServiceName": "N/A", "Region": "N/A"}}, {"AccessKeyId": "AKIAU10000000000"})
        stub.add_response("list_user_tags", {"Tags": [], "IsTruncated": False}, {"UserName": "u1"})
        stub.add_response("list_users", {"Users": [user("u2")], "IsTruncated": False},
                          {"MaxItems": 1000, "Marker": "m1"})
        stub.add_response("list_access_keys", {"AccessKeyMetadata": [
            {"UserName": "u2", "AccessKeyId": "AKIAU2A000000000", "Status": "Active", "CreateDate": old}],
            "IsTruncated": True, "Marker": "k1"}, {"UserName": "u2"})
        stub.add_response("list_access_keys", {"AccessKeyMetadata": [
            {"UserName": "u2", "AccessKeyId": "AKIAU2B000000000", "Status": "Inactive", "CreateDate": old}]},
            {"UserName": "u2", "Marker": "k1"})
        stub.add_client_error("get_access_key_last_used", "AccessDenied", http_status_code=403,
                              expected_params={"AccessKeyId": "AKIAU2A000000000"})
        stub.add_client_error("list_user_tags", "AccessDenied", http_status_code=403,
                              expected_params={"UserName": "u2"})
        findings = _collect(collector, ctx)
        stub.assert_no_pending_responses()
    assert [f.resource_id for f in findings] == ["AKIAU10000000000", "AKIAU2A000000000"]
    # A denied GetAccessKeyLastUsed leaves last use unknown, a denied ListUserTags the tags; the key
    # is still reported.
    assert findings[1].details["last_used"] is None and findings[1].tags == {}
    assert [f.details["age_days"] for f in findings] == [95, 95]


def test_report_content_as_text_is_parsed() -> None:
    class FakeIam:
        def generate_credential_report(self) -> dict[str, str]:
            return {"State": "COMPLETE"}

        def get_credential_report(self) -> dict[str, str]:
            return {"Content": _report(_row("kim")).decode()}

    rows = iam_key_age.credential_report(FakeIam())
    assert [r["user"] for r in rows] == ["kim"]


def test_format_reads_a_stored_finding(collector: Collector) -> None:
    details: dict[str, Any] = {"user": "alice", "age_days": 120, "last_used": "2024-05-01T10:00:00Z"}
    stored = {"resource_id": "AKIA1", "details": details}
    assert collector.format is not None
    assert collector.format(stored) == "AKIA1 (alice) 120 days old, last used 2024-05-01"
    details["last_used"] = None
    assert collector.format(stored) == "AKIA1 (alice) 120 days old, no recorded use"
