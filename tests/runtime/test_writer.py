"""The writer and the ledger, without a table: what is written, what is only named as seen, what is
retried, and what may resolve. A fake store records every request; sleeps are injected."""
from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from collector_core.collector import Account, Finding
from collector_core.runtime import writer as writer_module
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


def error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no luck"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutItem")


def throttled(times: int) -> list[ClientError]:
    return [error("ThrottlingException")] * times


class FakeStore:
    """Answers the writer's requests and records them, with each request's item or options;
    ``failures`` are raised by the next requests of their kind ("attempt", "put", "refresh",
    "resolve"), in turn; an ``unreadable`` store cannot say what it holds."""

    def __init__(self, stored: dict[tuple[str, str, str], Known] | None = None, *,
                 failures: dict[str, list[ClientError]] | None = None, unreadable: bool = False) -> None:
        self.stored, self.unreadable = stored or {}, unreadable
        self.failures = {kind: list(errors) for kind, errors in (failures or {}).items()}
        self.requests: list[tuple[str, str]] = []
        self.items: list[dict[str, Any]] = []  # every item put
        self.options: list[tuple[str, str, dict[str, Any]]] = []  # (kind, account, options) but of puts

    def _answer(self, kind: str, resource_id: str) -> Written:
        if self.failures.get(kind):
            raise self.failures[kind].pop(0)
        self.requests.append((kind, resource_id))
        return Written(True)

    def next_attempt(self, account_id: str) -> int:
        if self.failures.get("attempt"):
            raise self.failures["attempt"].pop(0)
        return 5

    def register_account(self, account: Account, **options: Any) -> None:
        self.options.append(("register", account.id, options))

    def first_seen(self, account_id: str) -> dict[tuple[str, str, str], Known]:
        if self.unreadable:
            raise error("InternalServerError", 500)
        return self.stored

    def put_finding(self, item: dict[str, Any]) -> Written:
        self.items.append(item)
        return self._answer("put", item["resource_id"])

    def put_finding_keeping_first_seen(self, item: dict[str, Any]) -> Written:
        self.items.append(item)
        return self._answer("put keeping first_seen", item["resource_id"])

    def refresh_ttl(self, account_id: str, place: tuple[str, str, str], **options: Any) -> Written:
        self.options.append(("refresh", account_id, options))
        return self._answer("refresh", place[2])

    def mark_resolved(self, account_id: str, place: tuple[str, str, str], **options: Any) -> Written:
        self.options.append(("resolve", account_id, options))
        return self._answer("resolve", place[2])


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
    prep.ready.wait()  # as the worker does before closing (its attempt's end)
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


def test_refreshes_and_expiries_are_for_the_account_by_this_attempt_from_now() -> None:
    aging, gone = Finding("sg-1", "open"), Finding("sg-2", "open")
    store = FakeStore({(*PLACE, "sg-1"): known(aging, expires=ttl(NOW, 7 + 10)), (*PLACE, "sg-2"): known(gone)})
    write(store, [aging], resolved_by={PLACE})
    assert [o for o in store.options if o[0] != "register"] == [
        ("refresh", ACCOUNT.id, {"now": NOW, "ttl_days": 7}),
        ("resolve", ACCOUNT.id, {"attempt": 5, "now": NOW, "ttl_days": 7})]


def test_the_account_is_listed_in_the_index_with_its_ttl_as_of_now_in_utc() -> None:
    store = FakeStore()
    before = dt.datetime.now(dt.timezone.utc)
    write(store, [])
    ((kind, account_id, options),) = store.options
    assert (kind, account_id, options["ttl_days"]) == ("register", ACCOUNT.id, 7)
    assert before <= options["now"] <= dt.datetime.now(dt.timezone.utc)  # aware: a naive time cannot compare


@pytest.mark.parametrize("kind", ["refresh", "resolve"])
def test_a_throttled_refresh_or_expiry_is_retried_after_a_pause(kind: str) -> None:
    aging, gone = Finding("sg-1", "open"), Finding("sg-2", "open")
    store = FakeStore({(*PLACE, "sg-1"): known(aging, expires=ttl(NOW, 7 + 10)), (*PLACE, "sg-2"): known(gone)},
                      failures={kind: throttled(1)})
    sleeps: list[float] = []
    write(store, [aging], resolved_by={PLACE}, sleeps=sleeps)
    assert sorted(store.requests) == [("refresh", "sg-1"), ("resolve", "sg-2")]
    assert len(sleeps) == 1 and WRITE_BACKOFF[0] / 2 <= sleeps[0] <= WRITE_BACKOFF[0]


def test_without_an_attempt_number_nothing_is_written_and_the_place_resolves_nothing() -> None:
    store = FakeStore({(*PLACE, "sg-2"): known(Finding("sg-2", "open"))}, failures={"attempt": [error("Throttling")]})
    ledger, _ = write(store, [Finding("sg-1", "open")], resolved_by={PLACE})
    assert store.requests == [] and [f.error for f in ledger.result.errors] == ["Throttling"]
    scan = ledger.begin_scan(*PLACE)
    ledger.finish(scan, ok=True)
    assert not scan.ok


def test_a_written_item_names_the_run_and_attempt_and_a_changed_finding_keeps_its_first_seen() -> None:
    store = FakeStore({(*PLACE, "sg-2"): known(Finding("sg-2", "open", "low"))})
    write(store, [Finding("sg-2", "open", "high"), Finding("sg-3", "new")])
    items = {item["resource_id"]: item for item in store.items}
    assert {(i["run_id"], i["seen_seq"]) for i in items.values()} == {("run-1", 5)}
    assert (items["sg-2"]["first_seen"], items["sg-2"]["first_seq"]) == ("2030-01-01T00:00:00Z", 1)
    assert items["sg-3"]["first_seen"] == "2030-01-10T00:00:00Z"  # new: first seen now


def test_when_the_stored_findings_cannot_be_read_every_finding_is_written_keeping_the_tables_first_seen() -> None:
    store = FakeStore(unreadable=True)
    ledger, _ = write(store, [Finding("sg-1", "open")], resolved_by={PLACE})
    assert store.requests == [("put keeping first_seen", "sg-1")] and ledger.result.written == 1


def test_an_expiry_failing_past_every_retry_is_logged_by_name_and_fails_nothing(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    logged: list[dict[str, Any]] = []  # the writer's own logger, not structlog's global set-up
    monkeypatch.setattr(writer_module, "get_logger", lambda **context: SimpleNamespace(
        warning=lambda event, **fields: logged.append({"event": event, **context, **fields})))
    long_id = "arn:" + "x" * 300  # named in the log by its first 200 characters
    store = FakeStore({(*PLACE, long_id): known(Finding(long_id, "open"))},
                      failures={"resolve": throttled(len(WRITE_BACKOFF) + 1)})
    ledger, _ = write(store, [], resolved_by={PLACE})
    assert store.requests == [] and ledger.result.errors == []  # it only keeps its longer TTL
    assert logged == [{"event": "expiry_not_marked", "account": ACCOUNT.id, "region": PLACE[0], "plugin": PLACE[1],
                       "resource": long_id[:200], "error": "ThrottlingException: no luck"}]


def test_closing_stops_every_writer_thread_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    crashed: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", crashed.append)
    store = FakeStore({(*PLACE, "sg-2"): known(Finding("sg-2", "open"))})
    write(store, [Finding("sg-1", "open")], resolved_by={PLACE})
    assert crashed == []  # none died of what close() sent them


def test_a_failed_scan_marks_nothing_to_expire() -> None:
    store = FakeStore({(*PLACE, "sg-2"): known(Finding("sg-2", "open"))})
    write(store, [], resolved_by=set())
    assert store.requests == []


def test_a_throttled_write_is_retried_after_a_pause_not_lost() -> None:
    store, sleeps = FakeStore(failures={"put": throttled(2)}), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    assert store.requests == [("put", "sg-1")] and ledger.result.written == 1
    assert not ledger.result.errors
    assert len(sleeps) == 2 and all(0.5 * p <= s <= p for s, p in zip(sleeps, WRITE_BACKOFF, strict=False))


def test_a_write_throttled_past_every_retry_fails_its_place_by_name() -> None:
    store, sleeps = FakeStore(failures={"put": throttled(len(WRITE_BACKOFF) + 1)}), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    (failure,) = ledger.result.errors
    assert (failure.region, failure.plugin, failure.error) == (*PLACE, "WriteFailed")
    assert failure.message == "sg-1: ThrottlingException: no luck"
    assert len(sleeps) == len(WRITE_BACKOFF)
    scan = ledger.begin_scan(*PLACE)
    ledger.finish(scan, ok=True)
    assert not scan.ok  # its scan resolves nothing


def test_a_finding_too_big_for_the_table_fails_by_name_and_its_place_resolves_nothing() -> None:
    store = FakeStore()
    ledger, _ = write(store, [Finding("sg-1", "open", details={"blob": "x" * 500_000})], resolved_by={PLACE})
    assert store.requests == [] and [f.error for f in ledger.result.errors] == ["BadFinding"]
    scan = ledger.begin_scan(*PLACE)
    ledger.finish(scan, ok=True)
    assert not scan.ok


def test_a_write_failing_on_dynamodbs_side_is_retried_and_one_refused_is_not() -> None:
    store, sleeps = FakeStore(failures={"put": [error("InternalServerError", 500)]}), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    assert store.requests == [("put", "sg-1")] and len(sleeps) == 1 and not ledger.result.errors

    store, sleeps = FakeStore(failures={"put": [error("ValidationException", 400)]}), []
    ledger, _ = write(store, [Finding("sg-1", "open")], sleeps=sleeps)
    assert store.requests == [] and sleeps == [] and [f.error for f in ledger.result.errors] == ["WriteFailed"]


def test_a_scan_whose_findings_were_not_all_stored_resolves_nothing_even_if_it_ends_well() -> None:
    ledger = Ledger(EVENT)
    scan, other = ledger.begin_scan(*PLACE), ledger.begin_scan("eu-west-1", "things")
    ledger.unresolvable({PLACE})  # the writer lost one of its findings before the scan ended
    ledger.finish(scan, ok=True)
    ledger.finish(other, ok=True)
    assert (scan.ok, other.ok) == (False, True)
    assert ledger.ok_places() == {("eu-west-1", "things")}


def test_a_writer_problem_after_a_scan_ended_well_takes_back_its_success() -> None:
    ledger = Ledger(EVENT)
    scan, other = ledger.begin_scan(*PLACE), ledger.begin_scan("eu-west-1", "things")
    ledger.finish(scan, ok=True)
    ledger.finish(other, ok=True)
    ledger.unresolvable({PLACE})  # the writer lost one of its findings after the scan ended
    assert scan.ok is False and other.ok is True
    assert ledger.ok_places() == {("eu-west-1", "things")}


def test_places_spoiled_one_after_another_all_stay_unresolvable() -> None:
    ledger = Ledger(EVENT)
    scan, other = ledger.begin_scan(*PLACE), ledger.begin_scan("eu-west-1", "things")
    ledger.unresolvable({PLACE})
    ledger.unresolvable({("eu-west-1", "things")})  # adds to the first, does not replace it
    ledger.finish(scan, ok=True)
    ledger.finish(other, ok=True)
    assert ledger.ok_places() == set()


def test_a_scan_abandoned_at_the_deadline_stays_unsuccessful_whatever_it_does_later() -> None:
    ledger = Ledger(EVENT)
    late, on_time = ledger.begin_scan(*PLACE), ledger.begin_scan("eu-west-1", "things")
    ledger.abandon(late)
    assert late.ok is False
    ledger.finish(late, ok=True)  # the abandoned scan's thread ends after all
    ledger.finish(on_time, ok=True)
    assert late.ok is False and on_time.ok is True
    ledger.cut_short()
    assert ledger.seal().complete is False


def test_a_ledger_counts_every_finding_call_and_unchanged_finding_and_times_to_the_millisecond() -> None:
    ledger = Ledger(EVENT)
    scan = ledger.begin_scan(*PLACE)
    for _ in range(3):
        ledger.found(scan)
        ledger.called(scan)
        ledger.unchanged()
    ledger.timed(scan, 1.23456)
    assert (scan.findings, scan.api_calls, ledger.result.unchanged) == (3, 3, 3)
    assert scan.seconds == 1.235


def test_a_ledger_records_for_its_events_run_and_account() -> None:
    result = Ledger(EVENT).seal()
    assert (result.run_id, result.run_seq, result.account) == ("run-1", 1, ACCOUNT)


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
