"""The ``notify.html`` channel over moto's server: the page lands in S3 encrypted and private, and the
Slack message (to a real loopback webhook) and the email link it with a presigned URL."""
from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import boto3
import pytest
from loopback import Listener
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from notify_helpers import NOW, PROD, account_run, finding, page_data, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.notify.channels import NotifySettings, notify, notify_run_complete
from collector_core.plugins import load_plugins

pytestmark = pytest.mark.slow
BUCKET, SENDER = "collector-reports", "collector@example.com"
EBS = "unattached_ebs"


def items() -> list[Any]:
    return [run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", EBS)]),
            finding(PROD, "us-east-1", EBS, "vol-1", run="r1")]


def settings(webhook: str, **html: Any) -> NotifySettings:
    return NotifySettings.from_doc({
        "html": {"bucket": BUCKET, "prefix": "reports/", **html},
        "slack": {"webhook_url": webhook},
        "email": {"sender": SENDER, "recipients": ["ops@example.com"]},
    }, load_plugins())


def aws() -> tuple[Any, Any]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=SENDER)
    return s3, table_with(items())


def slack_link(listener: Listener) -> str:
    (request,) = listener.received
    runs = [run for block in request.json()["blocks"] if block["type"] == "rich_text"
            for part in block["elements"] for run in part["elements"]]
    (link,) = [run for run in runs if run["type"] == "link"]
    assert link["text"] == "The full report"
    return str(link["url"])


def test_the_page_goes_to_s3_encrypted_and_private_and_slack_and_email_link_it(
    server_env: str, http_listener: Listener
) -> None:
    s3, store = aws()

    result = notify(settings(http_listener.url, link_expiry_hours=12), mutes=(), registry=load_plugins(),
                    store=store, clients=Clients(), now=NOW)

    assert result.ok and result.sent == ["html", "slack", "email"]
    key = "reports/2025/06/02/report-r1.html"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "text/html; charset=utf-8"
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"] and "URI" not in grants[0]["Grantee"]  # the owner

    url = slack_link(http_listener)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == [str(12 * 3600)]
    with urllib.request.urlopen(url) as response:  # the link opens the page
        opened = response.read().decode()
    assert page_data(opened)["totals"]["open"] == 1
    assert [row[2] for row in page_data(opened)["sections"][0]["rows"]] == ["vol-1"]

    (message,) = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    href = url.replace("&", "&amp;")
    assert f'<a href="{href}">The full report</a>' in message.body


def test_a_runs_page_already_charts_that_run(server_env: str, http_listener: Listener) -> None:
    s3, store = aws()

    notify_run_complete(1, settings(http_listener.url), mutes=(), registry=load_plugins(), store=store,
                        clients=Clients(), now=NOW)

    with urllib.request.urlopen(slack_link(http_listener)) as response:
        opened = response.read().decode()
    assert "The last 1 run, from 2025-06-02 to 2025-06-02." in opened


def test_a_page_that_cannot_be_uploaded_is_a_failure_and_the_others_still_go_without_a_link(
    server_env: str, http_listener: Listener
) -> None:
    _, store = aws()
    missing = NotifySettings.from_doc({"html": {"bucket": "no-such-bucket"},
                                       "slack": {"webhook_url": http_listener.url}}, load_plugins())

    result = notify(missing, mutes=(), registry=load_plugins(), store=store, clients=Clients(), now=NOW)

    assert result.sent == ["slack"]
    ((channel, error),) = result.failures
    assert channel == "html" and "NoSuchBucket" in error
    (request,) = http_listener.received
    assert '"type": "link"' not in request.body.decode()
