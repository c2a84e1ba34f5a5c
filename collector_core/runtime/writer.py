"""Writing a worker's findings: a few threads drain the scans' queue into the table.

Collection never waits on writes. Before the first write the worker has taken its attempt number
and read what the account's stored findings hold in one Query (`Preparation`). Every finding seen
is named in the attempt's record (its sighting: a few bytes); its item is written only when it is
new or its content changed, and then only if no newer attempt has written it. A finding seen
unchanged costs nothing, but a TTL refresh every few weeks; one that a successful scan did not see
is marked to expire ``ttl_days`` later. If the stored findings could not be read, every finding is
written keeping whatever first_seen the table holds (never today's date by guess). A finding the
table does not take is recorded by name, and its scan resolves nothing.
"""
from __future__ import annotations

import datetime as dt
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.collector import Finding
from collector_core.errors import describe
from collector_core.findings import BadFinding, Place
from collector_core.logs import get_logger
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.ledger import Ledger
from collector_core.store import Store, Written
from collector_core.store.layout import Known
from collector_core.store.sightings import blob, sighting

#: Threads writing one account's findings: each write is one conditional request.
WRITE_THREADS = 16
Key = tuple[str, str, str]  # (region, plugin, resource_id)
#: Seconds between rounds of retries of one write, after botocore's own.
WRITE_BACKOFF = (0.5, 1.0, 2.0)
_STOP = object()


class Preparation:
    """The attempt's number and the account's stored first_seen, fetched while the account is
    assumed; the account is listed in the index meanwhile."""

    def __init__(self, event: WorkerEvent, store: Store, ledger: Ledger) -> None:
        self._event, self._store, self._ledger = event, store, ledger
        self.attempt: int | None = None
        self.first_seen: dict[Key, Known] | None = None  # None: they could not be read
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"{event.account.id}-prepare")

    def start(self) -> None:
        """Fetch both in the background."""
        self._thread.start()

    def _run(self) -> None:
        account = self._event.account
        # Three independent calls at once; the writes wait for all of them.
        steps = [
            lambda: setattr(self, "attempt", self._store.next_attempt(account.id)),
            lambda: self._store.register_account(account, now=dt.datetime.now(dt.timezone.utc),
                                                 ttl_days=self._event.ttl_days),
            lambda: setattr(self, "first_seen", self._store.first_seen(account.id)),
        ]
        threads = [threading.Thread(target=self._step, args=(step,), daemon=True, name=f"{account.id}-prepare-{i}")
                   for i, step in enumerate(steps[1:], 1)]
        for thread in threads:
            thread.start()
        self._step(steps[0])
        for thread in threads:
            thread.join()
        self.ready.set()

    def _step(self, step: Callable[[], None]) -> None:
        try:
            step()
        except (ClientError, BotoCoreError) as exc:
            self._ledger.fail_with("-", "-", exc)


class Writer:
    """Takes (region, plugin, finding) from any thread; writes them from WRITE_THREADS."""

    def __init__(self, event: WorkerEvent, store: Store, ledger: Ledger, preparation: Preparation,
                 now: dt.datetime, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._event, self._store, self._ledger, self._prep = event, store, ledger, preparation
        self._now, self._sleep = now, sleep
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._seen: set[Key] = set()
        self._sightings: dict[Place, list[bytes]] = {}
        self._closed = False
        self._threads = [threading.Thread(target=self._loop, daemon=True, name=f"{event.account.id}-writer-{i}")
                         for i in range(WRITE_THREADS)]

    def start(self) -> None:
        """Start draining the queue."""
        for thread in self._threads:
            thread.start()

    def put(self, region: str, plugin: str, finding: Finding) -> None:
        """Queue one finding; a collector yielding one resource twice is written (and named) once."""
        key, seen = (region, plugin, finding.resource_id), sighting(finding)
        with self._lock:
            if self._closed or key in self._seen:
                return
            self._seen.add(key)
            self._sightings.setdefault((region, plugin), []).append(seen)
        self._queue.put((self._write, (region, plugin, finding, seen)))

    def close(self, resolved_by: set[Place] | None = None) -> dict[Place, bytes]:
        """Write what is queued and wait for it; later puts are ignored. Then mark to expire the
        stored findings of ``resolved_by`` (places scanned successfully) that this attempt did not
        see. What each place's scans saw, as the attempt's record names it."""
        with self._lock:
            self._closed = True
        self._queue.join()
        for known_key in self._unseen(resolved_by or set()):
            self._queue.put((self._expire, (known_key,)))
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join()
        with self._lock:
            return {place: blob(seen) for place, seen in self._sightings.items()}

    def _unseen(self, places: set[Place]) -> list[Key]:
        known, attempt = self._prep.first_seen, self._prep.attempt
        if not places or known is None or attempt is None:
            return []
        with self._lock:
            return [k for k, stored in known.items() if k[:2] in places and k not in self._seen
                    and stored.resolvable(attempt, self._now, self._event.ttl_days)]

    def _loop(self) -> None:
        while (job := self._queue.get()) is not _STOP:
            work, args = job
            try:
                work(*args)
            finally:
                self._queue.task_done()

    def _write(self, region: str, plugin: str, finding: Finding, seen: bytes) -> None:
        self._prep.ready.wait()
        attempt, stored = self._prep.attempt, self._prep.first_seen
        if attempt is None:  # no attempt number: nothing may be written for this account
            self._ledger.unresolvable({(region, plugin)})
            return
        known = None if stored is None else stored.get((region, plugin, finding.resource_id))
        try:
            if known is not None and known.sighting == seen:  # seen unchanged: the attempt's record says so
                if known.refresh_due(self._now, self._event.ttl_days):
                    _with_backoff(lambda: self._store.refresh_ttl(
                        self._event.account.id, (region, plugin, finding.resource_id), now=self._now,
                        ttl_days=self._event.ttl_days), self._sleep)
                self._ledger.unchanged()
                return
            item = Store.finding_item(
                finding, plugin=plugin, account=self._event.account, region=region, run_id=self._event.run_id,
                attempt=attempt, now=self._now, ttl_days=self._event.ttl_days,
                first_seen=None if known is None else (known.first_seen, known.first_seq),
            )
            put = self._store.put_finding_keeping_first_seen if stored is None else self._store.put_finding
            written = _with_backoff(lambda: put(item), self._sleep)
        except BadFinding as exc:
            self._ledger.fail_with(region, plugin, exc)
            self._ledger.unresolvable({(region, plugin)})
        except (ClientError, BotoCoreError) as exc:
            self._ledger.fail(region, plugin, "WriteFailed", f"{finding.resource_id:.200}: {describe(exc)}")
            self._ledger.unresolvable({(region, plugin)})
        else:
            self._ledger.wrote(written.stored)

    def _expire(self, key: Key) -> None:
        """A successful scan did not see it: let it expire ttl_days from now (best effort: a failure
        here only leaves it for its longer TTL)."""
        attempt = self._prep.attempt or 0
        try:
            _with_backoff(lambda: self._store.mark_resolved(self._event.account.id, key, attempt=attempt,
                                                           now=self._now, ttl_days=self._event.ttl_days), self._sleep)
        except (ClientError, BotoCoreError) as exc:
            get_logger(account=self._event.account.id, region=key[0], plugin=key[1]).warning(
                "expiry_not_marked", resource=key[2][:200], error=describe(exc))


def _with_backoff(write: Callable[[], Written], sleep: Callable[[float], None]) -> Written:
    """A write retried after a pause when DynamoDB throttles or fails on its side. botocore retries
    each call already, but its retry quota is shared by the whole client: one account whose writes
    keep failing can use it up for every other account's writes."""
    for pause in (*WRITE_BACKOFF, None):
        try:
            return write()
        except ClientError as exc:
            retryable = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500 \
                or "Throttl" in exc.response["Error"]["Code"] \
                or exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            if pause is None or not retryable:
                raise
        sleep(pause * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")
