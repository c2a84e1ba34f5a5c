"""The worker: one account, every enabled collector in every region, in a bounded pool of scan
threads, every finding to the writer, and one record of the attempt at the end.

Whatever fails (a region, a collector, a finding, a write) is recorded with its names and
everything else still lands. At the deadline the worker stops waiting, flushes what it has,
marks the account incomplete and records it; a collector still running then can change nothing
that was recorded, and its clients stop working.
"""
from __future__ import annotations

import copy
import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.aws.clients import Clients, Credentials, home_region
from collector_core.collector import Collector, CollectorContext, Scope
from collector_core.findings import BadFinding, Place, normalise
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.results import AccountResult, Scan
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.ledger import Ledger
from collector_core.runtime.writer import Preparation, Writer
from collector_core.store import Store
from collector_core.store.requests import UnprocessedWrites

ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")
#: Called once a run's last account is recorded: (run_id, run_seq).
RunComplete = Callable[[str, int], None]
_current = threading.local()  # the scan a thread is running, for API call counts


class ScanStopped(Exception):
    """A collector asked for a client after its worker had recorded the account and moved on."""


def run_account(
    event: WorkerEvent,
    *,
    registry: Registry,
    clients: Clients,
    store: Store,
    deadline: float | None = None,
    now: dt.datetime | None = None,
    on_run_complete: RunComplete | None = None,
) -> AccountResult:
    """Collect one account and store what it found; ``deadline`` is a time.monotonic() value."""
    return _Worker(event, registry, clients, store, deadline, now).run(on_run_complete)


def record_result(result: AccountResult, event: WorkerEvent, store: Store, now: dt.datetime,
                  on_run_complete: RunComplete | None, seen: Mapping[Place, bytes] | None = None) -> None:
    """Store the attempt's record (with what its scans saw), count the account done in its run, and
    say when the run is complete."""
    try:
        progress = store.record_attempt(result, collectors=list(event.collectors), now=now, ttl_days=event.ttl_days,
                                        seen=seen, seen_at=now)
    except (ClientError, BotoCoreError, UnprocessedWrites) as exc:
        get_logger(account=event.account.id, run=event.run_id).error("run_record_failed", error=type(exc).__name__)
        return
    if on_run_complete and progress and progress.complete:
        on_run_complete(event.run_id, event.run_seq)


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
        self.log = get_logger(account=event.account.id, run=event.run_id)
        self.stop = threading.Event()  # set at the deadline and when the worker is done
        self.credentials: Credentials | None = None

    def run(self, on_run_complete: RunComplete | None) -> AccountResult:
        started = time.monotonic()
        prep = Preparation(self.event, self.store, self.ledger)
        prep.start()  # the attempt number and first_seen come from the table while the role is assumed
        # Findings are written through a table client of this worker's own: its retries are not
        # shared, so writes that keep failing cannot leave the account's record unwritten.
        findings = Store(self.store.table, self.clients.private("dynamodb", home_region()))
        writer = Writer(self.event, findings, self.ledger, prep, self.now)
        writer.start()
        try:
            self.credentials = self.clients.assume_role(
                self.event.account.id, self.event.role_name, session_name=f"aws-collector-{self.event.run_id}",
                external_id=self.event.external_id)
        except (ClientError, BotoCoreError) as exc:
            failure = self.ledger.fail_with("-", "-", exc)
            self.log.error("assume_role_failed", error=failure.error)
        else:
            self._collect(writer)
        end = self._attempt_end(prep)
        seen = writer.close(resolved_by=self.ledger.ok_places())
        self.stop.set()  # from here on, a straggling collector's clients refuse to work
        result = self.ledger.seal()
        result.attempt, result.attempt_end = prep.attempt or 0, end
        result.seconds = round(time.monotonic() - started, 3)
        if prep.attempt is not None:
            record_result(result, self.event, self.store, self.now, on_run_complete, seen)
        if self.credentials:
            self.clients.forget(self.credentials)
        self.log.info("account_done", status=result.status, written=result.written, errors=result.error_total,
                      seconds=result.seconds)
        return result

    def _attempt_end(self, prep: Preparation) -> int:
        """The account's attempt sequence once every scan has finished seeing what it saw."""
        prep.ready.wait()
        if prep.attempt is None:
            return 0
        try:
            return self.store.next_attempt(self.event.account.id)
        except (ClientError, BotoCoreError) as exc:
            self.ledger.fail_with("-", "-", exc)
            return prep.attempt

    # -- scheduling --------------------------------------------------------------------------
    def _collect(self, writer: Writer) -> None:
        collectors = [self.registry[n] for n in self.event.collectors]
        regional = [c for c in collectors if c.scope is Scope.REGIONAL]
        regions = self._regions() if regional else []
        self.ledger.scanning(regions)
        # Global collectors first: their chains are the longest (IAM's report polls), and scans
        # ask for their clients in start order.
        places = [(Scope.GLOBAL.value, c) for c in collectors if c.scope is Scope.GLOBAL]
        places += [(r, c) for r in regions for c in regional]
        pool = _ScanPool(places, min(self.event.scan_threads, len(places)), self.ledger.begin_scan,
                         lambda region, collector, scan: self._scan(region, collector, scan, writer))
        if pool.wait(self.deadline):
            return
        self.ledger.cut_short()
        self.stop.set()
        unfinished = pool.unfinished()
        for region, name, scan in unfinished:
            if scan is not None:
                self.ledger.abandon(scan)
            self.ledger.fail(region, name, "DeadlineExceeded",
                             "stopped at the worker's deadline before this scan finished" if scan is not None
                             else "not started before the worker's deadline")
        self.log.warning("deadline_reached", unfinished=[(r, n) for r, n, _ in unfinished])

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

    # -- one scan ----------------------------------------------------------------------------
    def _scan(self, region: str, collector: Collector, scan: Scan, writer: Writer) -> None:
        """Run one collector in one region to its end; anything it raises fails this scan only."""
        name = collector.name
        _current.scan, _current.ledger = scan, self.ledger
        log = self.log.bind(region=region, plugin=name)
        ctx = CollectorContext(
            account=self.event.account, region=region,
            options=copy.deepcopy(self.event.collectors[name]),  # each scan its own: a collector may mutate
            log=log, now=self.now, clients=_ScanClients(self.clients, self.credentials, self.stop),
            client_region=home_region() if region == Scope.GLOBAL else region,
        )
        started = time.monotonic()
        try:
            rejected = False
            for raw in _findings(collector, ctx):
                if self.stop.is_set():
                    return
                try:
                    finding = normalise(raw)
                except BadFinding as exc:
                    self.ledger.fail_with(region, name, exc)
                    rejected = True
                    continue
                self.ledger.found(scan)
                writer.put(region, name, finding)
            # A rejected finding was seen but not stored: resolving by this scan would hide it.
            self.ledger.finish(scan, ok=not rejected)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: B036 plugin code: sys.exit() or any other escape fails this scan only
            failure = self.ledger.fail_with(region, name, exc)
            log.warning("collector_failed", error=failure.error, message=failure.message)
        finally:
            self.ledger.timed(scan, time.monotonic() - started)
            _current.scan = None

    def _client(self, service: str, region: str) -> Any:
        return self.clients.client(service, region, self.credentials, on_call=_count_call)


def _findings(collector: Collector, ctx: CollectorContext) -> Iterator[Any]:
    """What ``collect(ctx)`` yields; a TypeError naming the collector when it returns no iterable."""
    produced = collector.collect(ctx)
    if produced is None:
        raise TypeError(f"{collector.name}.collect() returned None, not an iterable of findings "
                        "(a missing return or yield?)")
    try:
        return iter(produced)
    except TypeError:
        raise TypeError(f"{collector.name}.collect() returned {type(produced).__name__}, "
                        "not an iterable of findings") from None


class _ScanClients:
    """Clients for one account's scans: they point at that account only, and refuse to be made
    once the worker has recorded the account (a collector that outlives its deadline)."""

    __slots__ = ("_clients", "_credentials", "_stopped")

    def __init__(self, clients: Clients, credentials: Credentials | None, stopped: threading.Event) -> None:
        self._clients, self._credentials, self._stopped = clients, credentials, stopped

    def __call__(self, service: str, region: str) -> Any:
        if self._stopped.is_set():
            raise ScanStopped("this scan was stopped at the worker's deadline; its clients are closed")
        return self._clients.client(service, region, self._credentials, on_call=_count_call)


def _count_call(region: str, service: str, operation: str) -> None:
    scan = getattr(_current, "scan", None)
    if scan is not None:
        _current.ledger.called(scan)


class _ScanPool:
    """At most ``threads`` scans at once, in the order given; daemon threads, so a collector that
    hangs is left behind at the deadline instead of holding the worker (or the process) up."""

    def __init__(self, places: list[tuple[str, Collector]], threads: int, begin: Callable[[str, str], Scan],
                 run: Callable[[str, Collector, Scan], None]) -> None:
        self._waiting: queue.SimpleQueue[tuple[str, Collector]] = queue.SimpleQueue()
        for place in places:
            self._waiting.put(place)
        self._names = [(r, c.name) for r, c in places]
        self._begin, self._run = begin, run
        self._lock = threading.Lock()
        self._started: dict[tuple[str, str], Scan] = {}
        self._finished: set[tuple[str, str]] = set()
        self._closed = False
        self._all_done = threading.Event()
        if not places:
            self._all_done.set()
        for i in range(threads):
            threading.Thread(target=self._loop, daemon=True, name=f"scan-{i}").start()

    def wait(self, deadline: float | None) -> bool:
        """True when every scan finished before the deadline."""
        return self._all_done.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def unfinished(self) -> list[tuple[str, str, Scan | None]]:
        """(region, collector, its scan if it started) of every scan not finished; none starts after."""
        with self._lock:
            self._closed = True
            return [(r, n, self._started.get((r, n))) for r, n in self._names if (r, n) not in self._finished]

    def _loop(self) -> None:
        while True:
            with self._lock:  # taking a place and beginning its scan are one step for unfinished()
                if self._closed:
                    return
                try:
                    region, collector = self._waiting.get_nowait()
                except queue.Empty:
                    return
                scan = self._started[(region, collector.name)] = self._begin(region, collector.name)
            # Named for its scan while it runs one: logs, profiles and the benchmarks' call records say whose.
            threading.current_thread().name = f"scan-{region}-{collector.name}"
            self._run(region, collector, scan)
            with self._lock:
                self._finished.add((region, collector.name))
                if len(self._finished) == len(self._names):
                    self._all_done.set()
