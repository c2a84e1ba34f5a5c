"""Run completion that cannot be lost: every account of a run ends up recorded, and the run reported.

A run normally completes when its last account's worker records itself. A worker can also die
(killed for memory, a hard timeout, an event too old to run, a relay that crashed): Lambda then
puts the event in the failed-invocations queue, and ``record_lost`` records its accounts as
failed, with the reason. Whatever is still silent when a run passes its deadline is recorded
"never reported" by ``close_overdue``. Every path counts an account once (the store's done
marker), and the report is claimed once, so each run gets exactly one report.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.collector import Account
from collector_core.findings import RunRecord
from collector_core.logs import get_logger
from collector_core.results import Status
from collector_core.runtime.events import EventError, WorkerEvent, relayed_events
from collector_core.store import Store


@dataclass(frozen=True)
class FailedInvocation:
    """A failed-invocation destination record: which function Lambda gave up on and why, and the
    worker events it carried (a relay's whole batch; none for the director's or notifier's own event)."""

    function: str  # the function's name, from requestContext.functionArn
    condition: str  # RetriesExhausted, EventAgeExceeded...
    said: str  # what the function said as it failed (``errorType: errorMessage``), or what the condition means
    attempts: str
    events: list[WorkerEvent]

    @property
    def reason(self) -> tuple[str, str]:
        """(condition, why) as each lost account's record says it."""
        return self.condition, f"the worker was lost ({self.said}); Lambda gave up after {self.attempts} attempt(s)"


def failed_invocation(record: Mapping[str, Any]) -> FailedInvocation:
    """What a failed-invocation record says; EventError if it is not one, or its worker events are malformed."""
    payload = record.get("requestPayload")
    if isinstance(payload, str):
        payload = json.loads(payload)
    if not isinstance(payload, dict):
        raise EventError("failed invocation: requestPayload is not a JSON object")
    context = record.get("requestContext") or {}
    condition = str(context.get("condition") or "InvocationFailed")
    response = record.get("responsePayload") or {}
    said = ": ".join(str(response[k]) for k in ("errorType", "errorMessage") if isinstance(response, dict)
                     and response.get(k))
    said = said or {"EventAgeExceeded": "the event waited longer than the function's maximum event age",
                    "RetriesExhausted": "the function failed on every attempt"}.get(condition, condition)
    relayed = relayed_events(payload)
    # A worker's event names its account; the director's schedule and the notifier's events name none.
    events = relayed if relayed is not None else [WorkerEvent.from_dict(payload)] if "account" in payload else []
    function = str(context.get("functionArn") or "").split(":function:")[-1].split(":")[0] or "unknown"
    return FailedInvocation(function, condition, said, str(context.get("approximateInvokeCount", "?")), events)


def record_lost(store: Store, events: list[WorkerEvent], reason: tuple[str, str], *,
                now: dt.datetime) -> list[RunRecord]:
    """Record each event's account failed in its run (unless it was counted already); the runs this completed."""
    completed = []
    for event in events:
        run = RunRecord(event.run_id, event.run_seq, started="")
        progress = store.record_absent(run, event.account, Status.FAILED, reason, now=now, ttl_days=event.ttl_days)
        get_logger(account=event.account.id, run=event.run_id).warning(
            "worker_lost", condition=reason[0], recorded=progress is not None)
        if progress and progress.complete:
            completed.append(run)
    return completed


def close_overdue(store: Store, *, now: dt.datetime, ttl_days: int) -> list[RunRecord]:
    """Record every account still silent in a run past its deadline as never reported; the
    overdue runs whose report has not gone out (each is then reported, once)."""
    overdue = [r for r in store.unreported_runs() if r.deadline and r.deadline < now.timestamp()]
    known = {a.id: a for a in store.indexed_accounts()} if overdue else {}
    for run in overdue:
        silent = sorted(set(run.accounts) - store.counted(run.run_seq, list(run.accounts)))
        for account_id in silent:
            store.record_absent(run, known.get(account_id, Account(account_id, account_id)), Status.NEVER_REPORTED,
                                ("NeverReported", "no result before the run's deadline; its findings stay open"),
                                now=now, ttl_days=ttl_days)
        get_logger(run=run.run_id).warning("run_closed_at_deadline", silent=len(silent))
    return overdue
