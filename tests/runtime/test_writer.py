"""The writer and the ledger, without a table: what is written, what is only named as seen, what is
retried, and what may resolve. A fake store records every request; sleeps are injected."""
from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from collector_core.collector import Account, Finding
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.ledger import Ledger
from collector_core.runtime.writer import WRITE_BACKOFF, Preparation, Writer
from collector_core.store import Store, Written
from collector_core.store.layout import Known, open_ttl, ttl
from collector_core.store.sightings import Seen, sighting

NOW = dt.datetime(2030, 1, 10, tzinfo=dt.timezone.utc)
ACCOUNT = Account("111111111111", "prod")
PLACE = ("us-east-1", "things")
EVENT = WorkerEvent("run-1", 1, ACCOUNT, ["us-east-1"], {"things": {}}, "t", "role", ttl_days=7)


class FakeStore:
    """Answers the writer's requests and records them; ``throttle`` fails the next puts so many times."""

    def __init__(self, stored: dict[tuple[str, str, str], Known] | None = None, throttle: int = 0) -> None:
        self.stored, self.throttle = stored or {}, throttle
        self.requests: list[tuple[str, str]] = []

    def next_attempt(self, account_id: str) -> int:
        return 5

    def register_account(self, account: Account, **_: Any) -> None:
        pass

    def first_seen(self, account_id: str) -> dict[tuple[str, str, str], Known]:
        return self.stored

    def put_finding(self, item: dict[str, Any]) -> Written:
        if self.throttle:
            self.throttle -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
        self.requests.append(("put", item["resource_id"]))
        return Written(True)

    def refresh_ttl(self, account_id: str, place: tuple[str, str, str], **_: Any) -> Written:
        self.requests.append(("refresh", place[2]))
        return Written(True)

    def mark_resolved(self, account_id: str, place: tuple[str, str, str], **_: Any) -> Written:
        self.requests.append(("resolve", place[2]))
        return Written(True)


def known(finding: Finding, *, expires: int | None = None, seen_seq: int = 3) -> Known:
    return Known("2030-01-01T00:00:00Z", 1, sighting(finding), expires or open_ttl(NOW, 7), seen_seq)


def write(store: FakeStore, findings: list[Finding], *, resolved_by: set[tuple[str, str]] | None = None,
          sleeps: list[float] | None = None) -> tuple[Ledger, dict[tuple[str, str], bytes]]:
    ledger = Ledger(EVENT)
    prep = Preparation(EVENT, store, ledger)  # type: ignore[arg-type]
    prep.start()
    writer = Writer(EVENT, store, ledger, prep, NOW,  # type: ignore[arg-type]
                    sleep=(sleeps if sleeps is not None else []).append)
    writer.start()
    for finding in findings:
        writer.put(*PLACE, finding)
    return ledger, writer.close(resolved_by=resolved_by)


def test_a_finding_yielded_twice_is_written_and_named_once() -> None:
    store = FakeStore()
    ledger, seen = write(store, [Finding("sg-1", "open"), Finding("sg-1", "open again"), Finding("sg-2", "open")])
    assert sorted(store.requests) == [("put", "sg-1"), ("put", "sg-2")]
    assert Seen(seen).count() == 2 and ledger.result.written == 2


def test_findings_seen_unchanged_are_named_not_written_and_changed_ones_are_written() -> None:
    same, changed = Finding("sg-1", "open", "high"), Finding("sg-2", "open", "high")
    store = FakeStore({(*PLACE, "sg-1"): known(same), (*PLACE, "sg-2"): known(Finding("sg-2", "open", "low"))})
    ledger, seen = write(store, [same, changed, Finding("sg-3", "new")])
    assert sorted(store.requests) == [("put", "sg-2"), ("put", "sg-3")]
    assert (ledger.result.written, ledger.result.unchanged) == (2, 1)
    assert all(Seen(seen).saw(PLACE, r) for r in ("sg-1", "sg-2", "sg-3")) and not Seen(seen).saw(PLACE, "sg-4")


def test_a_finding_seen_near_its_ttl_is_refreshed_and_one_a_clean_scan_missed_is_marked_to_expire() -> None:
    aging, gone, newer = Finding("sg-1", "open"), Finding("sg-2", "open"), Finding("sg-3", "open")
    store = FakeStore({(*PLACE, "sg-1"): known(aging, expires=ttl(NOW, 7 + 10)),
                       (*PLACE, "sg-2"): known(gone),
                       (*PLACE, "sg-3"): known(newer, seen_seq=6)})  # written by a newer attempt: not ours
    write(store, [aging], resolved_by={PLACE})
    assert sorted(store.requests) == [("refresh", "sg-1"), ("resolve", "sg-2")]


def test_a_failed_scan_marks_nothing_to_expire() -> None:
    store = FakeStore({(*PLACE, "sg-2"): known(Finding("sg-2", "open"))})
    write(store, [], resolved_by=set())
    assert store.requests == []


def test_a_throttled_write_is_retried_after_a_pause_not_lost() -> None:
    store, sleeps = FakeStore(throttle=2), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    assert store.requests == [("put", "sg-1")] and ledger.result.written == 1
    assert not ledger.result.errors
    assert len(sleeps) == 2 and all(0.5 * p <= s <= p for s, p in zip(sleeps, WRITE_BACKOFF, strict=False))


def test_a_write_throttled_past_every_retry_fails_its_place_by_name() -> None:
    store, sleeps = FakeStore(throttle=len(WRITE_BACKOFF) + 1), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    (failure,) = ledger.result.errors
    assert (failure.region, failure.plugin, failure.error) == (*PLACE, "WriteFailed")
    assert len(sleeps) == len(WRITE_BACKOFF)


def test_a_scan_whose_findings_were_not_all_stored_resolves_nothing_even_if_it_ends_well() -> None:
    ledger = Ledger(EVENT)
    scan, other = ledger.begin_scan(*PLACE), ledger.begin_scan("eu-west-1", "things")
    ledger.unresolvable({PLACE})  # the writer lost one of its findings before the scan ended
    ledger.finish(scan, ok=True)
    ledger.finish(other, ok=True)
    assert (scan.ok, other.ok) == (False, True)
    assert ledger.ok_places() == {("eu-west-1", "things")}


def test_a_sealed_ledger_changes_no_more() -> None:
    ledger = Ledger(EVENT)
    scan = ledger.begin_scan(*PLACE)
    result = ledger.seal()
    ledger.finish(scan, ok=True)
    ledger.fail(*PLACE, "Late", "after the record")
    ledger.scanning(["eu-west-1"])
    assert result.errors == [] and result.regions == [] and not any(s.ok for s in result.scans)


def test_the_store_writes_through_the_same_item_layout() -> None:
    item = Store.finding_item(Finding("sg-1", "open"), plugin="things", account=ACCOUNT, region="us-east-1",
                              run_id="r", attempt=1, now=NOW, ttl_days=7, first_seen=None)
    assert item["sighting"] == sighting(Finding("sg-1", "open"))
    assert ttl(NOW, 7 + 30) < item["ttl"] <= ttl(NOW, 7 + 90)  # open: far beyond ttl_days, spread by key
