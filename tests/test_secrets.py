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
from collector_core.collector import Account
from collector_core.runtime.clients import Credentials
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
