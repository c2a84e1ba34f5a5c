"""End to end, offline: serverless-offline serves the real handlers from serverless.yml, moto serves AWS.

The director is invoked through serverless-offline's Lambda endpoint and,
relays its accounts in batches of 2 to itself, whose instances invoke one worker per account
asynchronously through that same endpoint; every seeded account's findings land in the table.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from collector_core.demo.simulate import seed_organization
from collector_core.findings import current_findings
from collector_core.store import Store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STAGE = "e2e"
TABLE = "aws-collector-e2e"
REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNTS = 3
RELAY = ("2", "2")  # above, batch: 3 accounts make two relays


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def offline(osls: Path, tool_env: Any, moto_reset: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """serverless-offline on 127.0.0.1 with the functions pointed at moto; yields (lambda URL, log file)."""
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"organization": {"enabled": True}, "regions": REGIONS, "table": TABLE}))
    lambda_port = free_port()
    lambda_url = f"http://127.0.0.1:{lambda_port}"
    env = tool_env(
        # Fake credentials: serverless-offline and boto3 both want some.
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=moto_reset, AWS_ENDPOINT_URL_LAMBDA=lambda_url,
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    log = tmp_path / "offline.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(osls), "offline", "start", "--stage", STAGE, "--host", "127.0.0.1",
             "--lambdaPort", str(lambda_port), "--httpPort", str(free_port()),
             "--param=scheduleEnabled=false", f"--param=config={config}", "--param=runtime=python3.11",
             f"--param=relayAbove={RELAY[0]}", f"--param=relayBatch={RELAY[1]}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "listening on" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serverless-offline did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield lambda_url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: osls and the Python runners it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_director_fans_out_through_lambda_and_every_account_lands(offline: tuple[str, Path],
                                                                    moto_reset: str) -> None:
    lambda_url, log = offline
    sim = seed_organization(moto_reset, accounts=ACCOUNTS, regions=REGIONS)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_reset, region_name="us-east-1")
    Store(TABLE, dynamodb).ensure_table()  # in AWS, the stack creates it with the same keys

    # A handler exception never comes back through serverless-offline: the read timeout bounds it.
    client = boto3.client("lambda", endpoint_url=lambda_url, region_name="us-east-1",
                          config=BotoConfig(read_timeout=120, retries={"max_attempts": 1}))
    response = client.invoke(FunctionName=f"aws-collector-{STAGE}-director", InvocationType="RequestResponse",
                             Payload=b"{}")
    assert "FunctionError" not in response, log.read_text()[-3000:]
    dispatched = json.loads(response["Payload"].read())
    # Organizations lists the management account too; unlisted in the config, it is left out.
    scanned = sorted(a.id for a in sim.accounts)
    assert sorted(dispatched["accounts"]) == scanned
    assert dispatched["invoke_failures"] == [] and dispatched["relays"] == 2

    store = Store(TABLE, dynamodb)
    deadline = time.monotonic() + 120
    while True:
        done = [a for account_id in scanned for a in store.account_state(account_id).attempts]
        if len(done) == len(scanned) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(done) == len(scanned), f"workers reported {len(done)} of {len(scanned)}:\n{log.read_text()[-4000:]}"
    statuses = {r.account_id: (r.status, r.result["errors"]) for r in done}
    assert all(status == "ok" for status, _ in statuses.values()), statuses
    seen = {(f["plugin"], f["account_id"], f["region"], f["resource_id"])
            for state in store.account_states(scanned)
            for f in current_findings(state, dt.datetime.now(dt.timezone.utc))}
    assert seen == sim.expected
    assert {f[1] for f in seen} == {a.id for a in sim.accounts}
    # The last worker invoked the notifier through the same endpoint; it claims the run's report.
    deadline = time.monotonic() + 60
    while not store.runs(limit=1)[0].notified and time.monotonic() < deadline:
        time.sleep(1)
    assert store.runs(limit=1)[0].notified, log.read_text()[-4000:]
