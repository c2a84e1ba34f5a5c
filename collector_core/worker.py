"""The worker: one account, one thread per region, every enabled collector, one shared queue.

Collector threads put findings on a queue; one writer thread drains it into DynamoDB in batches,
so collection never waits on writes. Whatever fails (a region, a collector, a finding, a write) is
recorded with its names and everything else still lands. At the deadline the worker stops
collecting, flushes what it has and marks the account incomplete.
"""
from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.aws import Clients, Credentials, home_region
from collector_core.collector import CollectorContext, Scope
from collector_core.events import AccountResult, Scan, ScanError, WorkerEvent
from collector_core.findings import BadFinding, iso, normalise, to_item
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.store import BATCH_SIZE, Store

GLOBAL = "global"
ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")
_STOP = object()


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
    clients: Clients,
    store: Store,
    on_run_complete: Callable[[str], None] | None = None,
) -> AccountResult:
    """Record an account whose worker never started as failed, so its run can still complete."""
    worker = _Worker(event, Registry(), clients, store, None, None)
    worker._add_error("-", "-", *error)
    worker._record(on_run_complete)
    return worker.result


def error_of(exc: BaseException) -> tuple[str, str]:
    """(error class or AWS code, message) of an exception."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return err.get("Code", type(exc).__name__), err.get("Message", str(exc))
    return type(exc).__name__, str(exc)[:500]


class _Worker:
    def __init__(self, event: WorkerEvent, registry: Registry, clients: Clients, store: Store,
                 deadline: float | None, now: dt.datetime | None) -> None:
        self.event = event
        self.registry = registry
        self.clients = clients
        self.store = store
        self.deadline = deadline
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.result = AccountResult(run_id=event.run_id, account=event.account)
        self.log = get_logger(account=event.account.id, run=event.run_id)
        self.queue: queue.Queue[Any] = queue.Queue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.current = threading.local()  # the scan a region thread is running, for call counts
        self.credentials: Credentials | None = None
        # Stored first_seen per region, read by the first collector thread with a finding there:
        # the reads of different regions overlap instead of queueing up in the writer.
        self.first_seen: dict[str, dict[str, tuple[str, str]]] = {}
        self.first_seen_locks: dict[str, threading.Lock] = {}

    # -- the run ---------------------------------------------------------------------------
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
            self._error("-", "-", exc)
            self.log.error("assume_role_failed", error=self.result.errors[-1].error)
        else:
            self._collect()
        finally:
            self.result.seconds = round(time.monotonic() - started, 3)
            self._record(on_run_complete)
            if self.credentials:
                self.clients.forget(self.credentials)
        self.log.info("account_done", status=self.result.status, written=self.result.written,
                      errors=len(self.result.errors), seconds=self.result.seconds)
        return self.result

    def _collect(self) -> None:
        regional = [n for n in self.event.collectors if self._scope(n) is Scope.REGIONAL]
        global_ = [n for n in self.event.collectors if self._scope(n) is Scope.GLOBAL]
        regions = self._regions() if regional else []
        self.result.regions = regions
        # One thread per (place, collector): a collector that hangs holds up only its own scan,
        # never the other collectors of its region.
        places = {
            threading.Thread(target=self._scan_place, args=(r, [n]), daemon=True,
                             name=f"{self.event.account.id}-{r}-{n}"): (r, n)
            # Global collectors first: their chains are the longest (IAM's report polls), and
            # threads ask for their clients in start order.
            for r, n in [(GLOBAL, n) for n in global_] + [(r, n) for r in regions for n in regional]
        }
        threads = list(places)
        writer = threading.Thread(target=self._write_loop, daemon=True,
                                  name=f"{self.event.account.id}-writer")
        writer.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            # Daemon threads: a collector that hangs past the deadline is left behind, not joined.
            thread.join(None if self.deadline is None else max(0.0, self.deadline - time.monotonic()))
        unfinished = [places[t] for t in threads if t.is_alive()]
        if unfinished:
            self.result.complete = False
            self.stop.set()
            for region, name in unfinished:
                self._add_error(region, name, "DeadlineExceeded",
                                "stopped at the worker's deadline before this scan finished")
            self.log.warning("deadline_reached", unfinished=unfinished)
        self.queue.put(_STOP)
        writer.join()

    def _regions(self) -> list[str]:
        if self.event.regions != "all":
            return list(self.event.regions)
        # "all" means what this account has enabled: read OptInStatus ourselves (filters on it
        # are not honoured everywhere) and stay in the partition we run in.
        try:
            ec2 = self._client("ec2", home_region())
            regions = ec2.describe_regions(AllRegions=True)["Regions"]
        except (ClientError, BotoCoreError) as exc:
            self._error("-", "-", exc)
            return []
        partition = self.clients.partition(home_region())
        return sorted(
            r["RegionName"] for r in regions
            if r.get("OptInStatus", "opt-in-not-required") in ENABLED_OPT_IN
            and self.clients.partition(r["RegionName"]) == partition
        )

    # -- collecting ------------------------------------------------------------------------
    def _scan_place(self, region: str, names: list[str]) -> None:
        for name in names:
            if self.stop.is_set():
                return
            self._scan(region, name)

    def _scan(self, region: str, name: str) -> None:
        collector = self.registry[name]
        scan = Scan(region=region, plugin=name)
        with self.lock:
            self.result.scans.append(scan)
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
                    self._error(region, name, exc)
                    rejected = True
                    continue
                scan.findings += 1
                self._first_seen_for(region)
                self.queue.put((region, name, finding))
            # A rejected finding was seen but not stored: resolving by this scan would hide it.
            scan.ok = not rejected
        except Exception as exc:  # plugin code: anything may happen, and must not stop the rest
            self._error(region, name, exc)
            log.warning("collector_failed", error=self.result.errors[-1].error,
                        message=self.result.errors[-1].message)
        finally:
            scan.seconds = round(time.monotonic() - started, 3)
            self.current.scan = None

    def _client(self, service: str, region: str) -> Any:
        return self.clients.client(service, region, self.credentials, on_call=self._count_call)

    def _count_call(self, region: str, service: str, operation: str) -> None:
        scan = getattr(self.current, "scan", None)
        if scan is not None:
            scan.api_calls += 1  # only this scan's thread touches it

    # -- writing ---------------------------------------------------------------------------
    def _write_loop(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        batch: list[tuple[str, str, dict[str, Any]]] = []
        while True:
            entry = self.queue.get()
            if entry is not _STOP:
                region, plugin, finding = entry
                key = (region, plugin, finding.resource_id)
                if key in seen:  # a collector that yields one resource twice: keep the first
                    continue
                seen.add(key)
                stored = self._first_seen_for(region)
                try:
                    item = to_item(
                        finding, plugin=plugin, account=self.event.account, region=region,
                        run_id=self.event.run_id, now=self.now, ttl_days=self.event.ttl_days,
                        first_seen=stored.get(f"{plugin}#{finding.resource_id}"),
                    )
                except BadFinding as exc:
                    self._error(region, plugin, exc)
                    self._unresolvable({(region, plugin)})
                    continue
                batch.append((region, plugin, item))
            if len(batch) == BATCH_SIZE or (entry is _STOP and batch):
                self._flush(batch)
                batch = []
            if entry is _STOP:
                return

    def _first_seen_for(self, region: str) -> dict[str, tuple[str, str]]:
        """A region's stored first_seen, read once whichever thread asks first."""
        with self.lock:
            lock = self.first_seen_locks.setdefault(region, threading.Lock())
        with lock:
            if region not in self.first_seen:
                self.first_seen[region] = self._stored_first_seen(region)
            return self.first_seen[region]

    def _stored_first_seen(self, region: str) -> dict[str, tuple[str, str]]:
        try:
            return self.store.first_seen(self.event.account.id, region)
        except (ClientError, BotoCoreError) as exc:
            # Without it, first_seen would restart today; say so rather than guess.
            self._error(region, "-", exc)
            return {}

    def _flush(self, batch: list[tuple[str, str, dict[str, Any]]]) -> None:
        try:
            failures = self.store.write_batch([item for _, _, item in batch])
        except (ClientError, BotoCoreError) as exc:
            code, message = error_of(exc)
            failures_by_key = {(r, p) for r, p, _ in batch}
            for region, plugin in failures_by_key:
                self._error(region, plugin, exc)
            self._unresolvable(failures_by_key)
            self.log.error("write_failed", error=code, message=message, items=len(batch))
            return
        failed = {(f.item["region"], f.item["plugin"]) for f in failures}
        for failure in failures:
            self._add_error(failure.item["region"], failure.item["plugin"], "WriteFailed",
                            f"{failure.item['resource_id']}: {failure.error}")
        self._unresolvable(failed)
        self.result.written += len(batch) - len(failures)

    def _unresolvable(self, places: set[tuple[str, str]]) -> None:
        """A scan whose findings were not all written must not resolve the old ones."""
        with self.lock:
            for scan in self.result.scans:
                if (scan.region, scan.plugin) in places:
                    scan.ok = False

    # -- bookkeeping -----------------------------------------------------------------------
    def _scope(self, name: str) -> Scope:
        return self.registry[name].scope

    def _error(self, region: str, plugin: str, exc: BaseException) -> None:
        self._add_error(region, plugin, *error_of(exc))

    def _add_error(self, region: str, plugin: str, error: str, message: str) -> None:
        with self.lock:
            self.result.errors.append(ScanError(self.event.account.id, region, plugin, error, message))

    def _record(self, on_run_complete: Callable[[str], None] | None) -> None:
        """Store the account's run record, then count it done in the run."""
        record = {
            "pk": f"ACCOUNT#{self.event.account.id}",
            "sk": self.event.run_id,
            "kind": "account_run",
            "account_id": self.event.account.id,
            "run_id": self.event.run_id,
            "status": self.result.status,
            "finished": iso(dt.datetime.now(dt.timezone.utc)),
            "result": json.dumps(self.result.to_dict(), sort_keys=True),
            "ttl": int(self.now.timestamp()) + self.event.ttl_days * 86400,
        }
        try:
            self.store.put(record)
            done, expected = self.store.mark_account_done(self.event.run_id, self.event.account.id)
        except (ClientError, BotoCoreError) as exc:
            self._error("-", "-", exc)
            self.log.error("run_record_failed", error=self.result.errors[-1].error)
            return
        if on_run_complete and expected and done >= expected:
            on_run_complete(self.event.run_id)
