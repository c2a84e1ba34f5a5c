"""Helpers for the notifier tests: a table's history written the way the director, the workers and
the writer write it, through the store. Runs and each account's attempts get their numbers from
the table in the order of their run ids ("r0" < "r1" < "r2"), as they would had they happened so."""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from collector_core.collector import Account, Finding
from collector_core.config.load import parse_config
from collector_core.config.model import Config
from collector_core.findings import AccountState, RunRecord, iso
from collector_core.notify.channels import NotifySettings
from collector_core.plugins import Registry, load_plugins
from collector_core.results import AccountResult, Failure, Scan
from collector_core.store import Store

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
PROD = Account("111111111111", "prod")
SANDBOX = Account("222222222222", "sandbox")


@dataclass(frozen=True)
class Sighting:
    """A finding as some run's worker saw it."""

    finding: Finding
    plugin: str
    account: Account
    region: str
    run: str
    first_run: str | None
    first_seen: dt.datetime | None
    ttl_days: int
    now: dt.datetime


def finding(account: Account, region: str, plugin: str, resource: str, *, run: str,
            first_run: str | None = None, severity: str = "medium", summary: str | None = None,
            details: dict[str, Any] | None = None, first_seen: dt.datetime | None = None,
            ttl_days: int = 7, now: dt.datetime = NOW) -> Sighting:
    """A finding last seen by ``run`` (first seen by ``first_run``, at ``first_seen``)."""
    return Sighting(Finding(resource, summary or f"{resource} is a problem", severity, details or {}),
                    plugin, account, region, run, first_run, first_seen, ttl_days, now)


def account_run(account: Account, run: str, scanned_ok: list[tuple[str, str]], *,
                errors: list[Failure] | None = None, complete: bool = True) -> AccountResult:
    """An account's attempt in a run, as its worker records it."""
    result = AccountResult(run_id=run, account=account,
                           scans=[Scan(region=r, plugin=p, ok=True) for r, p in scanned_ok], complete=complete)
    for failure in errors or []:
        result.add_failure(failure)
    return result


@dataclass(frozen=True)
class RunStart:
    """A run as the director records it."""

    run_id: str
    accounts: list[str]
    started: dt.datetime


def run_record(run: str, accounts: list[Account], started: dt.datetime = NOW) -> RunStart:
    """The director's record of a run."""
    return RunStart(run, [a.id for a in accounts], started)


@dataclass
class History:
    """The numbers the table handed out while the history was written."""

    store: Store
    runs: dict[str, RunRecord] = field(default_factory=dict)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, run id) -> attempt

    def run_seq(self, run_id: str) -> int:
        return self.runs[run_id].run_seq


def write_history(store: Store, records: list[Any]) -> History:
    """Write runs, attempts and findings through the store, numbered in the order of their run ids."""
    history = History(store)
    for start in sorted((r for r in records if isinstance(r, RunStart)), key=lambda r: r.run_id):
        history.runs[start.run_id] = store.start_run(start.run_id, start.accounts, now=start.started, ttl_days=7,
                                                     deadline=start.started + dt.timedelta(hours=2))
    mentions = {(r.account.id, r.run_id) for r in records if isinstance(r, AccountResult)}
    mentions |= {(s.account.id, run) for s in records if isinstance(s, Sighting) for run in (s.run, s.first_run) if run}
    for account_id, run_id in sorted(mentions, key=lambda m: (m[1], m[0])):
        history.attempts[(account_id, run_id)] = store.next_attempt(account_id)
    for account in {r.account for r in records if isinstance(r, AccountResult | Sighting)}:
        store.register_account(account, now=NOW, ttl_days=7)
    for record in records:
        if isinstance(record, AccountResult):
            record.attempt = history.attempts[(record.account.id, record.run_id)]
            record.attempt_end = record.attempt
            run = history.runs.get(record.run_id)
            record.run_seq = run.run_seq if run else 0
            if run:
                store.record_attempt(record, collectors=[], now=NOW, ttl_days=7)
        elif isinstance(record, Sighting):
            first = history.attempts[(record.account.id, record.first_run or record.run)]
            item = Store.finding_item(record.finding, plugin=record.plugin, account=record.account,
                                      region=record.region, run_id=record.run,
                                      attempt=history.attempts[(record.account.id, record.run)], now=record.now,
                                      ttl_days=record.ttl_days,
                                      first_seen=(iso(record.first_seen or record.now), first))
            assert store.put_finding(item).stored
    return history


def table_with(records: list[Any], name: str = "notify-test") -> Store:
    """A findings table (moto, in-process: use inside `mocked_aws`) holding this history."""
    import boto3

    store = Store(name, boto3.client("dynamodb", region_name="us-east-1"))
    store.ensure_table()
    write_history(store, records)
    return store


_report_tables = itertools.count(1)


def report_of(records: list[Any], **options: Any) -> Any:
    """The report of the latest run over this history (moto in-process: use inside `mocked_aws`),
    from a table of its own."""
    from collector_core.notify.channels import report_from_table

    store = table_with(records, name=f"report-test-{next(_report_tables)}")
    registry = options.pop("registry", None) or Registry()  # summaries, not the built-ins' own lines
    return report_from_table(store, registry=registry, mutes=options.pop("mutes", ()),
                             now=options.pop("now", NOW), **options)


def states(store: Store) -> Iterator[AccountState]:
    """Every account's state in the table."""
    return store.account_states([a for a, _ in store.accounts()])


def config_with(notify: dict[str, Any] | None = None, mute: list[dict[str, Any]] | None = None) -> Config:
    """A validated config for the built-in collectors."""
    doc: dict[str, Any] = {"table": "notify-test", "accounts": [{"id": PROD.id, "name": PROD.name}]}
    if notify is not None:
        doc["notify"] = notify
    if mute is not None:
        doc["mute"] = mute
    return parse_config(doc, "test.yaml", load_plugins())


def channels(*, stdout: bool = False, **sections: Any) -> NotifySettings:
    """Notify settings from the config's shape of them (``slack={...}``, ``securityhub={}``...)."""
    return NotifySettings.from_doc({"stdout": stdout, **{k: v for k, v in sections.items() if v is not None}},
                                   load_plugins())


def page_data(page: str) -> Any:
    """The data an HTML report embeds for its script (the JSON in its report-data element)."""
    import json
    import re

    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match, "the page embeds no report data"
    return json.loads(match.group(1))
