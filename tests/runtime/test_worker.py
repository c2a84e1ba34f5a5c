"""The worker in-process on moto: what lands, what is recorded when parts fail, deadlines."""
from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from collector_core import Account, Collector, Finding, Scope
from collector_core.aws.clients import Clients
from collector_core.findings import current_findings
from collector_core.notify.summary import render_summary
from collector_core.plugins import PluginSpec, Registry
from collector_core.runtime.director import RunResult
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.worker import run_account
from collector_core.runtime.writer import WRITE_THREADS
from collector_core.store import Store

ACCOUNT = Account("111111111111", "prod")
SPEC = PluginSpec("test", "test-dist", "1.0", "tests")


@pytest.fixture
def store(mocked_aws: None) -> Store:
    s = Store("findings", boto3.client("dynamodb"))
    s.ensure_table()
    return s


def registry(*collectors: Collector) -> Registry:
    r = Registry()
    for c in collectors:
        r.add(c, SPEC)
    return r


def event(reg: Registry, store: Store, regions: Any = ("us-east-1", "eu-west-1"), run_id: str = "run-1",
          **fields: Any) -> WorkerEvent:
    """A run of one account recorded by the director, and its worker's event."""
    now = dt.datetime.now(dt.timezone.utc)
    run = store.start_run(run_id, [ACCOUNT.id], now=now, ttl_days=7, deadline=now + dt.timedelta(hours=1))
    return WorkerEvent(run_id=run_id, run_seq=run.run_seq, account=ACCOUNT,
                       regions=list(regions) if regions != "all" else "all",
                       collectors={n: dict(reg[n].options) for n in reg.names()}, table="findings",
                       role_name="reader", **fields)


def regional(name: str, collect: Any, **kw: Any) -> Collector:
    return Collector(name=name, scope=Scope.REGIONAL, summary=name, collect=collect, **kw)


def one_per_region(ctx: Any) -> Iterator[Finding]:
    yield Finding(resource_id=f"r-{ctx.region}", summary=f"thing in {ctx.region}", details={"cost": 1.5})


def stored(store: Store) -> list[dict[str, Any]]:
    return list(current_findings(store.account_state(ACCOUNT.id), dt.datetime.now(dt.timezone.utc)))


def test_every_region_and_collector_lands_tagged_with_plugin_and_account(store: Store) -> None:
    def global_one(ctx: Any) -> Iterator[dict[str, Any]]:
        yield {"resource_id": "g-1", "summary": "global thing", "severity": "high"}

    reg = registry(regional("regional_one", one_per_region),
                   Collector(name="global_one", scope=Scope.GLOBAL, summary="g", collect=global_one))
    result = run_account(event(reg, store), registry=reg, clients=Clients(), store=store)

    assert result.status == "ok" and result.complete and result.written == 3
    rows = {(f["plugin"], f["region"], f["resource_id"]) for f in stored(store)}
    assert rows == {("regional_one", "us-east-1", "r-us-east-1"), ("regional_one", "eu-west-1", "r-eu-west-1"),
                    ("global_one", "global", "g-1")}
    row = next(f for f in stored(store) if f["resource_id"] == "g-1")
    assert (row["account_id"], row["account_name"], row["severity"]) == ("111111111111", "prod", "high")
    assert next(f for f in stored(store) if f["resource_id"] == "r-us-east-1")["details"] == {"cost": 1.5}


def test_a_failing_collector_and_bad_findings_are_recorded_and_the_rest_lands(store: Store) -> None:
    def broken(ctx: Any) -> Iterator[Finding]:
        yield Finding(resource_id="before-crash", summary="kept")
        raise RuntimeError("plugin bug")

    def malformed(ctx: Any) -> Iterator[Any]:
        yield {"summary": "no resource id"}
        yield {"resource_id": "x", "summary": "object", "details": {"obj": object()}}
        yield {"resource_id": "big", "summary": "huge", "details": {"blob": "x" * 500_000}}
        yield 3.14
        yield {"resource_id": "good", "summary": "fine", "details": {"when": dt.date(2026, 1, 1), "tags": {"a"}}}

    reg = registry(regional("ok_one", one_per_region), regional("broken", broken),
                   regional("malformed", malformed))
    result = run_account(event(reg, store, regions=["us-east-1"]), registry=reg, clients=Clients(), store=store)

    assert result.status == "partial"
    ids = {f["resource_id"] for f in stored(store)}
    assert ids == {"r-us-east-1", "before-crash", "good"}
    errors = {(e.plugin, e.error) for e in result.errors}
    assert ("broken", "RuntimeError") in errors
    assert [e.plugin for e in result.errors].count("malformed") == 4
    assert all(e.account_id == ACCOUNT.id and e.region == "us-east-1" for e in result.errors)
    good = next(f for f in stored(store) if f["resource_id"] == "good")
    assert good["details"] == {"when": "2026-01-01", "tags": ["a"]}


def test_a_hanging_collector_is_cut_off_at_the_deadline(store: Store) -> None:
    release = threading.Event()

    def hangs(ctx: Any) -> Iterator[Finding]:
        yield Finding(resource_id="first", summary="before the hang")
        release.wait(30)

    reg = registry(regional("fine", one_per_region), regional("hangs", hangs))
    started = time.monotonic()
    result = run_account(event(reg, store, regions=["us-east-1"]), registry=reg, clients=Clients(), store=store,
                         deadline=time.monotonic() + 2)
    release.set()
    assert time.monotonic() - started < 10
    assert not result.complete and result.status == "partial"
    assert any(e.error == "DeadlineExceeded" for e in result.errors)
    assert {f["resource_id"] for f in stored(store)} >= {"r-us-east-1"}


def test_failed_scans_resolve_nothing_and_successful_scans_resolve(store: Store) -> None:
    volumes = {"us-east-1": ["a", "b"], "eu-west-1": ["c"]}
    fail_in: set[str] = set()

    def listed(ctx: Any) -> Iterator[Finding]:
        if ctx.region in fail_in:
            raise PermissionError("AccessDenied")
        for v in volumes[ctx.region]:
            yield Finding(resource_id=v, summary=v)

    reg = registry(regional("vols", listed))
    run_account(event(reg, store, run_id="run-1"), registry=reg, clients=Clients(), store=store)
    volumes["us-east-1"], volumes["eu-west-1"] = ["b"], []
    fail_in.add("eu-west-1")
    run_account(event(reg, store, run_id="run-2"), registry=reg, clients=Clients(), store=store)
    # "a" resolved (us-east-1 scanned fine); "c" stays open because eu-west-1 failed this time.
    assert {f["resource_id"] for f in stored(store)} == {"b", "c"}


def test_first_seen_survives_a_rerun_and_keys_do_not_duplicate(store: Store) -> None:
    reg = registry(regional("ok_one", one_per_region))
    later = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    run_account(event(reg, store, run_id="run-1"), registry=reg, clients=Clients(), store=store,
                now=dt.datetime(2029, 1, 1, tzinfo=dt.timezone.utc))
    run_account(event(reg, store, run_id="run-2"), registry=reg, clients=Clients(), store=store,
                now=later)
    rows = [s.finding for s in store.account_state(ACCOUNT.id).findings]
    assert len(rows) == 2
    assert {r["first_seen"] for r in rows} == {"2029-01-01T00:00:00Z"}
    assert {r["last_seen"] for r in rows} == {"2030-01-01T00:00:00Z"}


def test_all_regions_means_enabled_ones_in_this_partition(store: Store) -> None:
    reg = registry(regional("ok_one", one_per_region))
    result = run_account(event(reg, store, regions="all"), registry=reg, clients=Clients(), store=store)
    assert "us-east-1" in result.regions and "eu-west-1" in result.regions
    assert not [r for r in result.regions if r.startswith(("cn-", "us-gov-"))]
    assert result.written == len(result.regions)


def test_account_run_record_keeps_counts_errors_and_calls(store: Store) -> None:
    def calls_ec2(ctx: Any) -> Iterator[Finding]:
        ctx.client("ec2").describe_volumes()
        ctx.client("ec2").describe_security_groups()
        yield Finding(resource_id="v", summary="v")

    reg = registry(regional("ec2_two_calls", calls_ec2))
    result = run_account(event(reg, store, regions=["us-east-1"]), registry=reg, clients=Clients(), store=store)
    assert [(s.plugin, s.api_calls, s.findings, s.ok) for s in result.scans] == [("ec2_two_calls", 2, 1, True)]
    (record,) = store.account_state(ACCOUNT.id).attempts
    assert record.status == "ok" and record.end > record.start
    assert record.ok_places == {("us-east-1", "ec2_two_calls")}


def test_a_collector_that_exits_or_returns_nothing_fails_its_scan_and_resolves_nothing(store: Store) -> None:
    present = {"vol-1"}

    def lists(ctx: Any) -> Iterator[Finding]:
        yield from (Finding(resource_id=v, summary=v) for v in sorted(present))

    def exits(ctx: Any) -> Iterator[Finding]:
        yield Finding(resource_id="seen-before-exit", summary="kept")
        sys.exit(3)

    def forgot_return(ctx: Any) -> None:
        ctx.client("ec2")  # does some work, but returns no iterable

    reg = registry(regional("vols", lists))
    run_account(event(reg, store, regions=["us-east-1"], run_id="run-1"), registry=reg, clients=Clients(),
                store=store)
    reg = registry(regional("vols", forgot_return), regional("exits", exits))
    result = run_account(event(reg, store, regions=["us-east-1"], run_id="run-2"), registry=reg, clients=Clients(),
                         store=store)

    assert result.status == "failed"
    errors = {(e.plugin, e.error): e.message for e in result.errors}
    assert errors[("exits", "SystemExit")] == "3"
    assert "vols.collect() returned None, not an iterable of findings" in errors[("vols", "TypeError")]
    # "found nothing" would have resolved vol-1: a failed scan resolves nothing.
    assert {f["resource_id"] for f in stored(store)} == {"vol-1", "seen-before-exit"}
    summary = render_summary(RunResult("run-2", 2, [], [result]), reg, 1.0)
    assert "111111111111 us-east-1 exits: SystemExit: 3" in summary
    assert "111111111111 us-east-1 vols: TypeError: vols.collect() returned None" in summary


def test_nothing_public_on_the_context_leads_to_the_runtime(store: Store) -> None:
    from collector_core.aws.clients import Clients as ClientsType
    from collector_core.runtime.ledger import Ledger
    from collector_core.runtime.writer import Writer

    secret = "external-id-the-plugin-must-not-see"
    reached: list[str] = []

    def snoops(ctx: Any) -> Iterator[Finding]:
        seen: set[int] = set()

        def walk(value: Any, path: str, depth: int) -> None:
            if id(value) in seen or depth > 6:
                return
            seen.add(id(value))
            if isinstance(value, (Store, ClientsType, Ledger, Writer)) or value == secret:
                reached.append(path)
            names = [n for n in dir(value) if not n.startswith("_") or n == "__self__"]
            for name in names:
                try:
                    attribute = getattr(value, name)
                except Exception:
                    continue
                walk(attribute, f"{path}.{name}", depth + 1)

        walk(ctx, "ctx", 0)
        ctx.client("ec2")  # clients still work: only this account's
        yield Finding(resource_id="r", summary="walked")

    reg = registry(regional("snoops", snoops))
    result = run_account(event(reg, store, regions=["us-east-1"], external_id=secret), registry=reg,
                         clients=Clients(), store=store)
    assert result.status == "ok" and reached == []


def test_each_scan_gets_its_own_options(store: Store) -> None:
    seen: list[list[int]] = []

    def mutates(ctx: Any) -> Iterator[Finding]:
        seen.append(list(ctx.options["allowed_ports"]))
        ctx.options["allowed_ports"].append(len(seen))  # a collector that changes what it was given
        yield Finding(resource_id=f"sg-{ctx.region}", summary="s")

    reg = registry(regional("mutates", mutates, options={"allowed_ports": [443]}))
    for run_id in ("run-1", "run-2"):  # a second, warm invocation of the same process
        run_account(event(reg, store, regions=["us-east-1", "eu-west-1", "ap-south-1"], run_id=run_id),
                    registry=reg, clients=Clients(), store=store)
    assert seen == [[443]] * 6
    assert reg["mutates"].options == {"allowed_ports": [443]}


def test_seventeen_regions_of_forty_collectors_run_under_the_thread_cap(store: Store) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
               "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
               "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ca-central-1", "sa-east-1"]
    running, peak, lock = [0], [0], threading.Lock()
    threads_seen = [threading.active_count()]

    def counted(ctx: Any) -> Iterator[Finding]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            threads_seen.append(threading.active_count())
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        yield Finding(resource_id=f"{ctx.region}", summary="s")

    reg = registry(*(regional(f"c{i:02d}", counted) for i in range(40)))
    before = threading.active_count()
    result = run_account(event(reg, store, regions=regions, scan_threads=16), registry=reg, clients=Clients(),
                         store=store)
    assert result.status == "ok" and len(result.scans) == 17 * 40 and result.written == 17 * 40
    assert peak[0] <= 16
    # The scans, the writers and the preparation: a few threads beyond the cap, never one per scan.
    assert max(threads_seen) - before <= 16 + WRITE_THREADS + 4
