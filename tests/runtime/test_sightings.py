"""Sightings through the table: a finding named by a later attempt reads as last seen by it, sightings
too many for one item come back whole, and a table of another layout is refused until migrated."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from collector_core.cli import main
from collector_core.collector import Account, Finding
from collector_core.findings import current_findings
from collector_core.results import AccountResult, Scan
from collector_core.store import Store, TableError
from collector_core.store.layout import INLINE_SIGHTINGS_BYTES, LAYOUT
from collector_core.store.sightings import SIGHTING_BYTES, Seen, blob, sighting, split

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
ACCOUNT = Account("111111111111", "prod")
REGION, PLUGIN = "us-east-1", "things"


@pytest.fixture
def store() -> Iterator[Store]:
    with mock_aws():
        store = Store("sightings", boto3.client("dynamodb", region_name="us-east-1"))
        store.ensure_table()
        yield store


def record(store: Store, attempt: int, findings: list[Finding], *, at: dt.datetime, run_id: str) -> None:
    run = store.start_run(run_id, [ACCOUNT.id], now=at, ttl_days=7, deadline=at)
    result = AccountResult(run_id, ACCOUNT, run.run_seq, attempt=attempt, attempt_end=attempt + 1,
                           scans=[Scan(REGION, PLUGIN, len(findings), 1, 0.1, True)])
    store.record_attempt(result, collectors=[PLUGIN], now=at, ttl_days=7, seen_at=at,
                         seen={(REGION, PLUGIN): blob(sighting(f) for f in findings)})


def test_a_finding_named_by_a_later_attempt_reads_as_last_seen_then(store: Store) -> None:
    finding = Finding("sg-1", "open", "high")
    store.put_finding(Store.finding_item(finding, plugin=PLUGIN, account=ACCOUNT, region=REGION, run_id="r1",
                                         attempt=1, now=NOW, ttl_days=7, first_seen=None))
    record(store, 1, [finding], at=NOW, run_id="r1")
    later = NOW + dt.timedelta(days=3)
    record(store, 3, [finding], at=later, run_id="r3")  # seen unchanged: named, not rewritten

    (stored,) = store.account_state(ACCOUNT.id).findings
    assert stored.seen_seq == 3 and stored.first_seq == 1
    assert stored.finding["last_seen"] == later.strftime("%Y-%m-%dT%H:%M:%SZ") and stored.finding["run_id"] == "r3"
    assert stored.finding["first_seen"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert stored.finding["ttl"] == int(later.timestamp()) + 7 * 86400  # ttl_days after it was last seen
    assert [f["resource_id"] for f in current_findings(store.account_state(ACCOUNT.id), later)] == ["sg-1"]

    record(store, 5, [], at=later + dt.timedelta(days=1), run_id="r5")  # a clean scan that did not see it
    assert list(current_findings(store.account_state(ACCOUNT.id), later + dt.timedelta(days=1))) == []


def test_sightings_too_many_for_one_item_are_written_in_parts_and_read_back_whole(store: Store) -> None:
    many = [Finding(f"vol-{i:06d}", "unattached") for i in range(INLINE_SIGHTINGS_BYTES // SIGHTING_BYTES * 9)]
    last = many[-1]
    store.put_finding(Store.finding_item(last, plugin=PLUGIN, account=ACCOUNT, region=REGION, run_id="r1",
                                         attempt=1, now=NOW, ttl_days=7, first_seen=None))
    record(store, 1, many[:1], at=NOW, run_id="r1")
    record(store, 3, many, at=NOW + dt.timedelta(hours=1), run_id="r3")  # about 430 KB of sightings

    state = store.account_state(ACCOUNT.id)
    assert [a.start for a in state.attempts] == [1, 3]  # the parts are no attempts of their own
    (stored,) = state.findings
    assert stored.seen_seq == 3


def test_split_parts_put_back_in_order_are_the_blob() -> None:
    blobs = {("eu-west-1", "a"): blob(sighting(Finding(f"r{i}", "s")) for i in range(100)),
             ("us-east-1", "b"): blob(sighting(Finding(f"q{i}", "s")) for i in range(7))}
    seen = Seen()
    parts = list(split(blobs, 25 * SIGHTING_BYTES + 5))
    assert len(parts) == 5 and all(sum(map(len, p.values())) <= 25 * SIGHTING_BYTES for p in parts)
    for part in parts:
        for place, data in part.items():
            seen.add(place, data)
    assert seen.count() == 107 and all(seen.saw(("eu-west-1", "a"), f"r{i}") for i in range(100))
    assert not seen.saw(("us-east-1", "b"), "r1")


def test_content_changes_change_the_sighting_and_nothing_else_does() -> None:
    base = Finding("vol-1", "s", "low", {"size": 8.0, "tags": {"a": 1}})
    assert sighting(base) == sighting(Finding("vol-1", "s", "low", {"tags": {"a": 1}, "size": 8}))
    assert sighting(base)[:8] == sighting(Finding("vol-1", "other", "low"))[:8]  # the same finding
    for other in (Finding("vol-1", "s", "high", base.details), Finding("vol-1", "t", "low", base.details),
                  Finding("vol-1", "s", "low", {"size": 9}), Finding("vol-2", "s", "low", base.details)):
        assert sighting(other) != sighting(base)


def test_a_table_of_the_previous_layout_is_refused_until_migrated(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = Store("old", client)
        store.ensure_table()
        client.delete_item(TableName="old", Key={"pk": {"S": "TABLE"}, "sk": {"S": "LAYOUT"}})
        client.put_item(TableName="old", Item={"pk": {"S": "RUNS"}, "sk": {"S": "SEQ"}, "seq": {"N": "4"}})
        old = Store.finding_item(Finding("sg-1", "open", "high"), plugin=PLUGIN, account=ACCOUNT, region=REGION,
                                 run_id="r4", attempt=9, now=NOW, ttl_days=7, first_seen=None)
        for added in ("sighting", "ttl_days"):  # as 0.3 wrote it
            old.pop(added)
        old["ttl"] = int(NOW.timestamp()) + 7 * 86400
        store.put_finding(old)
        config = tmp_path / "c.yaml"
        config.write_text(f"table: old\nregions: [{REGION}]\naccounts: [{{id: '{ACCOUNT.id}'}}]\n")

        with pytest.raises(TableError, match=r"holds aws-collector 0.3's layout; .* `aws-collector migrate"):
            store.check_table()
        assert main(["run", "--config", str(config)]) == 2
        assert "run `aws-collector migrate --config FILE` once" in capsys.readouterr().err

        assert main(["migrate", "--config", str(config)]) == 0
        assert "1 findings given their sightings; the table holds layout 0.4 (it held 0.3)" in capsys.readouterr().out
        store.check_table()
        assert store.layout() == LAYOUT
        (known,) = store.first_seen(ACCOUNT.id).values()
        assert known.sighting == sighting(Finding("sg-1", "open", "high"))  # the next run rewrites nothing
        assert known.ttl > int(NOW.timestamp()) + 30 * 86400  # open: no longer expiring a week after its run
