"""What a worker reports back: its scans, its failures, and the account's status (the domain's
records of a worker's result, used alike by the runtime that makes them, the store that keeps them
and the report that reads them).

A result stays bounded whatever a collector does: failures beyond the first few are counted,
not kept, so a plugin that yields a million bad findings costs a counter, and the record stored
for the run stays far below DynamoDB's 400 KB item limit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from collector_core.collector import Account

#: Failures kept in full per account; the rest are counted by plugin and error code.
KEPT_FAILURES = 20


class Status(StrEnum):
    """An account's status in a run: what its worker recorded, or what the report makes of it."""

    OK = "ok"
    PARTIAL = "partial"  # some scans or writes failed
    FAILED = "failed"  # nothing scanned successfully, or the worker was lost
    INCOMPLETE = "incomplete"  # the worker's deadline cut it short (the report's word)
    NEVER_REPORTED = "never reported"  # no worker recorded it before the run's deadline


@dataclass(frozen=True)
class RunProgress:
    """Accounts a run has counted done, out of those it waits for."""

    done: int
    expected: int

    @property
    def complete(self) -> bool:
        """Every account counted: the run can be reported."""
        return self.done >= self.expected


@dataclass
class Failure:
    """Something that failed (a scan, a write, an invocation), with the names a person needs to find it."""

    account_id: str
    region: str  # "-" when not about one region
    plugin: str  # "-" when not about one collector
    error: str  # exception class or AWS error code
    message: str


@dataclass
class Scan:
    """One collector in one region (or "global"): what it found and what it cost."""

    region: str
    plugin: str
    findings: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    ok: bool = False


@dataclass
class AccountResult:
    """What a worker did for one account in one run."""

    run_id: str
    account: Account
    run_seq: int = 0
    #: Where this attempt sits in the account's own order of attempts (the table assigns both):
    #: a scan resolves a finding only if it started after the attempt that last saw it ended.
    attempt: int = 0
    attempt_end: int = 0
    regions: list[str] = field(default_factory=list)
    scans: list[Scan] = field(default_factory=list)
    errors: list[Failure] = field(default_factory=list)  # the first KEPT_FAILURES in full
    error_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # plugin -> code -> count
    place_errors: dict[tuple[str, str], int] = field(default_factory=dict)  # (region, plugin) -> count
    written: int = 0
    superseded: int = 0  # findings a newer attempt had already written
    unchanged: int = 0  # findings seen as they were stored: named in the attempt's record, not rewritten
    seconds: float = 0.0
    complete: bool = True
    #: Set on the record of an account no worker reported for: failed (lost) or never reported.
    absence: Status | None = None

    @property
    def error_total(self) -> int:
        """Every failure, kept or only counted."""
        return sum(n for codes in self.error_counts.values() for n in codes.values())

    @property
    def status(self) -> Status:
        """ok, partial (some scans or writes failed, or the deadline cut it short) or failed."""
        if self.absence is not None:
            return self.absence
        if not self.error_total and self.complete:
            return Status.OK
        return Status.PARTIAL if any(s.ok for s in self.scans) else Status.FAILED

    def add_failure(self, failure: Failure) -> None:
        """Count a failure, and keep it in full if it is among the first few."""
        codes = self.error_counts.setdefault(failure.plugin, {})
        codes[failure.error] = codes.get(failure.error, 0) + 1
        place = (failure.region, failure.plugin)
        self.place_errors[place] = self.place_errors.get(place, 0) + 1
        if len(self.errors) < KEPT_FAILURES:
            self.errors.append(failure)

    def findings_by_plugin(self) -> dict[str, int]:
        """Findings seen, per collector."""
        out: dict[str, int] = {}
        for scan in self.scans:
            out[scan.plugin] = out.get(scan.plugin, 0) + scan.findings
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, compact: scans as [region, plugin, findings, api_calls, seconds, ok] rows."""
        return {
            "run_id": self.run_id, "run_seq": self.run_seq, "account": self.account.to_doc(),
            "attempt": self.attempt, "attempt_end": self.attempt_end, "regions": self.regions,
            "scans": [[s.region, s.plugin, s.findings, s.api_calls, s.seconds, s.ok] for s in self.scans],
            "errors": [vars(e) for e in self.errors], "error_counts": self.error_counts,
            "place_errors": [[r, p, n] for (r, p), n in sorted(self.place_errors.items())],
            "written": self.written, "superseded": self.superseded, "unchanged": self.unchanged,
            "seconds": self.seconds,
            "complete": self.complete, "status": str(self.status),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountResult:
        """Read a result back from its to_dict() form."""
        return cls(
            run_id=data["run_id"],
            account=Account(**data["account"]),
            run_seq=int(data.get("run_seq", 0)),
            attempt=int(data.get("attempt", 0)),
            attempt_end=int(data.get("attempt_end", 0)),
            regions=list(data.get("regions", [])),
            scans=[Scan(*row) for row in data.get("scans", [])],
            errors=[Failure(**e) for e in data.get("errors", [])],
            error_counts={p: dict(c) for p, c in data.get("error_counts", {}).items()},
            place_errors={(r, p): int(n) for r, p, n in data.get("place_errors", [])},
            written=int(data.get("written", 0)),
            superseded=int(data.get("superseded", 0)),
            unchanged=int(data.get("unchanged", 0)),
            seconds=float(data.get("seconds", 0.0)),
            complete=bool(data.get("complete", True)),
            absence=Status(data["status"]) if data.get("status") == Status.NEVER_REPORTED else None,
        )

    @classmethod
    def absent(cls, run_id: str, run_seq: int, account: Account, attempt: int, status: Status,
               reason: tuple[str, str]) -> AccountResult:
        """The result recorded for an account whose worker never reported (lost, or never started)."""
        result = cls(run_id=run_id, account=account, run_seq=run_seq, attempt=attempt, attempt_end=attempt,
                     complete=False, absence=status)
        result.add_failure(Failure(account.id, "-", "-", *reason))
        return result
