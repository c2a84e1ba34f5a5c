"""Every run reports, correctly, over moto's server: overlapping runs, a clock ten minutes fast, a
worker retried an hour later, an account flooding its record, a worker lost without a trace, and a
first_seen that could not be read. Each ends in exactly one report per run, and no finding that the
latest scan saw reads as resolved."""
from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from freezegun import freeze_time

from collector_core.aws.clients import Clients
from collector_core.collector import Account, Collector, Finding, Scope
from collector_core.config.load import parse_config
from collector_core.findings import current_findings
from collector_core.notify.channels import NotifySettings, notify_run_complete
from collector_core.plugins import PluginSpec, Registry, load_plugins
from collector_core.runtime import director
from collector_core.runtime.completion import close_overdue
from collector_core.runtime.director import RunResult
from collector_core.runtime.invokers import LocalInvoker
from collector_core.store import Store

pytestmark = pytest.mark.slow
PROD, SANDBOX = Account("111111111111", "prod"), Account("222222222222", "sandbox")
REGION = "us-east-1"


@dataclass
class Cloud:
    """What exists in each account, as the test's collector sees it; ``hold`` stalls one run's scans."""

    resources: dict[str, set[str]] = field(default_factory=lambda: {PROD.id: set(), SANDBOX.id: set()})
    hold: dict[str, threading.Event] = field(default_factory=dict)  # run id -> released when set
    listed: dict[str, threading.Event] = field(default_factory=dict)  # run id -> set once it has listed
    extra: Callable[[Any], list[Any]] | None = None

    def collect(self, ctx: Any) -> Iterator[Any]:
        snapshot = sorted(self.resources[ctx.account.id])  # what AWS answered, at this moment
        run = ctx.log._context.get("run")
        if run in self.listed:
            self.listed[run].set()
        if run in self.hold:
            assert self.hold[run].wait(30)
        yield from (Finding(resource_id=r, summary=f"{r} is open", severity="high") for r in snapshot)
        if self.extra:
            yield from self.extra(ctx)


@dataclass
class Harness:
    """The table, a config for the two accounts, and runs as `aws-collector run` makes them."""

    store: Store
    clients: Clients
    cloud: Cloud
    registry: Registry
    reports: list[str] = field(default_factory=list)

    def config(self) -> Any:
        return parse_config({"table": self.store.table, "regions": [REGION],
                             "accounts": [{"id": a.id, "name": a.name} for a in (PROD, SANDBOX)]},
                            "lifecycle.yaml", self.registry)

    def run(self, run_id: str, *, accounts: tuple[Account, ...] = (PROD, SANDBOX)) -> RunResult:
        """A run, reported to stdout once its last account is recorded."""
        config = self.config()
        invoker = LocalInvoker(registry=self.registry, clients=self.clients, store=self.store,
                               on_run_complete=lambda _, seq: self.report(seq))
        planned = LocalInvoker.invoke

        def only(events: list[Any]) -> Any:  # accounts left out: their worker is lost
            return planned(invoker, [e for e in events if e.account in accounts])

        invoker.invoke = only  # type: ignore[method-assign]
        return director.run(config, self.registry, invoker, clients=self.clients, store=self.store, run_id=run_id)

    def report(self, run_seq: int, now: dt.datetime | None = None) -> None:
        out = io.StringIO()
        printed = NotifySettings.from_doc({"stdout": True}, load_plugins())
        notify_run_complete(run_seq, printed, mutes=(), registry=self.registry,
                            store=self.store, clients=self.clients, out=out, now=now)
        if out.getvalue():
            self.reports.append(out.getvalue())

    def current(self, now: dt.datetime | None = None) -> set[tuple[str, str]]:
        now = now or dt.datetime.now(dt.timezone.utc)
        return {(f["account_id"], f["resource_id"]) for account in (PROD, SANDBOX)
                for f in current_findings(self.store.account_state(account.id), now)}


@pytest.fixture
def harness(server_env: str) -> Harness:
    cloud = Cloud()
    registry = Registry()
    registry.add(Collector(name="things", scope=Scope.REGIONAL, summary="things open to the world",
                           collect=cloud.collect), PluginSpec("things", "test", "0", "things"))
    clients = Clients()
    store = Store.open("lifecycle", clients)
    store.ensure_table()
    return Harness(store, clients, cloud, registry)


def test_overlapping_runs_never_resolve_what_both_saw(harness: Harness) -> None:
    harness.cloud.resources[PROD.id] = {"sg-1"}
    harness.cloud.hold["run-a"], harness.cloud.listed["run-a"] = threading.Event(), threading.Event()
    slow = threading.Thread(target=harness.run, args=("run-a",))
    slow.start()  # run A lists sg-1, then stalls before its findings reach the table
    assert harness.cloud.listed["run-a"].wait(30)
    harness.run("run-b")  # run B starts 'later', sees sg-1 and finishes first
    harness.cloud.hold["run-a"].set()
    slow.join(30)

    assert (PROD.id, "sg-1") in harness.current()  # A's late write did not undo B's sighting
    assert len(harness.reports) == 2  # one per run
    assert all("0 resolved" in r and "1 open finding" in r for r in harness.reports), harness.reports


def test_a_clock_ten_minutes_fast_hides_nothing(harness: Harness) -> None:
    harness.cloud.resources[PROD.id] = {"sg-old"}
    with freeze_time(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10), tick=True):
        harness.run("run-fast")  # a laptop whose clock is ahead
    harness.cloud.resources[PROD.id] = {"sg-old", "sg-new"}
    harness.run("run-right")

    assert harness.current() == {(PROD.id, "sg-old"), (PROD.id, "sg-new")}
    latest = harness.reports[-1]
    assert latest.startswith("aws-collector: 2 open findings (1 new, 0 resolved)"), latest


def test_a_worker_retried_an_hour_later_changes_nothing_it_should_not(harness: Harness) -> None:
    harness.cloud.resources[PROD.id] = {"sg-1", "sg-2"}
    first = harness.run("run-1", accounts=(SANDBOX,))  # prod's worker fails: Lambda will retry it
    harness.run("run-2")
    harness.cloud.resources[PROD.id] = {"sg-1", "sg-2", "sg-3"}
    (event,) = [e for e in first.events if e.account == PROD]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    with freeze_time(later, tick=True):  # the retry lands an hour later
        LocalInvoker(registry=harness.registry, clients=harness.clients, store=harness.store,
                     on_run_complete=lambda _, seq: harness.report(seq, later)).invoke([event])

    assert harness.current(later) == {(PROD.id, "sg-1"), (PROD.id, "sg-2"), (PROD.id, "sg-3")}
    stored = list(harness.store.account_state(PROD.id).findings)
    assert len(stored) == 3 and len({s.finding["resource_id"] for s in stored}) == 3
    first_seen = {s.finding["resource_id"]: s.finding["first_seen"] for s in stored}
    assert first_seen["sg-1"] == first_seen["sg-2"] < first_seen["sg-3"]
    assert len(harness.reports) == 2  # run 2 at once; run 1 when its retry completed it
    assert "0 resolved" in harness.reports[-1]


def test_an_account_flooding_its_record_still_lets_every_run_report(harness: Harness) -> None:
    def flood(ctx: Any) -> list[Any]:
        if ctx.account.id != SANDBOX.id:
            return []
        bad = [{"resource_id": f"r{i}", "summary": "s", "severity": "urgent"} for i in range(5000)]
        huge = [{"resource_id": "x" * 100_000 + str(i), "summary": "s"} for i in range(5)]
        return bad + huge

    harness.cloud.extra = flood
    harness.cloud.resources[PROD.id] = {"sg-1"}
    result = harness.run("run-flood")

    (report,) = harness.reports
    assert report.startswith("aws-collector: 1 open finding")
    assert "222222222222 sandbox: failed, 5005 errors: us-east-1 things: BadFinding" in report
    (attempt,) = harness.store.account_state(SANDBOX.id).attempts
    assert attempt.result["error_counts"] == {"things": {"BadFinding": 5005}}
    assert len(attempt.result["errors"]) == 20  # the first few in full, the rest counted
    assert result.results and sum(r.error_total for r in result.results) == 5005


def test_a_worker_lost_without_a_trace_is_closed_by_the_sweep_and_reported_once(harness: Harness) -> None:
    harness.cloud.resources = {PROD.id: {"sg-1"}, SANDBOX.id: {"sg-2"}}
    harness.run("run-1")
    harness.cloud.resources[SANDBOX.id] = set()  # sandbox's sg-2 is gone, but its next worker dies
    result = harness.run("run-2", accounts=(PROD,))
    assert len(harness.reports) == 1  # run 2 is still waiting for sandbox

    too_early = close_overdue(harness.store, now=dt.datetime.now(dt.timezone.utc), ttl_days=7)
    assert too_early == []
    past_deadline = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=director.DEFAULT_DEADLINE_SECONDS + 1)
    for run in close_overdue(harness.store, now=past_deadline, ttl_days=7):
        harness.report(run.run_seq)
    for run in close_overdue(harness.store, now=past_deadline, ttl_days=7):  # the next sweep: nothing new
        harness.report(run.run_seq)

    assert len(harness.reports) == 2
    assert "222222222222 sandbox: never reported, 1 error: - -: NeverReported" in harness.reports[-1]
    assert (SANDBOX.id, "sg-2") in harness.current()  # a silent account resolves nothing
    (run,) = harness.store.runs(1)
    assert run.run_seq == result.run_seq and run.done == 2 and run.notified


def test_a_first_seen_that_cannot_be_read_is_kept_not_reset(harness: Harness, monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    harness.cloud.resources[PROD.id] = {"sg-1"}
    with freeze_time(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2), tick=True):
        harness.run("run-1")
    (before,) = harness.store.account_state(PROD.id).findings

    def throttled(self: Store, account_id: str) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "Query")

    monkeypatch.setattr(Store, "first_seen", throttled)
    harness.run("run-2")

    (after,) = harness.store.account_state(PROD.id).findings
    assert after.finding["first_seen"] == before.finding["first_seen"] < after.finding["last_seen"]
    assert after.first_seq == before.first_seq
    assert "NEW" not in harness.reports[-1] and "(open 2 days)" in harness.reports[-1]
    assert "ProvisionedThroughputExceededException" in harness.reports[-1]  # and the report says why
