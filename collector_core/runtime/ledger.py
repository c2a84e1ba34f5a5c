"""What a worker records while it runs: its scans, its failures and what it wrote, from many threads."""
from __future__ import annotations

import threading

from collector_core.errors import error_of
from collector_core.runtime.messages import AccountResult, Failure, Scan, WorkerEvent


class Ledger:
    """One account's AccountResult, changed only under one lock."""

    def __init__(self, event: WorkerEvent) -> None:
        self.result = AccountResult(run_id=event.run_id, account=event.account)
        self._lock = threading.Lock()
        self._spoiled: set[tuple[str, str]] = set()  # places whose findings were not all stored

    def begin_scan(self, region: str, plugin: str) -> Scan:
        """A new scan of a collector in a region (or "global"), not yet successful."""
        scan = Scan(region=region, plugin=plugin)
        with self._lock:
            self.result.scans.append(scan)
        return scan

    def fail(self, region: str, plugin: str, error: str, message: str) -> Failure:
        """Record a failure by name ("-" where it is not about one region or collector)."""
        failure = Failure(self.result.account.id, region, plugin, error, message)
        with self._lock:
            self.result.errors.append(failure)
        return failure

    def fail_with(self, region: str, plugin: str, exc: BaseException) -> Failure:
        """Record an exception as a failure."""
        return self.fail(region, plugin, *error_of(exc))

    def finish(self, scan: Scan, ok: bool) -> None:
        """A scan ran to its end: successful unless it or the writer found a problem."""
        with self._lock:
            scan.ok = ok and (scan.region, scan.plugin) not in self._spoiled

    def unresolvable(self, places: set[tuple[str, str]]) -> None:
        """A scan whose findings were not all stored must not resolve the old ones."""
        with self._lock:
            self._spoiled |= places
            for scan in self.result.scans:
                if (scan.region, scan.plugin) in places:
                    scan.ok = False

    def written(self, count: int) -> None:
        """Count findings stored."""
        with self._lock:
            self.result.written += count
