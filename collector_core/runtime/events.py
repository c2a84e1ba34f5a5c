"""What the director sends: the event for one account, and a relay's batch of them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from collector_core.collector import Account
from collector_core.runtime.planning import Subset

#: Scan threads a worker runs at most, unless the config says otherwise (``scan_threads``).
DEFAULT_SCAN_THREADS = 32


class EventError(ValueError):
    """A worker event that cannot be run; the message says which field and why."""


@dataclass(frozen=True)
class WorkerEvent:
    """Everything one worker needs for one account; the same for Lambda and local runs."""

    run_id: str
    run_seq: int  # the run's place in the table's order of runs (the table assigns it, not a clock)
    account: Account
    regions: str | list[str]  # "all" is resolved by the worker, which can see the account
    collectors: dict[str, dict[str, Any]]  # enabled collector name -> merged options
    table: str
    role_name: str
    external_id: str | None = None
    ttl_days: int = 7
    #: The config's ``metrics:`` section: the worker never reads the config itself.
    metrics: dict[str, Any] = field(default_factory=dict)
    scan_threads: int = DEFAULT_SCAN_THREADS
    #: The config's declarative checks among ``collectors``, as the config writes them: the worker
    #: never reads the config, so it builds their collectors from these.
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload of a Lambda invocation (built by hand: ``asdict`` deep-copies every
        option of every event, a tenth of the director's CPU over a thousand accounts)."""
        return {"run_id": self.run_id, "run_seq": self.run_seq,
                "account": self.account.to_doc(), "regions": self.regions,
                "collectors": self.collectors, "table": self.table, "role_name": self.role_name,
                "external_id": self.external_id, "ttl_days": self.ttl_days, "metrics": self.metrics,
                "scan_threads": self.scan_threads, **({"checks": self.checks} if self.checks else {})}

    @classmethod
    def from_dict(cls, data: Any) -> WorkerEvent:
        """Parse and check a payload; raise EventError naming the bad field."""
        if not isinstance(data, dict):
            raise EventError(f"worker event: expected a JSON object, got {type(data).__name__}")
        missing = [k for k in ("run_id", "run_seq", "account", "regions", "collectors", "table", "role_name")
                   if k not in data]
        if missing:
            raise EventError(f"worker event: missing {', '.join(missing)}")
        account = data["account"]
        if not (isinstance(account, dict) and isinstance(account.get("id"), str)
                and re.fullmatch(r"[0-9]{12}", account["id"])):
            raise EventError("worker event: account must be {id: 12-digit string, name: string}")
        ou = account.get("ou")
        if ou is not None and not (isinstance(ou, str) and ou):
            raise EventError("worker event: account.ou must be an organizational unit's path such as Root/Workloads")
        regions = data["regions"]
        if regions != "all" and not (isinstance(regions, list) and regions
                                     and all(isinstance(r, str) and r for r in regions)):
            raise EventError('worker event: regions must be "all" or a non-empty list of names')
        collectors = data["collectors"]
        if not (isinstance(collectors, dict) and all(isinstance(v, dict) for v in collectors.values())):
            raise EventError("worker event: collectors must map collector names to option objects")
        for key in ("run_id", "table", "role_name"):
            if not isinstance(data[key], str) or not data[key]:
                raise EventError(f"worker event: {key} must be a non-empty string")
        for key, default in (("run_seq", None), ("ttl_days", 7), ("scan_threads", DEFAULT_SCAN_THREADS)):
            value = data.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise EventError(f"worker event: {key} must be a positive whole number")
        metrics = data.get("metrics", {})
        if not isinstance(metrics, dict):
            raise EventError("worker event: metrics must be an object (the config's metrics section)")
        checks = data.get("checks", {})
        if not (isinstance(checks, dict) and all(isinstance(v, dict) for v in checks.values())):
            raise EventError("worker event: checks must map check names to definitions")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise EventError(f"worker event: unknown fields {sorted(unknown)}")
        return cls(
            run_id=data["run_id"],
            run_seq=data["run_seq"],
            account=Account(account["id"], str(account.get("name") or account["id"]), ou),
            regions=regions,
            collectors=collectors,
            table=data["table"],
            role_name=data["role_name"],
            external_id=data.get("external_id"),
            ttl_days=data.get("ttl_days", 7),
            metrics=metrics,
            scan_threads=data.get("scan_threads", DEFAULT_SCAN_THREADS),
            checks=checks,
        )


#: The key of a relay event: a batch of worker events the director hands to another of its own
#: instances, which invokes their workers (see runtime.invokers.Relay).
RELAY = "relay"


def relay_payload(events: list[bytes]) -> bytes:
    """A relay event from worker events already serialised as JSON."""
    return b'{"' + RELAY.encode() + b'": [' + b", ".join(events) + b"]}"


def relayed_events(data: dict[str, Any]) -> list[WorkerEvent] | None:
    """The worker events of a relay event, or None when ``data`` is not one (a scheduled run)."""
    if RELAY not in data:
        return None
    batch = data[RELAY]
    if not (isinstance(batch, list) and batch):
        raise EventError("relay event: relay must be a non-empty list of worker events")
    unknown = set(data) - {RELAY}
    if unknown:
        raise EventError(f"relay event: unknown fields {sorted(unknown)}")
    return [WorkerEvent.from_dict(event) for event in batch]


#: What a director event may name to run a subset (a trial run): ``{"accounts": [...], "plugins":
#: [...], "regions": [...]}``, each a list, as ``run --account/--plugin/--region`` take them.
SUBSET_FIELDS = ("accounts", "plugins", "regions")


def requested_subset(data: dict[str, Any]) -> Subset | None:
    """The subset a director event asks for, or None (a scheduled run: everything); EventError
    naming a field that is not a list of names."""
    if not any(key in data for key in SUBSET_FIELDS):
        return None
    for key in SUBSET_FIELDS:
        values = data.get(key, [])
        if not (isinstance(values, list) and all(isinstance(v, str) and v for v in values)):
            raise EventError(f"director event: {key} must be a list of names")
    bad = [a for a in data.get("accounts", []) if not re.fullmatch(r"[0-9]{12}", a)]
    if bad:
        raise EventError(f"director event: accounts must be 12-digit account ids, got {bad[0][:40]!r}")
    return Subset.of(data.get("accounts", []), data.get("plugins", []), data.get("regions", []))
