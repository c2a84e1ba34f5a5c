"""What a plugin author builds: a Collector, the Findings it yields, and the context it gets."""
from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger


class Scope(str, enum.Enum):
    """Where a collector runs: in every region, or once per account."""

    REGIONAL = "regional"
    GLOBAL = "global"


SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Account:
    """An AWS account the run covers."""

    id: str
    name: str


@dataclass(frozen=True)
class Finding:
    """One thing a collector found; the runtime adds plugin, account, region, run and times."""

    resource_id: str
    summary: str
    severity: str = "medium"
    details: Mapping[str, Any] = field(default_factory=dict)


ClientSource = Callable[[str, str], Any]


@dataclass
class CollectorContext:
    """What `collect(ctx)` receives: where it runs, its options, and clients for that place."""

    account: Account
    region: str  # "global" for global collectors
    options: Mapping[str, Any]
    log: FilteringBoundLogger
    now: dt.datetime
    clients: ClientSource  # (service, region) -> client, assumed into this account
    client_region: str = ""  # where a global collector's clients point; defaults to region

    def client(self, service: str) -> Any:
        """A boto3 client for this account and region, with the runtime's retry settings."""
        return self.clients(service, self.client_region or self.region)


Collect = Callable[[CollectorContext], Iterable["Finding | Mapping[str, Any]"]]
Format = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class Collector:
    """A named, scoped function that yields findings; what `register_collectors` hands back."""

    name: str
    scope: Scope
    summary: str
    collect: Collect
    permissions: list[str] = field(default_factory=list)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Optional: how one stored finding (a finding-schema dict) reads as one line in a report.
    format: Format | None = None
