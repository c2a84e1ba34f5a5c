"""The ``notify:`` section, and sending one report to every channel it names.

``notify`` is the plain function behind ``aws-collector notify``, ``run`` with
``notify.on_run_complete`` and the notifier Lambda; ``notify_run_complete`` is the once-per-run
variant the last worker of a run triggers. A run's report also leaves its summary in the history
(notify/history.py), before any channel, so the HTML page it links to already charts that run.
"""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from collector_core.aws.clients import Clients
from collector_core.errors import describe
from collector_core.logs import get_logger
from collector_core.notify import email, history, securityhub, slack, text
from collector_core.notify import html as html_channel
from collector_core.notify.build import build_report
from collector_core.notify.mutes import Mute
from collector_core.notify.report import Report, RunNotStarted
from collector_core.plugins import Registry
from collector_core.schema import BOOLEAN, Schema, mapping
from collector_core.store import Store


def schema() -> Schema:
    """The ``notify`` section: each channel brings its own part."""
    return mapping(
        {"slack": slack.SCHEMA, "email": email.schema(), "securityhub": securityhub.schema(),
         "html": html_channel.schema(),
         "stdout": {**BOOLEAN, "description": "print the report (default: only when no other channel is set)"},
         "on_run_complete": {**BOOLEAN, "description": "send the report when a run completes (default: with a "
                                                       "notify section)"}},
        "a mapping with slack, email, securityhub, html, stdout and on_run_complete",
        description="where each run's report goes",
    )


@dataclass(frozen=True)
class NotifySettings:
    """Where reports go, and whether a finished run sends one."""

    slack: slack.SlackSettings | None = None
    email: email.EmailSettings | None = None
    securityhub: securityhub.SecurityHubSettings | None = None
    html: html_channel.HtmlSettings | None = None  # the page on S3, linked from Slack and email
    stdout: bool | None = None  # unset: print when no other channel is set
    on_run_complete: bool | None = None  # unset: when the config has a notify section

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> NotifySettings:
        """The validated section ({} when the config has none)."""
        return cls(
            slack=slack.SlackSettings.from_doc(doc["slack"]) if doc.get("slack") else None,
            email=email.EmailSettings.from_doc(doc["email"]) if doc.get("email") else None,
            # `securityhub: {}` turns the channel on: every key of it is optional
            securityhub=securityhub.SecurityHubSettings.from_doc(doc["securityhub"]) if "securityhub" in doc else None,
            html=html_channel.HtmlSettings.from_doc(doc["html"]) if doc.get("html") else None,
            stdout=doc.get("stdout"),
            on_run_complete=doc.get("on_run_complete", bool(doc)),
        )

    @property
    def prints(self) -> bool:
        """Whether the report goes to standard output."""
        return self.stdout if self.stdout is not None else not (self.slack or self.email or self.securityhub
                                                                 or self.html)


@dataclass
class NotifyResult:
    """The report that was built and what each channel made of it."""

    report: Report
    sent: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (channel, error)

    @property
    def ok(self) -> bool:
        """True when every channel delivered."""
        return not self.failures


#: Runs read back to find the latest that started, and those that never did since the one before.
RECENT_RUNS = 10


def report_from_table(store: Store, *, registry: Registry, mutes: Sequence[Mute], now: dt.datetime,
                      run_seq: int | None = None) -> Report:
    """The report as of a run (default: the latest that started), read one account at a time; runs
    that never started since the one before it are named."""
    recent = store.runs(limit=RECENT_RUNS)
    runs = [r for r in [store.run(run_seq)] if r] if run_seq is not None else [r for r in recent if not r.failed]
    run = runs[0] if runs else None
    earlier = store.runs(limit=RECENT_RUNS, before=run.run_seq) if run else []
    previous = next((r for r in earlier if not r.failed), None)
    names = dict(store.accounts())
    accounts = sorted(set(names) | set(run.accounts if run else ()))
    report = build_report(store.account_states(accounts), now=now, run=run, previous=previous, registry=registry,
                          mutes=mutes, names=names)
    since = previous.run_seq if previous else 0
    report.not_started = [RunNotStarted(r.run_id, r.started, str(r.failed)) for r in sorted(
        {r.run_seq: r for r in [*recent, *earlier]}.values(), key=lambda r: r.run_seq)
        if r.failed and r.run_seq > since]
    return report


def notify(
    settings: NotifySettings,
    *,
    mutes: Sequence[Mute],
    registry: Registry,
    store: Store,
    clients: Clients,
    run_seq: int | None = None,
    now: dt.datetime | None = None,
    out: IO[str] | None = None,
    history_days: int = history.DEFAULT_HISTORY_DAYS,
) -> NotifyResult:
    """Read the table, build the report and send it to every channel; one failing channel does not
    stop the others. A run's report (``run_seq``) first keeps the run's summary in the history.
    Raises only when the table cannot be read."""
    now = now or dt.datetime.now(dt.UTC)
    log = get_logger(run_seq=run_seq)
    report = report_from_table(store, registry=registry, mutes=mutes, now=now, run_seq=run_seq)
    mark_muted(store, report, log)
    if run_seq is not None:
        try:
            history.record(store, report, days=history_days)
        except Exception as exc:  # the chart loses a point; the report still goes out
            log.warning("history_not_recorded", error=describe(exc))
    result = NotifyResult(report)
    links: list[str] = []  # the page's link, once the html channel has published it
    send: dict[str, Callable[[], None]] = {}  # in order: the page first, so Slack and email can link it
    if settings.html:
        html_settings = settings.html
        send["html"] = lambda: links.append(html_channel.publish(
            report, store.history(html_channel.HISTORY_RUNS), html_settings, clients=clients))
    if settings.prints:
        send["stdout"] = lambda: _print(report, out or sys.stdout)
    if settings.slack:
        slack_settings = settings.slack
        send["slack"] = lambda: slack.send(report, slack_settings, clients=clients, link=next(iter(links), None))
    if settings.email:
        email_settings = settings.email
        send["email"] = lambda: email.send(report, email_settings, clients=clients, link=next(iter(links), None))
    if settings.securityhub:
        hub_settings = settings.securityhub
        send["securityhub"] = lambda: securityhub.send(report, hub_settings, clients=clients, registry=registry)
    for name, deliver in send.items():
        try:
            deliver()
        except Exception as exc:  # a channel's failure is reported, never swallowed nor fatal to others
            message = describe(exc)
            result.failures.append((name, message))
            log.error("notify_channel_failed", channel=name, error=message)
        else:
            result.sent.append(name)
    log.info("notified", sent=result.sent, failed=[c for c, _ in result.failures],
             open=report.open, new=report.new, resolved=report.resolved)
    return result


def _print(report: Report, out: IO[str]) -> None:
    for line in text.lines(report):
        out.write(line + "\n")
    out.flush()


def notify_run_complete(
    run_seq: int, settings: NotifySettings, *, mutes: Sequence[Mute], registry: Registry, store: Store,
    clients: Clients, out: IO[str] | None = None, now: dt.datetime | None = None,
    history_days: int = history.DEFAULT_HISTORY_DAYS,
) -> NotifyResult | None:
    """Send a run's report if nobody has yet: the once-per-run entry point (CLI and Lambda)."""
    now = now or dt.datetime.now(dt.UTC)
    if not store.claim_report(run_seq, now):
        get_logger(run_seq=run_seq).info("notify_skipped", reason="already sent for this run")
        return None
    result = notify(settings, mutes=mutes, registry=registry, store=store, clients=clients, run_seq=run_seq,
                    now=now, out=out, history_days=history_days)
    store.report_sent(run_seq)
    return result


def record_run(run_seq: int, *, mutes: Sequence[Mute], registry: Registry, store: Store,
               history_days: int = history.DEFAULT_HISTORY_DAYS, now: dt.datetime | None = None) -> bool:
    """Keep a completed run's summary in the history when no report of it goes out (``run`` with
    ``notify.on_run_complete`` off): True if this call wrote it."""
    report = report_from_table(store, registry=registry, mutes=mutes, now=now or dt.datetime.now(dt.UTC),
                               run_seq=run_seq)
    return history.record(store, report, days=history_days)


def mark_muted(store: Store, report: Report, log: Any) -> None:
    """Keep the table's ``muted`` mark in step with the mutes; only changes are written."""
    for entry, reason in report.mute_changes:
        finding = {"account_id": entry.account_id, "region": entry.region, "plugin": entry.plugin,
                   "resource_id": entry.resource_id}
        try:
            store.mark_muted(finding, reason)
        except Exception as exc:  # the mark is a courtesy to table readers; the report stands
            log.warning("mute_mark_failed", resource=entry.resource_id, error=type(exc).__name__)


def run_notifier(
    settings: NotifySettings, *, mutes: Sequence[Mute], registry: Registry, store: Store, clients: Clients,
    run_seq: int | None = None, history_days: int = history.DEFAULT_HISTORY_DAYS,
) -> dict[str, Any]:
    """The notifier Lambda's work, JSON-ready: a run's report once (given ``run_seq``, as the last
    worker's trigger does), else the current report (a schedule). Channel failures are returned
    rather than raised: Lambda's retry would find the run's report already claimed."""
    if run_seq is not None:
        result = notify_run_complete(run_seq, settings, mutes=mutes, registry=registry, store=store, clients=clients,
                                     history_days=history_days)
    else:
        result = notify(settings, mutes=mutes, registry=registry, store=store, clients=clients)
    if result is None:
        return {"run_seq": run_seq, "sent": [], "failures": [], "skipped": "already sent for this run"}
    report = result.report
    return {
        "run_id": report.run_id,
        "run_seq": report.run_seq,
        "sent": result.sent,
        "failures": [{"channel": c, "error": e} for c, e in result.failures],
        "open": report.open, "new": report.new, "resolved": report.resolved, "muted": report.muted,
        "incomplete_accounts": [p.account_id for p in report.problems],
    }
