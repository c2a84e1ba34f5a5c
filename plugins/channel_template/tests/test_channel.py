"""The example channel against moto's SNS, its config section, and the installed plugin as
aws-collector finds it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_collector_sns_example
import boto3
import pytest

from collector_core import Channel
from collector_core.config.errors import ConfigError
from collector_core.config.load import parse_config
from collector_core.testing import make_report

TEMPLATE = Path(__file__).resolve().parents[1]
FINDINGS: list[dict[str, Any]] = [
    {"plugin": "unattached_ebs", "account_id": "111111111111", "account_name": "prod", "region": "eu-west-1",
     "resource_id": "vol-1", "severity": "low", "summary": "vol-1 is unattached", "new": True},
    {"plugin": "open_security_groups", "account_id": "111111111111", "account_name": "prod",
     "region": "eu-west-1", "resource_id": "sg-1", "severity": "high", "summary": "sg-1 is open to the world"},
]


@pytest.fixture
def channel(register_plugin: Any) -> Channel:
    registered: Channel = register_plugin(aws_collector_sns_example).channels["sns_example"].channel
    return registered


def subscribed_queue(topic_arn: str) -> str:
    """An SQS queue subscribed to the topic (raw delivery), to read what was published."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="reports")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name="us-east-1").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return queue


def test_a_report_is_published_to_the_topic(mocked_aws: None, channel: Channel, channel_context: Any) -> None:
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="reports")["TopicArn"]
    queue = subscribed_queue(topic)
    report = make_report(open=FINDINGS, resolved=FINDINGS[:1])

    channel.send(report, channel.settings({"topic_arn": topic}), channel_context(channel, link="https://page"))

    (received,) = boto3.client("sqs", region_name="us-east-1").receive_message(QueueUrl=queue)["Messages"]
    published = json.loads(received["Body"])
    assert published["Subject"] == report.headline()
    lines = published["Message"].splitlines()
    assert lines[:2] == [report.headline(), "The full report: https://page"]
    assert "- unattached_ebs: 1 open (1 new), 1 resolved" in lines


def test_the_section_is_validated_with_the_config(register_plugin: Any) -> None:
    registry = register_plugin(aws_collector_sns_example)
    doc = {"accounts": [{"id": "111111111111"}], "notify": {"sns_example": {"topic_arn": "reports"}}}

    with pytest.raises(ConfigError) as raised:
        parse_config(doc, "config.yaml", registry)

    assert "config.yaml: notify.sns_example.topic_arn: expected an SNS topic ARN" in str(raised.value)
    doc["notify"] = {"sns_example": {"topic_arn": "arn:aws:sns:eu-west-1:111111111111:reports"}}
    (configured,) = parse_config(doc, "config.yaml", registry).notify.channels
    assert configured.settings == aws_collector_sns_example.Settings("arn:aws:sns:eu-west-1:111111111111:reports")


def test_the_channel_declares_the_permission_it_uses(channel: Channel) -> None:
    assert list(channel.permissions) == ["sns:Publish"]


@pytest.mark.slow
def test_installed_plugin_is_discovered(tmp_path: Path) -> None:
    # Build from a copy so the build leaves nothing (egg-info, build/) in the source tree.
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build")
    shutil.copytree(TEMPLATE, source, ignore=skip)
    site = tmp_path / "site"
    # Offline: no build isolation (the running environment's setuptools builds it), no index.
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-cache-dir",
           "--no-build-isolation", "--target", str(site), str(source)]
    built = subprocess.run(pip, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}
    env["PYTHONPATH"] = str(site)
    code = "import json, collector_core.plugins as p; print(json.dumps(p.load_plugins().describe()))"
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    listing = json.loads(run.stdout)

    plugin = next(p for p in listing["plugins"] if p["name"] == "sns_example")
    assert (plugin["distribution"], plugin["version"]) == ("aws-collector-sns-example", "0.1.0")
    assert [c["name"] for c in plugin["channels"]] == ["sns_example"]
    channels = {c["name"] for p in listing["plugins"] for c in p["channels"]}
    assert {"stdout", "slack", "email", "webhook", "teams", "s3"} <= channels
    assert listing["failed"] == []
