"""Findings as the runtime stores and reads them: validation, the stored item, and resolution.

A finding is *current* while its TTL has not passed and it has not been resolved. It is resolved
when its account's latest run scanned the same (region, plugin) successfully and did not see it;
a failed or missing scan resolves nothing, so a broken region never hides old findings.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping
from typing import Any

from collector_core.collector import SEVERITIES, Account, Finding
from collector_core.store import MAX_ITEM_BYTES, SCHEMA_FIELDS, finding_key, item_size

#: Leave room under DynamoDB's 400 KB item limit for keys and the other attributes.
MAX_DETAILS_BYTES = 300 * 1024


class BadFinding(ValueError):
    """A collector yielded something that is not a valid finding; only that finding is dropped."""


def normalise(raw: Any) -> Finding:
    """A Finding from what a collector yielded (a Finding or a mapping), or BadFinding."""
    if isinstance(raw, Finding):
        fields = dataclasses.asdict(raw)
    elif isinstance(raw, Mapping):
        fields = dict(raw)
        unknown = set(fields) - {"resource_id", "summary", "severity", "details"}
        if unknown:
            raise BadFinding(f"unknown finding keys {sorted(unknown)}")
    else:
        raise BadFinding(f"expected a Finding or a mapping, got {type(raw).__name__}")
    resource_id, summary = fields.get("resource_id"), fields.get("summary")
    if not isinstance(resource_id, str) or not resource_id:
        raise BadFinding(f"resource_id must be a non-empty string, got {resource_id!r:.80}")
    if not isinstance(summary, str) or not summary:
        raise BadFinding(f"{resource_id}: summary must be a non-empty string")
    severity = fields.get("severity", "medium")
    if severity not in SEVERITIES:
        raise BadFinding(f"{resource_id}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r:.40}")
    details = fields.get("details") or {}
    if not isinstance(details, Mapping):
        raise BadFinding(f"{resource_id}: details must be a mapping, got {type(details).__name__}")
    try:
        encoded = json.dumps(details, default=_jsonable, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadFinding(f"{resource_id}: details are not JSON: {exc}") from None
    if len(encoded.encode()) > MAX_DETAILS_BYTES:
        raise BadFinding(f"{resource_id}: details are {len(encoded.encode())} bytes; at most {MAX_DETAILS_BYTES}")
    return Finding(resource_id=resource_id, summary=summary.splitlines()[0][:1000],
                   severity=severity, details=json.loads(encoded))


def to_item(
    finding: Finding,
    *,
    plugin: str,
    account: Account,
    region: str,
    run_id: str,
    now: dt.datetime,
    ttl_days: int,
    first_seen: tuple[str, str] | None,
) -> dict[str, Any]:
    """The DynamoDB item of a finding; ``first_seen`` is (time, run) if it was stored before."""
    seen = iso(now)
    first_time, first_run = first_seen or (seen, run_id)
    item = {
        **finding_key(account.id, region, plugin, finding.resource_id),
        "kind": "finding",
        "plugin": plugin,
        "account_id": account.id,
        "account_name": account.name,
        "region": region,
        "resource_id": finding.resource_id,
        "severity": finding.severity,
        "summary": finding.summary,
        "details": dict(finding.details),
        "run_id": run_id,
        "first_seen": first_time or seen,
        "first_run": first_run or run_id,
        "last_seen": seen,
        "ttl": int(now.timestamp()) + ttl_days * 86400,
    }
    if item_size(item) > MAX_ITEM_BYTES:
        raise BadFinding(f"{finding.resource_id}: item is over DynamoDB's 400 KB limit")
    return item


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored finding item in the public finding schema."""
    out = {k: item.get(k) for k in SCHEMA_FIELDS}
    if isinstance(out["details"], str):
        out["details"] = json.loads(out["details"])
    return out


def current_findings(items: Iterable[Mapping[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """Unexpired, unresolved findings from a table scan (findings plus account run records)."""
    findings, latest = split_items(items, now)
    return [
        from_item(f) for f in findings
        if not is_resolved(f, latest.get(f["account_id"]))
    ]


def split_items(
    items: Iterable[Mapping[str, Any]], now: dt.datetime
) -> tuple[list[Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    """Unexpired finding items, and each account's latest run record."""
    epoch = int(now.timestamp())
    findings: list[Mapping[str, Any]] = []
    latest: dict[str, Mapping[str, Any]] = {}
    for item in items:
        kind = item.get("kind")
        if kind == "finding" and int(item.get("ttl", 0)) > epoch:
            findings.append(item)
        elif kind == "account_run":
            current = latest.get(item["account_id"])
            if current is None or item["run_id"] > current["run_id"]:
                latest[item["account_id"]] = item
    findings.sort(key=lambda f: (f["plugin"], f["account_id"], f["region"], f["resource_id"]))
    return findings, latest


def is_resolved(finding: Mapping[str, Any], account_run: Mapping[str, Any] | None) -> bool:
    """Seen before the account's latest run, which scanned its region and plugin successfully."""
    if account_run is None or finding["run_id"] >= account_run["run_id"]:
        return False
    scanned = json.loads(account_run["result"]).get("scanned_ok", [])
    return [finding["region"], finding["plugin"]] in scanned


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with a Z, to the second."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
