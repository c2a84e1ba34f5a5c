"""The writer: one thread per worker that drains the scans' queue into the table in batches.

Collection never waits on writes. A finding the table does not take is recorded by name, and its
scan is marked so it resolves nothing (an unstored finding must not read as fixed).
"""
from __future__ import annotations

import datetime as dt
import queue
import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.collector import Finding
from collector_core.errors import error_of
from collector_core.findings import BadFinding
from collector_core.logs import get_logger
from collector_core.runtime.ledger import Ledger
from collector_core.runtime.messages import WorkerEvent
from collector_core.store import BATCH_SIZE, Store

_STOP = object()


class FirstSeen:
    """Each region's stored first_seen, read once by whichever thread asks first.

    Scan threads ask as soon as they have a finding, so the reads of different regions overlap
    instead of queueing up in the writer.
    """

    def __init__(self, event: WorkerEvent, store: Store, ledger: Ledger) -> None:
        self._event, self._store, self._ledger = event, store, ledger
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._regions: dict[str, dict[tuple[str, str], tuple[str, str]]] = {}

    def of(self, region: str) -> dict[tuple[str, str], tuple[str, str]]:
        """(plugin, resource_id) -> (first_seen, first_run) of a region's stored findings."""
        with self._lock:
            lock = self._locks.setdefault(region, threading.Lock())
        with lock:
            if region not in self._regions:
                self._regions[region] = self._read(region)
            return self._regions[region]

    def _read(self, region: str) -> dict[tuple[str, str], tuple[str, str]]:
        try:
            return self._store.first_seen(self._event.account.id, region)
        except (ClientError, BotoCoreError) as exc:
            # Without it, first_seen would restart today; say so rather than guess.
            self._ledger.fail_with(region, "-", exc)
            return {}


class Writer:
    """Takes (region, plugin, finding) from any thread; writes them from one."""

    def __init__(self, event: WorkerEvent, store: Store, ledger: Ledger, first_seen: FirstSeen,
                 now: dt.datetime) -> None:
        self._event, self._store, self._ledger, self._first_seen = event, store, ledger, first_seen
        self._now = now
        self._queue: queue.Queue[Any] = queue.Queue()
        self._log = get_logger(account=event.account.id, run=event.run_id)
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"{event.account.id}-writer")

    def start(self) -> None:
        """Start draining the queue."""
        self._thread.start()

    def put(self, region: str, plugin: str, finding: Finding) -> None:
        """Queue one finding for the table."""
        self._queue.put((region, plugin, finding))

    def close(self) -> None:
        """Write what is queued and wait for it."""
        self._queue.put(_STOP)
        self._thread.join()

    def _loop(self) -> None:
        seen: set[tuple[str, str, str]] = set()
        batch: list[dict[str, Any]] = []
        while True:
            entry = self._queue.get()
            if entry is not _STOP:
                region, plugin, finding = entry
                key = (region, plugin, finding.resource_id)
                if key in seen:  # a collector that yields one resource twice: keep the first
                    continue
                seen.add(key)
                item = self._item(region, plugin, finding)
                if item is not None:
                    batch.append(item)
            if len(batch) == BATCH_SIZE or (entry is _STOP and batch):
                self._flush(batch)
                batch = []
            if entry is _STOP:
                return

    def _item(self, region: str, plugin: str, finding: Finding) -> dict[str, Any] | None:
        stored = self._first_seen.of(region)
        try:
            return Store.finding_item(
                finding, plugin=plugin, account=self._event.account, region=region,
                run_id=self._event.run_id, now=self._now, ttl_days=self._event.ttl_days,
                first_seen=stored.get((plugin, finding.resource_id)),
            )
        except BadFinding as exc:
            self._ledger.fail_with(region, plugin, exc)
            self._ledger.unresolvable({(region, plugin)})
            return None

    def _flush(self, batch: list[dict[str, Any]]) -> None:
        try:
            failures = self._store.write_batch(batch)
        except (ClientError, BotoCoreError) as exc:
            places = {(i["region"], i["plugin"]) for i in batch}
            for region, plugin in places:
                self._ledger.fail_with(region, plugin, exc)
            self._ledger.unresolvable(places)
            code, message = error_of(exc)
            self._log.error("write_failed", error=code, message=message, items=len(batch))
            return
        for failure in failures:
            self._ledger.fail(failure.region, failure.plugin, "WriteFailed", f"{failure.resource_id}: {failure.error}")
        self._ledger.unresolvable({(f.region, f.plugin) for f in failures})
        self._ledger.written(len(batch) - len(failures))
