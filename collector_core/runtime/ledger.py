"""What a worker records while it runs: its scans, its failures and what it wrote, from many threads.

Once sealed, the ledger ignores everything: a collector still running past the worker's deadline
can change nothing in the result that was recorded.
"""
from __future__ import annotations

import copy
import threading

from collector_core.errors import error_of, shorten
from collector_core.results import AccountResult, Failure, Scan
from collector_core.runtime.events import WorkerEvent


class Ledger:
    """One account's AccountResult, changed only under one lock (by these methods alone: the worker,
    its scans and its writer hold no other way in), until sealed."""

    def __init__(self, event: WorkerEvent) -> None:
        self.result = AccountResult(run_id=event.run_id, account=event.account, run_seq=event.run_seq)
        self._lock = threading.Lock()
        self._spoiled: set[tuple[str, str]] = set()  # places whose findings were not all stored
        self._abandoned: set[int] = set()  # scans cut off at the deadline, by id
        self._sealed = False

    def begin_scan(self, region: str, plugin: str) -> Scan:
        """A new scan of a collector in a region (or "global"), not yet successful."""
        scan = Scan(region=region, plugin=plugin)
        with self._lock:
            if not self._sealed:
                self.result.scans.append(scan)
        return scan

    def scanning(self, regions: list[str]) -> None:
        """The regions this attempt scans."""
        with self._lock:
            if not self._sealed:
                self.result.regions = list(regions)

    def cut_short(self) -> None:
        """The worker's deadline came before every scan finished."""
        with self._lock:
            if not self._sealed:
                self.result.complete = False

    def found(self, scan: Scan) -> None:
        """One more finding yielded by a scan."""
        with self._lock:
            scan.findings += 1

    def called(self, scan: Scan) -> None:
        """One more API call made by a scan."""
        with self._lock:
            scan.api_calls += 1

    def timed(self, scan: Scan, seconds: float) -> None:
        """How long a scan ran."""
        with self._lock:
            scan.seconds = round(seconds, 3)

    def fail(self, region: str, plugin: str, error: str, message: str) -> Failure:
        """Record a failure by name ("-" where it is not about one region or collector)."""
        failure = Failure(self.result.account.id, region, plugin, error, shorten(message))
        with self._lock:
            if not self._sealed:
                self.result.add_failure(failure)
        return failure

    def fail_with(self, region: str, plugin: str, exc: BaseException) -> Failure:
        """Record an exception as a failure."""
        return self.fail(region, plugin, *error_of(exc))

    def finish(self, scan: Scan, ok: bool) -> None:
        """A scan ran to its end: successful unless it or the writer found a problem."""
        with self._lock:
            if not self._sealed and id(scan) not in self._abandoned:
                scan.ok = ok and (scan.region, scan.plugin) not in self._spoiled

    def abandon(self, scan: Scan) -> None:
        """A scan cut off at the deadline: whatever it does later, it stays unsuccessful."""
        with self._lock:
            self._abandoned.add(id(scan))
            scan.ok = False

    def unresolvable(self, places: set[tuple[str, str]]) -> None:
        """A scan whose findings were not all stored must not resolve the old ones."""
        with self._lock:
            self._spoiled |= places
            for scan in self.result.scans:
                if (scan.region, scan.plugin) in places:
                    scan.ok = False

    def unchanged(self) -> None:
        """Count one finding seen as it was stored (not rewritten)."""
        with self._lock:
            self.result.unchanged += 1

    def ok_places(self) -> set[tuple[str, str]]:
        """The places scanned successfully so far: what this attempt may resolve."""
        with self._lock:
            return {(s.region, s.plugin) for s in self.result.scans if s.ok}

    def wrote(self, stored: bool) -> None:
        """Count one finding written, or superseded by a newer attempt's."""
        with self._lock:
            if stored:
                self.result.written += 1
            else:
                self.result.superseded += 1

    def seal(self) -> AccountResult:
        """The result as it stands, kept from any later change."""
        with self._lock:
            self._sealed = True
            self.result = copy.deepcopy(self.result)
            return self.result
