"""The ``notify:`` section, and sending one report to every channel it names.

``notify`` is the plain function behind ``aws-collector notify``, ``run`` with
``notify.on_run_complete`` and the notifier Lambda; ``notify_run_complete`` is the once-per-run
variant the last worker of a run triggers. A run's report also leaves its summary in the history
(notify/history.py), before any channel, so the HTML page it links to already charts that run.
"""
from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from collector_core.aws.clients import Clients
from collector_core.channel import RESERVED_NAMES, Channel, ChannelContext
from collector_core.documents.schema import BOOLEAN, Schema, mapping
from collector_core.errors import describe
from collector_core.logs import get_logger
from collector_core.notify import history
from collector_core.notify import routes as routing
from collector_core.notify.build import Reports, build_reports
from collector_core.notify.mutes import Mute
from collector_core.notify.report import Report, RunNotStarted
from collector_core.notify.routes import Route
from collector_core.plugins import Registry
from collector_core.store import Store


def schema(registry: Registry) -> Schema:
    """The ``notify`` section, assembled from the registered channels: each brings its own part."""
    names = sorted(registry.channels)
    # A channel's summary describes its section where its schema does not (docs/config.md shows it).
    properties = {name: {"description": channel.summary, **channel.schema}
                  for name, channel in ((n, registry.channels[n].channel) for n in names)}
    on_run_complete = {**BOOLEAN, "description": "send the report when a run completes (default: with a notify "
                                                 "section)"}
    default = {"enum": list(routing.DEFAULTS), "expected": "all or unmatched",
               "description": "what the channels above get: every finding (all, the default) or only those no "
                              "route matched (unmatched)"}
    return mapping({**properties, "on_run_complete": on_run_complete, "default": default,
                    "routes": routing.schema(properties)},
                   f"a mapping of channels ({', '.join(names) or 'none installed'}), on_run_complete, default "
                   "and routes",
                   description="where each run's report goes: each installed channel's section")


@dataclass(frozen=True)
class ChannelSettings:
    """One channel the config turns on: its section as written and the settings built from it."""

    channel: Channel
    section: Any  # the validated section, as the config wrote it
    settings: Any  # what channel.settings made of it: what send receives
    where: str  # the section's key path, for messages: "notify.slack"

    @property
    def name(self) -> str:
        """The channel's name."""
        return self.channel.name

    @classmethod
    def of(cls, channel: Channel, section: Any, where: str = "notify") -> ChannelSettings:
        """A channel turned on by ``section`` (validated against its schema) under ``where``."""
        return cls(channel, section, channel.settings(section), f"{where}.{channel.name}")


@dataclass(frozen=True)
class NotifySettings:
    """Where reports go, and whether a finished run sends one."""

    channels: tuple[ChannelSettings, ...] = ()  # in the config's order; the page publishers go first
    on_run_complete: bool = False  # default: when the config has a notify section
    routes: tuple[Route, ...] = ()  # teams' own reports, each through its own channels
    unmatched_only: bool = False  # ``default: unmatched``: the channels above get what no route matched

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], registry: Registry, where: str = "notify") -> NotifySettings:
        """The validated section ({} when the config has none): a channel whose section is there
        and not false is on; with none on, the fallback channels (stdout) whose key is absent."""
        known = {name: r.channel for name, r in registry.channels.items()}

        def turned_on(section: Mapping[str, Any], where: str) -> list[ChannelSettings]:
            return [ChannelSettings.of(known[key], value, where) for key, value in section.items()
                    if key not in RESERVED_NAMES and key in known and value is not False and value is not None]

        on = turned_on(doc, where)
        routes = routing.from_doc(doc.get("routes", ()), turned_on)
        if not on and not routes:
            on = [ChannelSettings.of(c, True, where) for name, c in sorted(known.items())
                  if c.fallback and name not in doc]
        return cls(tuple(on), on_run_complete=doc.get("on_run_complete", bool(doc)), routes=routes,
                   unmatched_only=doc.get("default") == "unmatched")

    def route(self, name: str) -> Route | None:
        """The route called ``name``, if the config has one."""
        return next((r for r in self.routes if r.name == name), None)

    def get(self, name: str) -> ChannelSettings | None:
        """The channel called ``name``, if the config turns it on."""
        return next((c for c in self.channels if c.name == name), None)

    @property
    def names(self) -> list[str]:
        """The channels turned on, in the order they are sent."""
        return [c.name for c in _in_order(self.channels)]


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
    """The whole report as of a run (default: the latest that started); see reports_from_table."""
    return reports_from_table(store, registry=registry, mutes=mutes, now=now, run_seq=run_seq).full


def reports_from_table(store: Store, *, registry: Registry, mutes: Sequence[Mute], now: dt.datetime,
                       run_seq: int | None = None, routes: Sequence[Route] = (),
                       unmatched_only: bool = False) -> Reports:
    """The reports as of a run (default: the latest that started), read one account at a time in one
    pass, each route's filtered as it is read; runs that never started since the one before it are named."""
    recent = store.runs(limit=RECENT_RUNS)
    runs = [r for r in [store.run(run_seq)] if r] if run_seq is not None else [r for r in recent if not r.failed]
    run = runs[0] if runs else None
    earlier = store.runs(limit=RECENT_RUNS, before=run.run_seq) if run else []
    previous = next((r for r in earlier if not r.failed), None)
    indexed = store.indexed_accounts()
    names = {a.id: a.name for a in indexed}
    accounts = sorted(set(names) | set(run.accounts if run else ()))
    reports = build_reports(store.account_states(accounts), now=now, run=run, previous=previous, registry=registry,
                            mutes=mutes, names=names, routes=routes, unmatched_only=unmatched_only,
                            ous={a.id: a.ou for a in indexed})
    since = previous.run_seq if previous else 0
    not_started = [RunNotStarted(r.run_id, r.started, str(r.failed)) for r in sorted(
        {r.run_seq: r for r in [*recent, *earlier]}.values(), key=lambda r: r.run_seq)
        if r.failed and r.run_seq > since]
    for report in {id(r): r for r in [reports.full, reports.default, *reports.routes.values()]}.values():
        report.not_started = list(not_started)
    return reports


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
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> NotifyResult:
    """Read the table, build the reports and send each to its channels: the top-level channels, then
    each route's; one failing channel does not stop the others. A run's report (``run_seq``) first
    keeps the run's summary in the history. Raises only when the table cannot be read. ``sleep`` and
    ``clock`` pace the channels (tests pass their own)."""
    now = now or dt.datetime.now(dt.UTC)
    log = get_logger(run_seq=run_seq)
    reports = reports_from_table(store, registry=registry, mutes=mutes, now=now, run_seq=run_seq,
                                 routes=settings.routes, unmatched_only=settings.unmatched_only)
    report = reports.full
    mark_muted(store, report, log)
    if run_seq is not None:
        try:
            history.record(store, report, days=history_days)
        except Exception as exc:  # the chart loses a point; the report still goes out
            log.warning("history_not_recorded", error=describe(exc))
    result = NotifyResult(report)
    collectors = {name: registry[name] for name in registry.names()}
    # The page a top-level channel publishes holds every finding (``default: unmatched`` too): the
    # routes link it opened on their own (?route=NAME); a route's own publisher publishes its findings.
    link = _send(reports.default, settings.channels, result, "", None, collectors, now, out, clients, sleep, clock,
                 log, store, page=reports.full)
    for route in settings.routes:
        _send(reports.routes[route.name], route.channels, result, f"route {route.name}: ",
              route_link(link, route.name), collectors, now, out, clients, sleep, clock, log, store)
    log.info("notified", sent=result.sent, failed=[c for c, _ in result.failures],
             open=report.open, new=report.new, resolved=report.resolved,
             routes={name: r.open for name, r in reports.routes.items()})
    return result


def _send(report: Report, channels: Sequence[ChannelSettings], result: NotifyResult, label: str, link: str | None,
          collectors: Mapping[str, Any], now: dt.datetime, out: IO[str] | None, clients: Clients,
          sleep: Callable[[float], None], clock: Callable[[], float], log: Any, store: Store,
          page: Report | None = None) -> str | None:
    """Send one report to its channels, page publishers first (they publish ``page``, if given); the
    page's link, if one published it."""
    published_link: str | None = None
    for use in _in_order(channels):
        ctx = ChannelContext(where=use.where, link=published_link or link, collectors=collectors, now=now, out=out,
                             clients=clients, sleep=sleep, clock=clock, log=log.bind(channel=use.name),
                             history=store.history)
        try:
            published = use.channel.send(page if page is not None and use.channel.links else report, use.settings,
                                         ctx)
        except Exception as exc:  # a channel's failure is reported, never swallowed nor fatal to others
            message = describe(exc)
            result.failures.append((label + use.name, message))
            log.error("notify_channel_failed", channel=label + use.name, error=message)
            continue
        result.sent.append(label + use.name)
        if use.channel.links and isinstance(published, str) and published_link is None:
            published_link = published
    return published_link


def route_link(link: str | None, route: str) -> str | None:
    """The page's link opened on one route: ``?route=NAME``, or ``#route=NAME`` after a signed query
    (a presigned URL's query is part of its signature; the page reads either)."""
    if link is None:
        return None
    return f"{link}{'#' if '?' in link else '?'}route={urllib.parse.quote(route)}"


def _in_order(channels: Sequence[ChannelSettings]) -> list[ChannelSettings]:
    """The channels that publish a page first, so the others can link it; else the config's order."""
    return sorted(channels, key=lambda c: not c.channel.links)


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
