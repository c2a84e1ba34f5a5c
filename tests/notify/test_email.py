"""Email through SES (moto): the subject carries the totals, the HTML a table per plugin, and a
plain-text part goes with it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from notify_helpers import NOW, PROD, account_run, channels, finding, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.notify.channels import notify
from collector_core.plugins import load_plugins

EBS, SG = "unattached_ebs", "open_security_groups"
SETTINGS = {"sender": "collector@example.com", "recipients": ["ops@example.com", "sec@example.com"],
            "region": "eu-west-1"}


def items() -> list[Any]:
    return [
        run_record("r1", [PROD]),
        account_run(PROD, "r1", [("us-east-1", EBS), ("us-east-1", SG)]),
        finding(PROD, "us-east-1", EBS, "vol-1", run="r1", severity="low",
                details={"size_gib": 100, "volume_type": "gp3", "estimated_monthly_cost_usd": 8.0}),
        finding(PROD, "us-east-1", SG, "sg-1", run="r1", severity="high",
                details={"group_name": "<web>", "vpc_id": "vpc-1",
                         "rules": [{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                    "cidr": "0.0.0.0/0"}]}),
    ]


def test_the_report_is_emailed_with_a_table_per_plugin_and_a_text_part(mocked_aws: None) -> None:
    ses = boto3.client("ses", region_name="eu-west-1")
    ses.verify_email_identity(EmailAddress=SETTINGS["sender"])
    clients = Clients()
    sent: list[dict[str, Any]] = []  # the request as it leaves the client, text part included
    clients.client("ses", "eu-west-1").meta.events.register(
        "provide-client-params.ses.SendEmail", lambda params, **_: sent.append(params))

    result = notify(channels(email=SETTINGS), mutes=(), registry=load_plugins(), store=table_with(items()),
                    clients=clients, now=NOW)

    assert result.ok and result.sent == ["email"]
    (message,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert message.source == SETTINGS["sender"]
    assert message.destinations["ToAddresses"] == SETTINGS["recipients"]
    assert message.subject == "aws-collector: 2 open findings (2 new, 0 resolved)"
    html = message.body
    assert html.count("<table") == 2
    assert "<h3>open_security_groups: 1 open (1 new)</h3>" in html
    assert "<th" in html and ">Severity</th>" in html
    assert "vol-1 100 GiB gp3, ~$8.00/month, unattached" in html  # the plugin's own format hook
    assert "&lt;web&gt;" in html and "<web>" not in html
    (params,) = sent
    text = params["Message"]["Body"]["Text"]["Data"]
    assert text.startswith("aws-collector: 2 open findings (2 new, 0 resolved)")
    assert "== unattached_ebs: 1 open (1 new)" in text


def test_an_unverified_sender_is_a_reported_failure(mocked_aws: None) -> None:
    result = notify(channels(email=SETTINGS), mutes=(), registry=load_plugins(), store=table_with(items()),
                    clients=Clients(), now=NOW)
    ((channel, error),) = result.failures
    assert channel == "email" and "MessageRejected" in error
    assert ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages == []


@pytest.mark.parametrize("count", [120])
def test_many_recipients_go_in_batches_sess_limit_allows(mocked_aws: None, count: int) -> None:
    boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=SETTINGS["sender"])
    recipients = [f"user{i}@example.com" for i in range(count)]
    result = notify(channels(email={**SETTINGS, "recipients": recipients}), mutes=(), registry=load_plugins(),
                    store=table_with(items()), clients=Clients(), now=NOW)
    assert result.ok
    messages = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert [len(m.destinations["ToAddresses"]) for m in messages] == [50, 50, 20]
    assert sum((m.destinations["ToAddresses"] for m in messages), []) == recipients


def test_email_on_the_command_line_replaces_the_configured_channels_and_recipients(
    mocked_aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=SETTINGS["sender"])
    table_with(items())
    config = tmp_path / "config.yaml"
    config.write_text(f"table: notify-test\naccounts: [{{id: '{PROD.id}'}}]\n"
                      f"notify: {{stdout: true, email: {json.dumps(SETTINGS)}}}\n")

    assert main(["notify", "--config", str(config), "--email", "oncall@example.com"]) == 0

    (message,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages  # the configured region
    assert message.source == SETTINGS["sender"]
    assert message.destinations["ToAddresses"] == ["oncall@example.com"]
    assert capsys.readouterr().out == ""  # the flag replaces the configured channels, stdout too
