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
    #: Its organizational unit's path (``Root/Workloads/Payments``) when the accounts come from AWS
    #: Organizations; None otherwise. Plugin API 1.2.
    ou: str | None = None

    def to_doc(self) -> dict[str, str]:
        """The account as JSON: id and name, and ou when it has one."""
        doc = {"id": self.id, "name": self.name}
        if self.ou is not None:
            doc["ou"] = self.ou
        return doc


@dataclass(frozen=True)
class Finding:
    """One thing a collector found; the runtime adds plugin, account, region, run and times."""

    resource_id: str
    summary: str
    severity: str = "medium"
    details: Mapping[str, Any] = field(default_factory=dict)
    #: The resource's tags (key -> value), which routes and mutes match; at most 50, keys up to 128
    #: characters and values up to 256 (AWS's own limits); more is cut. Plugin API 1.2.
    tags: Mapping[str, str] = field(default_factory=dict)


ClientSource = Callable[[str, str], Any]


class CollectorContext:
    """What `collect(ctx)` receives: where it runs, its own copy of its options, a logger, and
    clients for its account and region. Nothing public on it leads anywhere else: not to other
    accounts, the findings table, the external id or the runtime's own credentials.
    """

    __slots__ = ("account", "region", "options", "log", "now", "_clients", "_client_region")

    def __init__(self, *, account: Account, region: str, options: Mapping[str, Any], log: FilteringBoundLogger,
                 now: dt.datetime, clients: ClientSource, client_region: str = "") -> None:
        self.account = account
        self.region = region  # "global" for global collectors
        self.options = options
        self.log = log
        self.now = now
        self._clients = clients  # (service, region) -> client, assumed into this account
        self._client_region = client_region  # where a global collector's clients point

    def client(self, service: str) -> Any:
        """A boto3 client for this account and region, with the runtime's retry and timeout settings."""
        return self._clients(service, self._client_region or self.region)

    def __repr__(self) -> str:
        return f"CollectorContext(account={self.account.id}, region={self.region})"


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
    #: Optional: the kind of resource its findings are about, as the AWS Security Finding Format
    #: names it (``AwsEc2Volume``; Security Hub and OCSF outputs carry it). Plugin API 1.1.
    resource_type: str = ""
