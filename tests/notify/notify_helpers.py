"""Helpers for the notifier tests: table items built the way the worker and director store them."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from collector_core.collector import Account, Finding
from collector_core.config import Config, parse_config
from collector_core.events import AccountResult, Scan, ScanError
from collector_core.findings import iso, to_item
from collector_core.plugins import load_plugins
from collector_core.store import Store

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
PROD = Account("111111111111", "prod")
SANDBOX = Account("222222222222", "sandbox")


def finding(account: Account, region: str, plugin: str, resource: str, *, run: str,
            first_run: str | None = None, severity: str = "medium", summary: str | None = None,
            details: dict[str, Any] | None = None, first_seen: dt.datetime | None = None,
            ttl_days: int = 7, now: dt.datetime = NOW) -> dict[str, Any]:
    """A finding item exactly as the worker writes it."""
    first = (iso(first_seen or now), first_run or run) if first_seen or first_run else None
    return to_item(Finding(resource, summary or f"{resource} is a problem", severity, details or {}),
                   plugin=plugin, account=account, region=region, run_id=run, now=now,
                   ttl_days=ttl_days, first_seen=first)


def account_run(account: Account, run: str, scanned_ok: list[tuple[str, str]], *,
                errors: list[ScanError] | None = None, complete: bool = True) -> dict[str, Any]:
    """An account's run record as the worker stores it."""
    result = AccountResult(run_id=run, account=account,
                           scans=[Scan(region=r, plugin=p, ok=True) for r, p in scanned_ok],
                           errors=errors or [], complete=complete)
    return {"pk": f"ACCOUNT#{account.id}", "sk": run, "kind": "account_run", "account_id": account.id,
            "run_id": run, "status": result.status, "result": json.dumps(result.to_dict()),
            "ttl": int(NOW.timestamp()) + 7 * 86400}


def run_record(run: str, accounts: list[Account], started: dt.datetime = NOW) -> dict[str, Any]:
    """The director's run record (its account list is stored as JSON, as Store.put does)."""
    return {"pk": "RUN", "sk": run, "kind": "run", "run_id": run, "started": iso(started),
            "expected": len(accounts), "accounts": json.dumps([a.id for a in accounts])}



def table_with(items: list[dict[str, Any]], name: str = "notify-test") -> Store:
    """A findings table (moto, in-process: use inside `mocked_aws`) holding these items."""
    import boto3

    store = Store(name, boto3.client("dynamodb", region_name="us-east-1"))
    store.ensure_table()
    for item in items:
        store.put(item)
    return store


def config_with(notify: dict[str, Any] | None = None, mute: list[dict[str, Any]] | None = None) -> Config:
    """A validated config for the built-in collectors."""
    doc: dict[str, Any] = {"table": "notify-test", "accounts": [{"id": PROD.id, "name": PROD.name}]}
    if notify is not None:
        doc["notify"] = notify
    if mute is not None:
        doc["mute"] = mute
    return parse_config(doc, "test.yaml", load_plugins())
