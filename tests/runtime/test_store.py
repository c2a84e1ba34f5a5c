"""The store: values go in and come back as they were, and tables written by earlier versions read."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from collector_core.collector import Account, Finding
from collector_core.findings import BadFinding, normalise
from collector_core.store import Store

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
ACCOUNT = Account("111111111111", "prod")


@pytest.fixture
def store() -> Iterator[Store]:
    with mock_aws():
        store = Store("store-test", boto3.client("dynamodb", region_name="us-east-1"))
        store.ensure_table()
        yield store


def test_details_keep_their_types_through_the_table(store: Store) -> None:
    details = {"size_gib": 100, "cost": 8.25, "tiny": 1e-9, "big": 12345678901234567890, "flag": True,
               "none": None, "tags": {"Name": "x", "Empty": ""}, "rules": [{"port": 22}, {"port": 3389}],
               "text": "ünïcode ✓"}
    finding = normalise(Finding("vol-1", "a volume", "low", details))
    item = Store.finding_item(finding, plugin="unattached_ebs", account=ACCOUNT, region="us-east-1",
                              run_id="r1", now=NOW, ttl_days=7, first_seen=None)
    assert store.write_batch([item]) == []
    (stored,) = store.read().findings
    assert stored.finding["details"] == details
    assert type(stored.finding["details"]["size_gib"]) is int and type(stored.finding["details"]["cost"]) is float
    assert stored.finding["ttl"] == int(NOW.timestamp()) + 7 * 86400


def test_a_table_written_by_an_earlier_version_reads_the_same(store: Store) -> None:
    # Earlier versions stored details and a run's account list as JSON strings.
    client = boto3.client("dynamodb", region_name="us-east-1")
    details = {"size_gib": 8, "tags": {"Name": "old"}}
    client.put_item(TableName=store.table, Item={
        "pk": {"S": f"{ACCOUNT.id}#us-east-1"}, "sk": {"S": "unattached_ebs#vol-old"}, "kind": {"S": "finding"},
        "plugin": {"S": "unattached_ebs"}, "account_id": {"S": ACCOUNT.id}, "account_name": {"S": "prod"},
        "region": {"S": "us-east-1"}, "resource_id": {"S": "vol-old"}, "severity": {"S": "low"},
        "summary": {"S": "old"}, "details": {"S": json.dumps(details)}, "run_id": {"S": "r0"},
        "first_seen": {"S": "2029-01-01T00:00:00Z"}, "first_run": {"S": "r0"},
        "last_seen": {"S": "2029-01-01T00:00:00Z"}, "ttl": {"N": str(int(NOW.timestamp()))}})
    client.put_item(TableName=store.table, Item={
        "pk": {"S": "RUN"}, "sk": {"S": "r0"}, "kind": {"S": "run"}, "run_id": {"S": "r0"},
        "started": {"S": "2029-01-01T00:00:00Z"}, "expected": {"N": "1"},
        "accounts": {"S": json.dumps([ACCOUNT.id])}})
    contents = store.read()
    assert contents.findings[0].finding["details"] == details
    assert contents.runs[0].accounts == [ACCOUNT.id]


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("details, says", [
    ({"n": 10**40}, "a number DynamoDB cannot store"),
    ({"n": 1e200}, "a number DynamoDB cannot store"),
    ({"tags": {"": "x"}}, "an empty key"),
    ({"a": _nested(31)}, "nest deeper than 30 levels"),
    ({"n": float("nan")}, "details are not JSON"),
])
def test_details_the_table_cannot_hold_are_refused_by_name(details: dict, says: str) -> None:
    with pytest.raises(BadFinding, match=says):
        normalise(Finding("vol-1", "a volume", "low", details))
