"""Slack: Block Kit messages as a real incoming webhook on 127.0.0.1 receives them."""
from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
import structlog
from loopback import Listener
from notify_helpers import (
    NOW,
    PROD,
    SANDBOX,
    account_run,
    channels,
    finding,
    report_of,
    run_record,
    table_with,
)

from collector_core import logs
from collector_core.aws.clients import Clients
from collector_core.channel import ChannelContext, ChannelError
from collector_core.notify.channels import notify
from collector_core.notify.report import AccountProblem, Report
from collector_core.notify.slack import (
    HEADER_CHARS,
    MAX_BLOCKS,
    MESSAGE_CHARS,
    SECTION_CHARS,
    SlackError,
    SlackSettings,
    block_chars,
    build_messages,
    post,
    send,
    webhook_url,
)
from collector_core.testing import FakeClock

EBS, SG, IAM = "unattached_ebs", "open_security_groups", "iam_key_age"


def context(time: FakeClock | None = None, link: str | None = None) -> ChannelContext:
    """What the notifier hands the Slack channel; a fake clock, so no test waits."""
    time = time or FakeClock()
    return ChannelContext(where="notify.slack", link=link, sleep=time.sleep, clock=time.clock, clients=Clients())


def small_items() -> list[Any]:
    return [
        run_record("r1", [PROD]),
        account_run(PROD, "r1", [("us-east-1", EBS), ("us-east-1", SG)]),
        finding(PROD, "us-east-1", EBS, "vol-1", run="r1", summary="vol-1 <unattached> & idle"),
        finding(PROD, "us-east-1", SG, "sg-1", run="r1", severity="high"),
    ]


def big_items(per_plugin: int) -> list[Any]:
    items = [run_record("r1", [PROD, SANDBOX]), account_run(PROD, "r1", []), account_run(SANDBOX, "r1", [])]
    for plugin in (EBS, SG, IAM):
        for i in range(per_plugin):
            account = PROD if i % 2 else SANDBOX
            items.append(finding(account, f"region-{i % 7}", plugin, f"{plugin}-{i:04d}", run="r1",
                                 summary=f"{plugin} resource {i:04d} " + "x" * 120))
    return items


def runs(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run of rich text in a message, in order."""
    return [run for b in message["blocks"] if b["type"] == "rich_text" for part in b["elements"]
            for run in part["elements"]]


def all_text(message: dict[str, Any]) -> str:
    """What a reader sees of a message, styles aside."""
    return message["blocks"][0]["text"]["text"] + "\n" + "".join(
        run.get("text", f":{run.get('name')}:") for run in runs(message))


def test_a_report_is_one_block_kit_message_with_a_header_and_a_section_per_plugin(
    mocked_aws: None, http_listener: Listener,
) -> None:
    report = report_of(small_items(), now=NOW)
    send(report, SlackSettings(webhook_url=http_listener.url), context())

    (request,) = http_listener.received
    assert request.path == "/services/T000/B000/SECRETPART"
    assert request.headers["Content-Type"].startswith("application/json")
    message = request.json()
    header = message["blocks"][0]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": report.headline()}}
    assert message["text"] == report.headline()
    bold = [r["text"] for r in runs(message) if r.get("style") == {"bold": True}]
    assert "open_security_groups: 1 open (1 new)" in bold
    assert "unattached_ebs: 1 open (1 new)" in bold
    assert " vol-1 <unattached> & idle" in [r.get("text") for r in runs(message)]  # shown as it is


def test_a_429_is_retried_after_its_retry_after(mocked_aws: None, http_listener: Listener) -> None:
    http_listener.responses.append((429, {"Retry-After": "9"}, "rate_limited"))
    time = FakeClock()
    send(report_of(small_items(), now=NOW), SlackSettings(webhook_url=http_listener.url), context(time))

    assert time.sleeps == [9.0]  # what Slack asked for, not a backoff of our own
    first, second = http_listener.received
    assert first.body == second.body


def test_a_report_too_big_for_one_message_is_split_within_slacks_limits(
    mocked_aws: None, http_listener: Listener
) -> None:
    report = report_of(big_items(per_plugin=150), now=NOW)
    messages = build_messages(report, max_lines=1000)  # list everything: forces several messages
    post(http_listener.url, messages, min_interval=0, sleep=FakeClock().sleep)

    received = [r.json() for r in http_listener.received]
    assert received == messages and len(received) > 2
    for number, message in enumerate(received, 1):
        assert len(message["blocks"]) <= MAX_BLOCKS
        header = message["blocks"][0]
        assert header["type"] == "header" and len(header["text"]["text"]) <= HEADER_CHARS
        assert header["text"]["text"].endswith(f"[{number}/{len(received)}]")
        assert all(block_chars(b) <= SECTION_CHARS for b in message["blocks"][1:])
        assert sum(block_chars(b) for b in message["blocks"][1:]) <= MESSAGE_CHARS
    text = "\n".join(all_text(m) for m in received)
    for plugin in (EBS, SG, IAM):
        for i in range(150):
            assert text.count(f"{plugin} resource {i:04d} ") == 1  # nothing lost, nothing twice


def test_by_default_a_big_report_is_summarised_per_plugin(mocked_aws: None, http_listener: Listener) -> None:
    report = report_of(big_items(per_plugin=150), now=NOW)
    send(report, SlackSettings(webhook_url=http_listener.url, max_findings_per_plugin=20), context())

    text = "\n".join(all_text(r.json()) for r in http_listener.received)
    for plugin in (EBS, SG, IAM):
        assert f"…and 130 more (130 new); aws-collector findings --plugin {plugin} lists them all" in text
    assert text.count("resource ") == 60


def test_messages_are_paced_about_one_a_second(http_listener: Listener) -> None:
    time = FakeClock()
    post(http_listener.url, [{"text": "one"}, {"text": "two"}, {"text": "three"}], sleep=time.sleep, clock=time.clock)
    assert len(http_listener.received) == 3
    assert time.sleeps == [1.0, 1.0]


def test_a_line_longer_than_a_section_is_cut_to_slacks_limit_and_marked() -> None:
    detail = "AccessDenied " * 400  # one account's problem line, far past 3000 characters
    report = Report(generated=NOW, run_id="r1", accounts=1,
                    problems=[AccountProblem(PROD.id, PROD.name, "failed", detail)])

    (message,) = build_messages(report)

    blocks = [b for b in message["blocks"] if b["type"] == "rich_text"]
    assert all(block_chars(b) <= SECTION_CHARS for b in blocks)
    (cut,) = [b for b in blocks if "AccessDenied" in str(b)]
    last = cut["elements"][0]["elements"][-1]["text"]
    assert last.endswith("…") and f" {PROD.name}: failed, {detail}".startswith(last[:-1])  # cut, and marked
    assert block_chars(cut) == SECTION_CHARS  # cut at the limit, not short of it


def test_a_webhook_error_is_reported_without_the_url_and_other_channels_still_deliver(
    http_listener: Listener, mocked_aws: None
) -> None:
    http_listener.responses.append((404, {}, "no_service"))
    log = io.StringIO()
    logs.configure(json_output=True, stream=log)
    out = io.StringIO()
    try:
        result = notify(channels(stdout=True, slack={"webhook_url": http_listener.url}), mutes=(),
                        registry=_registry(), store=table_with(small_items()), clients=Clients(), now=NOW, out=out)
    finally:
        structlog.reset_defaults()

    assert result.sent == ["stdout"]
    ((channel, error),) = result.failures
    assert channel == "slack"
    assert "answered HTTP 404: no_service" in error
    assert "SECRETPART" not in error and "SECRETPART" not in log.getvalue()
    assert "notify_channel_failed" in log.getvalue()
    assert out.getvalue().startswith("aws-collector: 2 open findings")


def test_a_webhook_answer_that_echoes_the_url_is_reported_without_it(http_listener: Listener) -> None:
    http_listener.responses.append((400, {}, f"invalid_token for {http_listener.url} (/services/T000/B000/SECRETPART)"))
    with pytest.raises(SlackError) as raised:
        post(http_listener.url, [{"text": "x"}])
    assert "answered HTTP 400: invalid_token for …" in str(raised.value)
    assert "SECRETPART" not in str(raised.value)


def test_an_unreachable_webhook_is_an_error_after_retries() -> None:
    expected = r"cannot reach the Slack webhook at 127.0.0.1: .* \(after 2 attempts\)"
    with pytest.raises(SlackError, match=expected):
        post("http://127.0.0.1:9/services/T/B/SECRET", [{"text": "x"}], max_attempts=2, sleep=FakeClock().sleep)


def test_the_webhook_url_comes_from_env_ssm_or_secrets_manager(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", "https://hooks.slack.com/services/env")
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/collector/slack", Value="https://hooks.slack.com/services/ssm",
                      Type="SecureString")
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="plain", SecretString="https://hooks.slack.com/services/plain")
    secrets.create_secret(Name="json", SecretString='{"webhook_url": "https://hooks.slack.com/services/json"}')

    ctx = context()
    assert webhook_url(SlackSettings(webhook_url_env="SLACK_URL"), ctx).endswith("/env")
    assert webhook_url(SlackSettings(webhook_url_ssm="/collector/slack"), ctx).endswith("/ssm")
    assert webhook_url(SlackSettings(webhook_url_secret="plain"), ctx).endswith("/plain")
    assert webhook_url(SlackSettings(webhook_url_secret="json"), ctx).endswith("/json")
    with pytest.raises(ChannelError, match="notify.slack.webhook_url_env: the environment variable MISSING_URL "
                                           "is not set"):
        webhook_url(SlackSettings(webhook_url_env="MISSING_URL"), ctx)
    secrets.create_secret(Name="not-a-url", SecretString="hunter2-SECRETPART")
    with pytest.raises(ChannelError) as raised:
        webhook_url(SlackSettings(webhook_url_secret="not-a-url"), ctx)
    assert str(raised.value) == ("notify.slack.webhook_url_secret: the secret not-a-url does not hold a valid "
                                 "https:// webhook URL (its value is a secret and is not shown)")


def _registry() -> Any:
    from collector_core.plugins import load_plugins

    return load_plugins()
