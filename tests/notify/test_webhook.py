"""The signed webhook: what a receiver on 127.0.0.1 gets, checked as a receiver following
docs/webhook.md would check it (signature, timestamp window, no replay), and against the body's
published JSON Schema."""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from loopback import Answer, Listener, Request
from notify_helpers import NOW, PROD, SANDBOX, account_run, finding, report_of, run_record

from collector_core.aws.clients import Clients
from collector_core.channel import ChannelContext, ChannelError
from collector_core.config.errors import ConfigError
from collector_core.config.load import parse_config
from collector_core.notify import webhook
from collector_core.plugins import load_plugins
from collector_core.testing import FakeClock

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec-test-SECRETSIGNINGKEY"
EBS, SG = "unattached_ebs", "open_security_groups"
TOLERANCE = 300  # seconds a receiver accepts a timestamp off its own clock, as docs/webhook.md advises


@dataclass
class Receiver:
    """A receiver as docs/webhook.md tells one to be: it recomputes the signature over the
    timestamp and the raw body, refuses a timestamp outside its window, and refuses a signature it
    has accepted before (a replay inside the window)."""

    time: FakeClock
    secret: str = SECRET
    accepted: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def __call__(self, request: Request) -> Answer:
        headers = {k.lower(): v for k, v in request.headers.items()}
        timestamp = headers.get("x-aws-collector-timestamp", "")
        signature = headers.get("x-aws-collector-signature", "")
        expected = "v1=" + hmac.new(self.secret.encode(), b"v1:" + timestamp.encode() + b":" + request.body,
                                    hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return 401, {}, "bad signature"
        if not timestamp.isdigit() or abs(self.time.now - int(timestamp)) > TOLERANCE:
            return 400, {}, "timestamp outside the window"
        if signature in self.seen:
            return 409, {}, "replayed"
        self.seen.add(signature)
        self.accepted.append(json.loads(request.body))
        return 200, {}, "ok"


def items(count: int = 5) -> list[Any]:
    records: list[Any] = [run_record("r1", [PROD, SANDBOX]), run_record("r2", [PROD, SANDBOX]),
                          account_run(PROD, "r1", [("us-east-1", EBS)]), account_run(SANDBOX, "r1", []),
                          account_run(PROD, "r2", [("us-east-1", EBS), ("us-east-1", SG)])]
    records.append(finding(PROD, "us-east-1", EBS, "vol-gone", run="r1", details={"size_gib": 8}))
    records += [finding(PROD, "us-east-1", EBS, f"vol-{i}", run="r2", first_run="r1" if i else None,
                        details={"size_gib": 10 + i, "type": "gp3"}) for i in range(count)]
    records.append(finding(PROD, "us-east-1", SG, "sg-1", run="r2", severity="high"))
    return records


def context(time: FakeClock, link: str | None = None) -> ChannelContext:
    return ChannelContext(where="notify.webhook", link=link, sleep=time.sleep, clock=time.clock, clients=Clients())


def settings(url: str, **more: Any) -> webhook.WebhookSettings:
    return webhook.WebhookSettings.from_doc({"url": url, "signing_secret_env": "WEBHOOK_SECRET", **more})


@pytest.fixture
def signed(http_listener: Listener, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Listener, Receiver, FakeClock]]:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    time = FakeClock(now=NOW.timestamp())
    receiver = Receiver(time)
    http_listener.receiver = receiver
    yield http_listener, receiver, time


def test_a_report_is_posted_in_signed_parts_that_follow_the_published_schema(
    mocked_aws: None, signed: tuple[Listener, Receiver, FakeClock],
) -> None:
    listener, receiver, time = signed
    report = report_of(items(), now=NOW)

    webhook.send(report, settings(listener.url, max_findings_per_post=2), context(time, link="https://page"))

    posts = receiver.accepted
    assert len(posts) == len(listener.received) == 4  # 6 open and 1 resolved, 2 a post
    validator = jsonschema.Draft202012Validator(webhook.body_schema(), format_checker=jsonschema.FormatChecker())
    for post in posts:
        validator.validate(post)
    assert {p["report"]["id"] for p in posts} == {webhook.report_id(report)}
    assert [(p["report"]["part"], p["report"]["parts"]) for p in posts] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [len(p["findings"]) for p in posts] == [2, 2, 2, 1]
    assert all(p["totals"] == posts[0]["totals"] for p in posts)
    assert posts[0]["totals"]["open"] == 6 and posts[0]["totals"]["resolved"] == 1
    assert posts[0]["report"]["link"] == "https://page" and posts[0]["report"]["run_id"] == "r2"
    findings = [f for p in posts for f in p["findings"]]
    assert len({f["key"] for f in findings}) == 7
    gone = next(f for f in findings if f["state"] == "resolved")
    assert gone["key"] == f"{PROD.id}/us-east-1/{EBS}/vol-gone" and gone["details"] == {"size_gib": 8}
    fresh = next(f for f in findings if f["resource_id"] == "vol-0")
    assert fresh["new"] is True and fresh["details"] == {"size_gib": 10, "type": "gp3"}
    assert [f["new"] for f in findings if f["resource_id"] == "vol-1"] == [False]


def test_the_schema_in_the_docs_is_the_one_the_package_ships() -> None:
    assert json.loads((ROOT / "docs" / "webhook-report-v1.json").read_text()) == webhook.body_schema()


def test_the_schema_refuses_a_post_that_breaks_it(
    mocked_aws: None, signed: tuple[Listener, Receiver, FakeClock]
) -> None:
    listener, receiver, time = signed
    webhook.send(report_of(items(1), now=NOW), settings(listener.url), context(time))
    (post,) = receiver.accepted
    validator = jsonschema.Draft202012Validator(webhook.body_schema())

    post["findings"][0]["severity"] = "severe"
    del post["report"]["parts"]
    assert {e.validator for e in validator.iter_errors(post)} == {"enum", "required"}


def test_a_replayed_post_is_refused_by_a_receiver_checking_as_documented(
    mocked_aws: None, signed: tuple[Listener, Receiver, FakeClock],
) -> None:
    listener, receiver, time = signed
    webhook.send(report_of(items(1), now=NOW), settings(listener.url), context(time))
    (original,) = listener.received

    def replay() -> int:
        request = urllib.request.Request(listener.url, data=original.body, method="POST", headers=original.headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert replay() == 409  # the same signature again, inside the window
    time.now += TOLERANCE + 1
    receiver.seen.clear()  # even a receiver that forgot it: the timestamp is stale now
    assert replay() == 400
    assert len(receiver.accepted) == 1


def test_each_attempt_is_signed_afresh_after_a_retry_after(
    mocked_aws: None, signed: tuple[Listener, Receiver, FakeClock]
) -> None:
    listener, receiver, time = signed
    listener.responses.append((503, {"Retry-After": "20"}, "busy"))  # the first attempt's answer
    listener.receiver = lambda request: None if len(listener.received) == 1 else receiver(request)

    webhook.send(report_of(items(1), now=NOW), settings(listener.url), context(time))

    assert time.sleeps == [20.0]
    first, second = listener.received
    assert first.body == second.body
    stamps = [int(r.headers["X-Aws-Collector-Timestamp"]) for r in (first, second)]
    assert stamps[1] - stamps[0] == 20
    assert len(receiver.accepted) == 1


def test_a_refused_signature_is_a_failure_that_shows_neither_secret_nor_path(
    mocked_aws: None, signed: tuple[Listener, Receiver, FakeClock], monkeypatch: pytest.MonkeyPatch,
) -> None:
    listener, receiver, time = signed
    monkeypatch.setenv("WEBHOOK_SECRET", "another-key")

    with pytest.raises(ChannelError) as raised:
        webhook.send(report_of(items(1), now=NOW), settings(listener.url + "/in/SECRETPATH"), context(time))

    assert str(raised.value) == "the webhook at 127.0.0.1 answered HTTP 401: bad signature (attempt 1 of 5)"
    assert len(listener.received) == 1 and not receiver.accepted  # a refusal is not retried


def test_the_url_and_the_signing_secret_come_from_ssm_or_secrets_manager(
    http_listener: Listener, mocked_aws: None,
) -> None:
    time = FakeClock(now=NOW.timestamp())
    receiver = Receiver(time)
    http_listener.receiver = receiver
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/collector/webhook-url", Value=http_listener.url, Type="SecureString")
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="collector/webhook", SecretString=json.dumps({"signing_secret": SECRET}))
    configured = webhook.WebhookSettings.from_doc({"url_ssm": "/collector/webhook-url",
                                                   "signing_secret_secret": "collector/webhook"})

    webhook.send(report_of(items(1), now=NOW), configured, context(time))

    assert len(receiver.accepted) == 1
    assert "SECRET" not in repr(configured) and "url_ssm" in repr(configured)


def test_a_missing_secret_is_named_by_where_it_was_looked_for(mocked_aws: None, http_listener: Listener) -> None:
    with pytest.raises(ChannelError, match="^notify.webhook.signing_secret_env: the environment variable "
                                           "WEBHOOK_SECRET is not set$"):
        webhook.send(report_of(items(1), now=NOW), settings(http_listener.url), context(FakeClock()))
    assert http_listener.received == []


@pytest.mark.parametrize(("section", "message"), [
    ({"url": "https://example.com/hook", "signing_secret": "whsec-SECRETPART"},
     "notify.webhook.signing_secret: expected signing_secret_env, signing_secret_ssm or signing_secret_secret: "
     "the config file never holds the secret itself, got a value not shown here"),
    ({"url": "https://example.com/hook"},
     "notify.webhook: expected exactly one of signing_secret_env, signing_secret_ssm, signing_secret_secret, "
     "got a value not shown here"),
    ({"url": "example.com/hook", "signing_secret_env": "S"},
     "notify.webhook.url: expected an http(s) URL, got a value not shown here"),
    ({"url": "https://example.com/hook", "signing_secret_env": "S", "max_findings_per_post": 0},
     "notify.webhook.max_findings_per_post: expected a whole number, 1 to 10000, got the number 0"),
])
def test_a_bad_webhook_section_is_named_and_a_literal_secret_refused(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"accounts": [{"id": PROD.id}], "notify": {"webhook": section}}, "conf.yaml", load_plugins())
    assert f"conf.yaml: {message}" in str(raised.value)
    assert "SECRETPART" not in str(raised.value)
