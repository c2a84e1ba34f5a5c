"""Helpers for the notifier tests: table items built the way the worker and director store them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from collector_core.collector import Account, Finding
from collector_core.config.load import parse_config
from collector_core.config.model import Config
from collector_core.findings import TableContents, iso
from collector_core.notify.channels import NotifySettings
from collector_core.plugins import load_plugins
from collector_core.runtime.messages import AccountResult, Failure, Scan
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
    return Store.finding_item(Finding(resource, summary or f"{resource} is a problem", severity, details or {}),
                              plugin=plugin, account=account, region=region, run_id=run, now=now,
                              ttl_days=ttl_days, first_seen=first)


def account_run(account: Account, run: str, scanned_ok: list[tuple[str, str]], *,
                errors: list[Failure] | None = None, complete: bool = True) -> AccountResult:
    """An account's result as its worker records it."""
    return AccountResult(run_id=run, account=account,
                         scans=[Scan(region=r, plugin=p, ok=True) for r, p in scanned_ok],
                         errors=errors or [], complete=complete)


@dataclass(frozen=True)
class RunStart:
    """A run as the director records it."""

    run_id: str
    accounts: list[str]
    started: dt.datetime


def run_record(run: str, accounts: list[Account], started: dt.datetime = NOW) -> RunStart:
    """The director's record of a run."""
    return RunStart(run, [a.id for a in accounts], started)


def table_with(records: list[Any], name: str = "notify-test") -> Store:
    """A findings table (moto, in-process: use inside `mocked_aws`) holding these records, each
    written through the store as the director (RunStart), a worker (AccountResult) or the writer
    (a finding item) writes it."""
    import boto3

    store = Store(name, boto3.client("dynamodb", region_name="us-east-1"))
    store.ensure_table()
    for record in records:
        if isinstance(record, RunStart):
            store.start_run(record.run_id, record.accounts, now=record.started, ttl_days=7)
        elif isinstance(record, AccountResult):
            store.record_account(record.to_dict(), now=NOW, ttl_days=7)
        else:
            assert not store.write_batch([record])
    return store


def config_with(notify: dict[str, Any] | None = None, mute: list[dict[str, Any]] | None = None) -> Config:
    """A validated config for the built-in collectors."""
    doc: dict[str, Any] = {"table": "notify-test", "accounts": [{"id": PROD.id, "name": PROD.name}]}
    if notify is not None:
        doc["notify"] = notify
    if mute is not None:
        doc["mute"] = mute
    return parse_config(doc, "test.yaml", load_plugins())


def contents(records: list[Any]) -> TableContents:
    """What a reader gets from a table holding these records (written and read through the store)."""
    from moto import mock_aws

    with mock_aws():
        return table_with(records, name="contents").read()


def channels(*, stdout: bool = False, slack: dict[str, Any] | None = None,
             email: dict[str, Any] | None = None) -> NotifySettings:
    """Notify settings from the config's shape of them."""
    return NotifySettings.from_doc({"stdout": stdout, **({"slack": slack} if slack else {}),
                                    **({"email": email} if email else {})})
