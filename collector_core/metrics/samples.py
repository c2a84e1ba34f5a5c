"""A run's metrics as samples: one account's numbers per plugin and region, and where they go."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from collector_core.results import AccountResult

DEFAULT_NAMESPACE = "AWSCollector"
#: (name, CloudWatch unit, Sample attribute)
METRICS = (
    ("Findings", "Count", "findings"),
    ("Errors", "Count", "errors"),
    ("Duration", "Seconds", "seconds"),
    ("ApiCalls", "Count", "api_calls"),
)


@dataclass(frozen=True)
class Sample:
    """One account's numbers for one plugin in one region ("-" for errors outside any scan)."""

    run_id: str
    account_id: str
    plugin: str
    region: str
    findings: int = 0
    errors: int = 0
    seconds: float = 0.0
    api_calls: int = 0


def samples(result: AccountResult) -> list[Sample]:
    """A worker's result as samples, one per (plugin, region) it scanned or failed in."""
    totals: dict[tuple[str, str], dict[str, float]] = {}
    for scan in result.scans:
        t = totals.setdefault((scan.plugin, scan.region), _zero())
        t["findings"] += scan.findings
        t["seconds"] += scan.seconds
        t["api_calls"] += scan.api_calls
    for (region, plugin), count in result.place_errors.items():
        t = totals.setdefault((plugin, region), _zero())
        t["errors"] += count
    return [
        Sample(result.run_id, result.account.id, plugin, region, findings=int(t["findings"]),
               errors=int(t["errors"]), seconds=round(t["seconds"], 3), api_calls=int(t["api_calls"]))
        for (plugin, region), t in sorted(totals.items())
    ]


def _zero() -> dict[str, float]:
    return {"findings": 0, "errors": 0, "seconds": 0.0, "api_calls": 0}


class Sink(Protocol):
    """Somewhere metrics go."""

    name: str

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Deliver a batch or raise."""
