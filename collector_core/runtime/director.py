"""The director: decide which accounts run, with which regions and collectors, and fan out.

It never touches a member account: region discovery ("all") happens in each worker, which holds
that account's credentials anyway, so the director's cost stays one call per account.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from collector_core.aws.clients import Clients
from collector_core.collector import Account
from collector_core.errors import describe
from collector_core.findings import RunRecord
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.results import AccountResult, Status
from collector_core.runtime import organization
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.planning import AccountPlan, RunConfig, Subset, plan_accounts
from collector_core.store import Store


class Invoker(Protocol):
    """Runs one worker per event: in this process, or as asynchronous Lambda invocations."""

    def invoke(self, events: list[WorkerEvent]) -> list[AccountResult] | None:
        """Start every event; return the results when they ran here, None when they run elsewhere."""


@dataclass
class RunResult:
    """A run as the director sees it."""

    run_id: str
    run_seq: int
    events: list[WorkerEvent]
    results: list[AccountResult] | None = None  # None: workers run elsewhere (Lambda)
    errors: list[str] = field(default_factory=list)
    subset: Subset | None = None  # the filters of a subset run

    @property
    def failed(self) -> bool:
        """True when anything failed that the run can see."""
        return bool(self.errors) or any(r.status != Status.OK for r in self.results or [])


#: How long after its start a run may be closed by the sweep if accounts are still silent: a worker
#: event may wait in Lambda's queue up to an hour (maximumEventAge) and run twice (one retry) for
#: up to 15 minutes each. serverless.yml derives RUN_DEADLINE_SECONDS from the same settings.
DEFAULT_DEADLINE_SECONDS = 3600 + 2 * 900 + 300


def new_run_id(now: dt.datetime | None = None) -> str:
    """A name for a run a person can read: its start time (UTC, to the microsecond) and a random
    suffix. Runs are ordered by ``run_seq``, which the table hands out, never by this name."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{secrets.token_hex(3)}"


def record_not_started(store: Store, error: BaseException, *, now: dt.datetime, ttl_days: int,
                       run_id: str | None = None) -> RunRecord:
    """Record a run that could not start, and why (``Code: message``), so the next report and the
    HTML page name it; the caller still fails, for Lambda's error count and the alarms."""
    run = store.record_failed_run(run_id or new_run_id(now), describe(error), now=now, ttl_days=ttl_days)
    get_logger(run=run.run_id).error("run_not_started", run_seq=run.run_seq, error=run.failed)
    return run


def resolve_accounts(config: RunConfig, clients: Clients) -> list[Account]:
    """Accounts to run: the config's list, or the organization's (runtime.organization says which),
    each with its organizational unit's path."""
    accounts = config.configured_accounts()
    settings = config.organization
    if settings.enabled:
        accounts = organization.select(organization.list_organization(settings, clients), settings, accounts)
    return sorted({a.id: a for a in accounts if a.id not in settings.exclude}.values(), key=lambda a: a.id)


def worker_events(config: RunConfig, plans: Iterable[AccountPlan], run_id: str, run_seq: int) -> list[WorkerEvent]:
    """The event of each account's plan, with what every worker needs from the config."""
    metrics = config.metrics.to_doc()
    checks = {check.name: check.to_doc() for check in config.checks}
    return [
        WorkerEvent(
            run_id=run_id,
            run_seq=run_seq,
            account=plan.account,
            regions=plan.regions,
            collectors=plan.collectors,
            table=config.table,
            role_name=config.role_name,
            external_id=config.external_id,
            ttl_days=config.ttl_days,
            metrics=metrics,
            scan_threads=config.scan_threads,
            checks={name: checks[name] for name in plan.collectors if name in checks},
        )
        for plan in plans
    ]


def run(
    config: RunConfig,
    registry: Registry,
    invoker: Invoker,
    *,
    clients: Clients,
    store: Store,
    run_id: str | None = None,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    subset: Subset | None = None,
) -> RunResult:
    """Resolve accounts, plan them (narrowed to ``subset``: SubsetError before anything is
    recorded if it selects nothing), record the run, and hand one event per account to the invoker."""
    now = dt.datetime.now(dt.timezone.utc)
    run_id = run_id or new_run_id(now)
    log = get_logger(run=run_id)
    plans = plan_accounts(config, registry, resolve_accounts(config, clients), subset)
    run = store.start_run(run_id, [p.account.id for p in plans], now=now, ttl_days=config.ttl_days,
                          deadline=now + dt.timedelta(seconds=deadline_seconds))
    events = worker_events(config, plans, run_id, run.run_seq)
    log.info("run_started", accounts=len(events), run_seq=run.run_seq, subset=subset.describe() if subset else None)
    results = invoker.invoke(events)
    return RunResult(run_id=run_id, run_seq=run.run_seq, events=events, results=results, subset=subset or None)
