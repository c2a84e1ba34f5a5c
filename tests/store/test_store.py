"""The store: values go in and come back as they were, newer sightings win, and tables written by\n0.1 are migrated."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from collector_core.cli import main
from collector_core.collector import Account, Finding
from collector_core.findings import BadFinding, current_findings, normalise
from collector_core.results import AccountResult, RunProgress, Scan
from collector_core.store import Store, TableError

NOW = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
ACCOUNT = Account("111111111111", "prod")


@pytest.fixture
def store(mocked_aws: None) -> Store:
    store = Store("store-test", boto3.client("dynamodb", region_name="us-east-1"))
    store.ensure_table()
    return store


def test_details_keep_their_types_through_the_table(store: Store) -> None:
    details = {"size_gib": 100, "cost": 8.25, "tiny": 1e-9, "big": 12345678901234567890, "flag": True,
               "none": None, "tags": {"Name": "x", "Empty": ""}, "rules": [{"port": 22}, {"port": 3389}],
               "text": "ünïcode ✓"}
    finding = normalise(Finding("vol-1", "a volume", "low", details))
    item = Store.finding_item(finding, plugin="unattached_ebs", account=ACCOUNT, region="us-east-1",
                              run_id="r1", attempt=1, now=NOW, ttl_days=7, first_seen=None)
    assert store.put_finding(item).stored
    (stored,) = store.account_state(ACCOUNT.id).findings
    assert stored.finding["details"] == details
    assert type(stored.finding["details"]["size_gib"]) is int and type(stored.finding["details"]["cost"]) is float
    assert stored.finding["ttl"] == int(NOW.timestamp()) + 7 * 86400
    assert (stored.seen_seq, stored.first_seq) == (1, 1)


def test_a_write_from_an_older_attempt_never_overwrites_a_newer_sighting(store: Store) -> None:
    def item(attempt: int, summary: str) -> dict:
        return Store.finding_item(Finding("vol-1", summary, "low"), plugin="unattached_ebs", account=ACCOUNT,
                                  region="us-east-1", run_id=f"r{attempt}", attempt=attempt, now=NOW, ttl_days=7,
                                  first_seen=None)

    assert store.put_finding(item(5, "seen by attempt 5")).stored
    assert not store.put_finding(item(4, "a late write of attempt 4")).stored
    assert not store.put_finding_keeping_first_seen(item(3, "and of attempt 3")).stored
    assert store.put_finding(item(5, "attempt 5 again (a retried write)")).stored
    (stored,) = store.account_state(ACCOUNT.id).findings
    assert (stored.seen_seq, stored.finding["summary"]) == (5, "attempt 5 again (a retried write)")


def test_a_table_written_by_0_1_is_migrated_with_its_first_seen(store: Store, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # Version 0.1 keyed findings by account-region and stored details as JSON strings.
    client = boto3.client("dynamodb", region_name="us-east-1")
    details = {"size_gib": 8, "tags": {"Name": "old"}}
    client.put_item(TableName=store.table, Item={
        "pk": {"S": f"{ACCOUNT.id}#us-east-1"}, "sk": {"S": "unattached_ebs#vol-old"}, "kind": {"S": "finding"},
        "plugin": {"S": "unattached_ebs"}, "account_id": {"S": ACCOUNT.id}, "account_name": {"S": "prod"},
        "region": {"S": "us-east-1"}, "resource_id": {"S": "vol-old"}, "severity": {"S": "low"},
        "summary": {"S": "old"}, "details": {"S": json.dumps(details)}, "run_id": {"S": "20290101T000000Z"},
        "first_seen": {"S": "2029-01-01T00:00:00Z"}, "first_run": {"S": "20290101T000000Z"},
        "last_seen": {"S": "2029-01-01T00:00:00Z"}, "ttl": {"N": str(int(NOW.timestamp()) + 86400)}})
    config = tmp_path / "c.yaml"
    config.write_text(f"table: {store.table}\naccounts: [{{id: '{ACCOUNT.id}'}}]\n")

    assert main(["migrate", "--config", str(config)]) == 0
    assert "1 findings copied" in capsys.readouterr().out
    assert main(["migrate", "--config", str(config)]) == 0  # again: nothing twice
    assert "0 findings copied into the new layout (first_seen kept), 1 already there; 0 findings given their " \
        "sightings; the table holds layout 0.4" in capsys.readouterr().out
    assert store.accounts() == [(ACCOUNT.id, "prod")]
    (stored,) = store.account_state(ACCOUNT.id).findings
    assert stored.finding["details"] == details and stored.finding["first_seen"] == "2029-01-01T00:00:00Z"
    # It is current until a scan of its place starts after it: seen before any attempt.
    assert [f["resource_id"] for f in current_findings(store.account_state(ACCOUNT.id), NOW)] == ["vol-old"]


def test_a_table_keyed_otherwise_is_refused_before_anything_is_written(mocked_aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="pk-only", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    with pytest.raises(TableError, match=r"has the keys pk \(HASH, S\); expected pk \(HASH, S\) and sk"):
        Store("pk-only", client).ensure_table()
    assert client.scan(TableName="pk-only")["Count"] == 0


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


def test_a_resource_id_too_long_for_the_key_is_refused_by_name() -> None:
    with pytest.raises(BadFinding, match="resource_id is 100000 bytes; at most 512"):
        normalise(Finding("x" * 100_000, "a volume"))


def test_run_refuses_a_table_of_another_layout_with_exit_2_and_writes_nothing(
        mocked_aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName="keyed-on-pk", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    config = tmp_path / "c.yaml"
    config.write_text(f"table: keyed-on-pk\nregions: [us-east-1]\naccounts: [{{id: '{ACCOUNT.id}'}}]\n")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "table 'keyed-on-pk' has the keys pk (HASH, S); expected pk (HASH, S) and sk (RANGE, S)" in err
    assert client.scan(TableName="keyed-on-pk")["Count"] == 0


def test_an_accounts_findings_are_read_a_page_at_a_time_in_the_order_reports_list_them(store: Store) -> None:
    from collector_core.findings import order
    from collector_core.store.table import FINDINGS_PAGE

    # Resource ids a stranger's data could hold: below '#', above ASCII, slashes, spaces.
    odd = ["!bang", " space", "a/b", "zz", "ünï", "\u4e2d", "A", "#hash", "~tilde"]
    count = 0
    for region in ("us-east-1", "eu-west-1"):
        for plugin in ("open_security_groups", "iam_key_age", "a_b"):
            for i in range(FINDINGS_PAGE // 2):
                resource = f"{odd[i % len(odd)]}-{i}"
                store.put_finding(Store.finding_item(
                    Finding(resource, "x", "low"), plugin=plugin, account=ACCOUNT, region=region, run_id="r1",
                    attempt=1, now=NOW, ttl_days=7, first_seen=None))
                count += 1
    pages: list[int] = []
    store._client.meta.events.register("after-call.dynamodb.Query",
                                       lambda parsed, **_: pages.append(len(parsed.get("Items", []))))

    state = store.account_state(ACCOUNT.id)
    assert len(pages) == 2  # the attempts, and the first page of findings: nothing more until read
    read = [stored.finding for stored in state.findings]
    assert len(read) == count and max(pages) <= FINDINGS_PAGE and len(pages) >= 1 + -(-count // FINDINGS_PAGE)
    assert read == sorted(read, key=order)  # key order is the listing order: nothing needs sorting
    assert state.name() == ACCOUNT.name


def test_an_attempt_is_recorded_then_counted_and_a_retry_is_recorded_not_counted(store: Store) -> None:
    run = store.start_run("r1", [ACCOUNT.id], now=NOW, ttl_days=7, deadline=NOW)
    calls: list[tuple[str, list[str]]] = []

    def written(model: Any, params: dict, **_: Any) -> None:
        items = [params["Item"]] if "Item" in params else \
            [w["PutRequest"]["Item"] for ws in params.get("RequestItems", {}).values() for w in ws]
        calls.append((model.name, sorted(i["sk"]["S"][:2] for i in items)))

    store._client.meta.events.register("provide-client-params.dynamodb", written)

    def result(attempt: int) -> AccountResult:
        return AccountResult("r1", ACCOUNT, run.run_seq, attempt=attempt, attempt_end=attempt + 1,
                             scans=[Scan("us-east-1", "unattached_ebs", 0, 1, 0.1, True)])

    assert store.record_attempt(result(1), collectors=["unattached_ebs"], now=NOW, ttl_days=7) == RunProgress(1, 1)
    # The attempt and the account's index entry (one batch) and the done marker at once; the run's counter after.
    assert sorted(calls[:2]) == [("BatchWriteItem", ["11", "R#"]), ("PutItem", ["D#"])]
    assert calls[2:] == [("UpdateItem", [])]
    # A retry of the same account in the same run: its record counts for resolution, not twice for the run.
    assert store.record_attempt(result(3), collectors=["unattached_ebs"], now=NOW, ttl_days=7) is None
    state = store.account_state(ACCOUNT.id)
    assert [(a.start, a.end) for a in state.attempts] == [(1, 2), (3, 4)]
    assert store.accounts() == [(ACCOUNT.id, ACCOUNT.name)]
    assert store.run(run.run_seq).done == 1
