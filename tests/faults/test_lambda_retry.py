"""Scenario 6: a worker killed mid-write, then invoked again with the same event (Lambda's retry).

The worker is a real subprocess running the Lambda handler; the proxy lets 50 finding writes
through and holds the rest, and the test kills the process with SIGKILL while they wait.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import boto3
from fault_harness import EXTERNAL_ID, Faults, Leaks, direct_client
from proxy import Call, Rule

from collector_core.collector import Account
from collector_core.runtime.events import WorkerEvent
from collector_core.store import Store

VOLUMES = 110
WORKER = """
import json, sys
from collector_core import handlers

class Context:
    aws_request_id = "retry-test"
    def get_remaining_time_in_millis(self):
        return 120_000

print(json.dumps(handlers.worker(json.loads(sys.argv[1]), Context())))
"""


def seed_account(endpoint: str) -> tuple[Account, set[str]]:
    """A new member account with VOLUMES unattached volumes in us-east-1."""
    org = direct_client("organizations", endpoint)
    status = org.create_account(Email="retry@example.com", AccountName="retry")["CreateAccountStatus"]
    account = Account(status["AccountId"], "retry")
    creds = direct_client("sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account.id}:role/seed", RoleSessionName="seed")["Credentials"]
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    ids = {ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"] for _ in range(VOLUMES)}
    return account, ids


def start_worker(event: WorkerEvent, proxy_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": proxy_url, "AWS_COLLECTOR_LOG_LEVEL": "debug"}
    return subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(event.to_dict())], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def findings(store: Store, account: Account) -> list[dict[str, Any]]:
    return [dict(s.finding) for s in store.account_state(account.id).findings]


def finding_put(call: Call) -> bool:
    return json.loads(call.body or b"{}").get("Item", {}).get("kind", {}).get("S") == "finding"


def test_a_retried_worker_duplicates_nothing_and_keeps_first_seen(
    faults: Faults, leaks: Leaks, figures: dict[str, Any]
) -> None:
    account, volumes = seed_account(faults.org.endpoint)
    store = Store(faults.table, direct_client("dynamodb", faults.org.endpoint))
    store.ensure_table()
    run = store.start_run("20260101T000000Z-retry1", [account.id], now=dt.datetime.now(dt.timezone.utc),
                          ttl_days=7, deadline=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    event = WorkerEvent(run_id=run.run_id, run_seq=run.run_seq, account=account, regions=["us-east-1"],
                        collectors={"unattached_ebs": {}}, table=faults.table,
                        role_name="aws-collector-readonly", external_id=EXTERNAL_ID)
    faults.proxy.add(Rule("hang", operation="PutItem", when=finding_put, after=50, seconds=60))

    first = start_worker(event, faults.proxy.url)
    deadline = time.monotonic() + 60
    while not faults.proxy.count(operation="PutItem", outcome="hung"):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    out, err = first.communicate(timeout=10)
    leaks.add(out + err)
    assert first.returncode == -signal.SIGKILL
    before = {i["resource_id"]: i["first_seen"] for i in findings(store, account)}
    assert len(before) == 50 and set(before) < volumes
    assert not store.account_state(account.id).attempts, "the killed worker recorded a result"

    faults.proxy.clear()
    first_second = max(before.values())
    while time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) <= first_second:
        time.sleep(0.1)  # the retry's clock must be on a later second for first_seen to be tested
    retry = start_worker(event, faults.proxy.url)
    out, err = retry.communicate(timeout=120)
    leaks.add(out + err)
    assert retry.returncode == 0, err
    result = json.loads(out)
    assert result["status"] == "ok" and result["written"] + result["unchanged"] == VOLUMES
    assert result["unchanged"] == len(before)  # what the killed worker stored is named, not written again

    after = findings(store, account)
    assert len(after) == VOLUMES and {i["resource_id"] for i in after} == volumes
    assert all(i["run_id"] == event.run_id for i in after)
    for item in after:
        if item["resource_id"] in before:
            assert item["first_seen"] == before[item["resource_id"]] < item["last_seen"], item
        else:
            assert item["first_seen"] == item["last_seen"] > first_second, item
    assert store.run(run.run_seq).done == 1  # the retry completed the run  # type: ignore[union-attr]
    figures.update(findings_written_before_kill=len(before),
                   findings_after_retry=len(after), expected=VOLUMES, duplicates=len(after) - len(volumes),
                   first_seen_preserved=sum(1 for i in after if i["resource_id"] in before))
