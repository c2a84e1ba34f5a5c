"""Secrets never reach a log: the redaction processor's keys, and a real run at debug level.

The fault tests (tests/faults) run every scenario under the same leak check (their conftest).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from collector_core import logs
from collector_core.aws.clients import Credentials
from collector_core.collector import Account
from collector_core.runtime.events import WorkerEvent

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY42"
TOKEN = "IQoJb3JpZ2luX2VjFAKE//SESSION//TOKEN77"
EXTERNAL_ID = "external-id-never-logged-91"


@pytest.mark.parametrize("key", [
    "aws_secret_access_key", "SecretAccessKey", "secret", "aws_session_token", "SessionToken",
    "X-Amz-Security-Token", "token", "external_id", "ExternalId", "externalId", "webhook_url",
    "slack_webhook", "Authorization", "credentials", "password", "api_key", "wavefront_token",
])
def test_redact_hides_every_secret_key(key: str) -> None:
    assert logs.redact(None, "info", {key: SECRET, "account": "111111111111"}) == {
        key: "[redacted]", "account": "111111111111"}


def test_redact_reaches_into_nested_values() -> None:
    event = {"event": {"external_id": EXTERNAL_ID, "accounts": [{"SessionToken": TOKEN, "id": "1"}]}}
    assert logs.redact(None, "info", event) == {
        "event": {"external_id": "[redacted]", "accounts": [{"SessionToken": "[redacted]", "id": "1"}]}}


def test_a_logged_event_and_credentials_show_no_secret() -> None:
    saved = structlog.get_config()
    out = io.StringIO()
    logs.configure(json_output=True, level="debug", stream=out)
    try:
        event = WorkerEvent(run_id="r", run_seq=1, account=Account("111111111111", "a"), regions=["us-east-1"],
                            collectors={}, table="t", role_name="r", external_id=EXTERNAL_ID)
        creds = Credentials("ASIAFAKEKEYID", SECRET, TOKEN)
        logs.get_logger().debug("worker_event", payload=event.to_dict(), creds=repr(creds), credentials=creds)
    finally:
        structlog.configure(**saved)
    line = json.loads(out.getvalue())
    assert line["event"] == "worker_event" and line["creds"].startswith("Credentials(")
    assert not [s for s in (SECRET, TOKEN, EXTERNAL_ID) if s in out.getvalue()], out.getvalue()


def test_a_debug_run_prints_no_secret(moto_reset: str, tmp_path: Path) -> None:
    """`aws-collector -vv run` end to end: its whole output is free of the secrets it holds."""
    config = tmp_path / "config.yaml"
    config.write_text(f"table: secrets-test\nregions: [us-east-1]\nexternal_id: {EXTERNAL_ID}\n"
                      "accounts:\n  - {id: '111111111111', name: prod}\n")
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_reset, "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYID",
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN, "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-m", "collector_core.cli", "-vv", "run", "--config", str(config),
                           "--timeout", "60"], env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "account_done" in output  # debug logging was on: there was something to leak
    assert not [s for s in (SECRET, TOKEN, EXTERNAL_ID) if s in output], output


SLACK_SECRET = "noSchemeSecretPart42"
NO_SCHEME = f"hooks.slack.com/services/T0000/B0000/{SLACK_SECRET}"
FROM_ENV = "{webhook_url_env: SLACK_URL}"


@pytest.mark.parametrize(("slack", "env_url", "flags", "exit_code", "says"), [
    (FROM_ENV, NO_SCHEME, [], 1,
     "notify.slack.webhook_url_env: the environment variable SLACK_URL does not hold a valid https://"),
    ("{webhook_url_ssm: /collector/slack}", "", [], 1,
     "notify.slack.webhook_url_ssm: the SSM parameter /collector/slack does not hold a valid https://"),
    ("{webhook_url_secret: collector/slack}", "", [], 1,
     "notify.slack.webhook_url_secret: the secret collector/slack does not hold a valid https://"),
    ("{webhook_url_secret: collector/slack-json}", "", [], 1,
     "the secret collector/slack-json does not hold a valid https://"),
    (f"{{webhook_url: '{NO_SCHEME}'}}", "", [], 2,
     "notify.slack.webhook_url: expected an https:// webhook URL, got a value not shown here"),
    (FROM_ENV, "", ["--slack-webhook", NO_SCHEME], 2, "--slack-webhook: expected an https:// webhook URL"),
    (FROM_ENV, f"https://hooks.slack.com:https/services/T0000/B0000/{SLACK_SECRET}", [], 1,
     "the environment variable SLACK_URL does not hold a valid https://"),
    (FROM_ENV, f"http://127.0.0.1:9/services/T0000/B0000/{SLACK_SECRET} x", [], 1,
     "the Slack webhook URL for 127.0.0.1 is malformed"),
], ids=["env", "ssm", "secret", "json secret", "config", "flag", "a bad port", "a space"])
def test_a_malformed_slack_webhook_is_never_echoed(slack: str, env_url: str, flags: list[str], exit_code: int,
                                                   says: str, server_env: str, tmp_path: Path) -> None:
    """`aws-collector -vv notify` with a webhook URL that urllib cannot use, from each place a URL can
    come from: the failure is reported by where the URL came from, and neither output nor logs hold it."""
    import boto3

    from collector_core.aws.clients import Clients
    from collector_core.store import Store

    boto3.client("ssm").put_parameter(Name="/collector/slack", Value=NO_SCHEME, Type="SecureString")
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="collector/slack", SecretString=NO_SCHEME)
    secrets.create_secret(Name="collector/slack-json", SecretString=json.dumps({"webhook_url": NO_SCHEME}))
    Store.open("secrets-notify", Clients()).ensure_table()
    config = tmp_path / "config.yaml"
    config.write_text(f"table: secrets-notify\naccounts: [{{id: '111111111111'}}]\nnotify: {{slack: {slack}}}\n")
    env = {**os.environ, "AWS_ENDPOINT_URL": server_env, "SLACK_URL": env_url or NO_SCHEME}

    done = subprocess.run([sys.executable, "-m", "collector_core.cli", "-vv", "notify", "--config", str(config),
                           *flags], env=env, capture_output=True, text=True, timeout=120)

    output = done.stdout + done.stderr
    assert done.returncode == exit_code, output
    assert says in done.stderr
    assert SLACK_SECRET not in output and "T0000/B0000" not in output
