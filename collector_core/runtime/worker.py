"""The worker: one account, one thread per (region, collector), every finding to one writer.

Whatever fails (a region, a collector, a finding, a write) is recorded with its names and
everything else still lands. At the deadline the worker stops collecting, flushes what it has and
marks the account incomplete.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.collector import CollectorContext, Scope
from collector_core.findings import BadFinding, normalise
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.runtime.clients import Clients, Credentials, home_region
from collector_core.runtime.ledger import Ledger
from collector_core.runtime.messages import AccountResult, WorkerEvent
from collector_core.runtime.writer import FirstSeen, Writer
from collector_core.store import Store

GLOBAL = "global"
ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")


def run_account(
    event: WorkerEvent,
    *,
    registry: Registry,
    clients: Clients,
    store: Store,
    deadline: float | None = None,
    now: dt.datetime | None = None,
    on_run_complete: Callable[[str], None] | None = None,
) -> AccountResult:
    """Collect one account and store what it found; ``deadline`` is a time.monotonic() value."""
    return _Worker(event, registry, clients, store, deadline, now).run(on_run_complete)


def record_not_started(
    event: WorkerEvent,
    error: tuple[str, str],
    *,
    store: Store,
    on_run_complete: Callable[[str], None] | None = None,
) -> AccountResult:
    """Record an account whose worker never started as failed, so its run can still complete."""
    ledger = Ledger(event)
    ledger.fail("-", "-", *error)
    record_result(ledger.result, event, store, dt.datetime.now(dt.timezone.utc), on_run_complete)
    return ledger.result


def record_result(result: AccountResult, event: WorkerEvent, store: Store, now: dt.datetime,
                  on_run_complete: Callable[[str], None] | None) -> None:
    """Store the account's run record, count it done in its run, and say when the run is complete."""
    try:
        done, expected = store.record_account(result.to_dict(), now=now, ttl_days=event.ttl_days)
    except (ClientError, BotoCoreError) as exc:
        get_logger(account=event.account.id, run=event.run_id).error(
            "run_record_failed", error=type(exc).__name__)
        return
    if on_run_complete and expected and done >= expected:
        on_run_complete(event.run_id)


class _Worker:
    def __init__(self, event: WorkerEvent, registry: Registry, clients: Clients, store: Store,
                 deadline: float | None, now: dt.datetime | None) -> None:
        self.event = event
        self.registry = registry
        self.clients = clients
        self.store = store
        self.deadline = deadline
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.ledger = Ledger(event)
        self.result = self.ledger.result
        self.log = get_logger(account=event.account.id, run=event.run_id)
        self.stop = threading.Event()
        self.current = threading.local()  # the scan a thread is running, for call counts
        self.credentials: Credentials | None = None

    def run(self, on_run_complete: Callable[[str], None] | None) -> AccountResult:
        started = time.monotonic()
        account = self.event.account
        try:
            self.credentials = self.clients.assume_role(
                account.id,
                self.event.role_name,
                session_name=f"aws-collector-{self.event.run_id}",
                external_id=self.event.external_id,
            )
        except (ClientError, BotoCoreError) as exc:
            failure = self.ledger.fail_with("-", "-", exc)
            self.log.error("assume_role_failed", error=failure.error)
        else:
            self._collect()
        finally:
            self.result.seconds = round(time.monotonic() - started, 3)
            record_result(self.result, self.event, self.store, self.now, on_run_complete)
            if self.credentials:
                self.clients.forget(self.credentials)
        self.log.info("account_done", status=self.result.status, written=self.result.written,
                      errors=len(self.result.errors), seconds=self.result.seconds)
        return self.result

    def _collect(self) -> None:
        regional = [n for n in self.event.collectors if self.registry[n].scope is Scope.REGIONAL]
        global_ = [n for n in self.event.collectors if self.registry[n].scope is Scope.GLOBAL]
        regions = self._regions() if regional else []
        self.result.regions = regions
        first_seen = FirstSeen(self.event, self.store, self.ledger)
        writer = Writer(self.event, self.store, self.ledger, first_seen, self.now)
        # One thread per (region, collector): a collector that hangs holds up only its own scan,
        # never the other collectors of its region. Global collectors first: their chains are the
        # longest (IAM's report polls), and threads ask for their clients in start order.
        places = [(GLOBAL, n) for n in global_] + [(r, n) for r in regions for n in regional]
        threads = {
            threading.Thread(target=self._scan, args=(region, name, writer, first_seen), daemon=True,
                             name=f"{self.event.account.id}-{region}-{name}"): (region, name)
            for region, name in places
        }
        writer.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            # Daemon threads: a collector that hangs past the deadline is left behind, not joined.
            thread.join(None if self.deadline is None else max(0.0, self.deadline - time.monotonic()))
        unfinished = [place for thread, place in threads.items() if thread.is_alive()]
        if unfinished:
            self.result.complete = False
            self.stop.set()
            for region, name in unfinished:
                self.ledger.fail(region, name, "DeadlineExceeded",
                                 "stopped at the worker's deadline before this scan finished")
            self.log.warning("deadline_reached", unfinished=unfinished)
        writer.close()

    def _regions(self) -> list[str]:
        if self.event.regions != "all":
            return list(self.event.regions)
        # "all" means what this account has enabled: read OptInStatus ourselves (filters on it
        # are not honoured everywhere) and stay in the partition we run in.
        try:
            ec2 = self._client("ec2", home_region())
            regions = ec2.describe_regions(AllRegions=True)["Regions"]
        except (ClientError, BotoCoreError) as exc:
            self.ledger.fail_with("-", "-", exc)
            return []
        partition = self.clients.partition(home_region())
        return sorted(
            r["RegionName"] for r in regions
            if r.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN
            and self.clients.partition(r["RegionName"]) == partition
        )

    def _scan(self, region: str, name: str, writer: Writer, first_seen: FirstSeen) -> None:
        """Run one collector in one region to its end; anything it raises fails this scan only."""
        if self.stop.is_set():
            return
        collector = self.registry[name]
        scan = self.ledger.begin_scan(region, name)
        self.current.scan = scan
        log = self.log.bind(region=region, plugin=name)
        ctx = CollectorContext(
            account=self.event.account,
            region=region,
            options=self.event.collectors[name],
            log=log,
            now=self.now,
            clients=self._client,
            client_region=home_region() if region == GLOBAL else region,
        )
        started = time.monotonic()
        rejected = False
        try:
            for raw in collector.collect(ctx) or ():
                if self.stop.is_set():
                    return
                try:
                    finding = normalise(raw)
                except BadFinding as exc:
                    self.ledger.fail_with(region, name, exc)
                    rejected = True
                    continue
                scan.findings += 1
                first_seen.of(region)  # read now, in this thread, so regions' reads overlap
                writer.put(region, name, finding)
            # A rejected finding was seen but not stored: resolving by this scan would hide it.
            self.ledger.finish(scan, ok=not rejected)
        except Exception as exc:  # plugin code: anything may happen, and must not stop the rest
            failure = self.ledger.fail_with(region, name, exc)
            log.warning("collector_failed", error=failure.error, message=failure.message)
        finally:
            scan.seconds = round(time.monotonic() - started, 3)
            self.current.scan = None

    def _client(self, service: str, region: str) -> Any:
        return self.clients.client(service, region, self.credentials, on_call=self._count_call)

    def _count_call(self, region: str, service: str, operation: str) -> None:
        scan = getattr(self.current, "scan", None)
        if scan is not None:
            scan.api_calls += 1  # only this scan's thread touches it
