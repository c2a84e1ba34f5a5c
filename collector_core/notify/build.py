"""Building the report from the table, one account at a time.

The accounts arrive as `AccountState`s in account order, each with its findings as a stream in
key order; each finding is folded into the report as it is read (entry lists past a few hundred
wait in a temporary file), so memory follows the largest (account, region, plugin), not the table. Resolution
follows collector_core.findings.Resolution: only a successful scan that started after a finding
was last seen resolves it, so a failed region or a silent account keeps its findings open and
shows up among the report's problems instead.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector_core.collector import SEVERITIES
from collector_core.findings import AccountState, Resolution, RunRecord, StoredFinding, is_live, parse_time
from collector_core.logs import get_logger
from collector_core.notify import mutes as mute_rules
from collector_core.notify.mutes import Mute
from collector_core.notify.report import AccountProblem, Entry, PluginSection, Report
from collector_core.notify.routes import Route
from collector_core.plugins import Registry
from collector_core.results import AccountResult, Status

MAX_LINE_CHARS = 300  # a plugin's formatter must not be able to flood a message
MAX_PROBLEM_ERRORS = 3  # failures named per account in a problem's detail


@dataclass
class Reports:
    """What one pass over the table makes: the whole report, the one the top-level channels get (the
    whole, or what no route matched with ``default: unmatched``) and each route's, by name."""

    full: Report
    default: Report
    routes: dict[str, Report] = field(default_factory=dict)


@dataclass
class _Target:
    """A report being filled, and the route whose findings it takes (None: any it is handed)."""

    report: Report
    route: Route | None = None
    sections: dict[str, PluginSection] = field(default_factory=dict)

    def add(self, kind: str, entry: Entry) -> None:
        section = self.sections.setdefault(entry.plugin, PluginSection(entry.plugin))
        if kind == "resolved":
            section.resolved.append(entry)
        elif kind == "muted":
            section.muted.append(entry)
        else:
            section.add_open(entry)
            self.report.open_by_account[(entry.account_id, entry.plugin)] += 1


def build_report(states: Iterable[AccountState], **options: Any) -> Report:
    """The whole report (see build_reports, which takes the same options)."""
    return build_reports(states, **options).full


def build_reports(
    states: Iterable[AccountState],
    *,
    now: dt.datetime,
    run: RunRecord | None = None,
    previous: RunRecord | None = None,
    registry: Registry | None = None,
    mutes: Sequence[Mute] = (),
    names: Mapping[str, str] | None = None,
    routes: Sequence[Route] = (),
    unmatched_only: bool = False,
    ous: Mapping[str, str | None] | None = None,
) -> Reports:
    """The reports as of ``run`` (None: no run on record) from every account's state, in account
    order, in one pass: each finding is classified once and handed to every report that takes it.

    ``previous`` is the run before it (mutes that expired since then are mentioned once);
    ``names`` names accounts that have no state of their own; ``ous`` gives accounts' unit paths
    for the routes' ``ou`` globs.
    """
    today = now.astimezone(dt.UTC).date()
    started = parse_time(previous.started) if previous else None
    expired = mute_rules.newly_expired(mutes, today, started.date() if started else None)

    def blank(route: str | None = None) -> Report:
        return Report(generated=now, run_id=run.run_id if run else None, run_seq=run.run_seq if run else None,
                      run_started=run.started if run else None, accounts=0, expired_mutes=list(expired), route=route)

    whole = _Target(blank())
    by_route = [_Target(blank(r.name), r) for r in routes]
    rest = _Target(blank()) if unmatched_only else None
    expected = set(run.accounts) if run else None
    seen: set[str] = set()
    covering: dict[str, list[_Target]] = {}
    for state in states:
        seen.add(state.account_id)
        ou = (ous or {}).get(state.account_id)
        covering[state.account_id] = [t for t in by_route if t.route and t.route.match.covers_account(
            state.account_id, ou)]
        name = state.name()
        for target in (whole, rest, *covering[state.account_id]):
            if target:
                target.report.account_names[state.account_id] = name
        _fold(whole, covering[state.account_id], rest, state, run, registry, mutes, today, now)
        if expected is not None and state.account_id in expected:
            problem = _problem(state, run)
            if problem:
                for target in (whole, rest, *covering[state.account_id]):
                    if target:
                        target.report.problems.append(problem)
    for account_id in sorted((expected or set()) - seen):
        name = (names or {}).get(account_id, account_id)
        problem = AccountProblem(account_id, name, Status.NEVER_REPORTED,
                                 "no result in this run (no run on record); its findings stay open")
        ou = (ous or {}).get(account_id)
        covering[account_id] = [t for t in by_route if t.route and t.route.match.covers_account(account_id, ou)]
        for target in (whole, rest, *covering[account_id]):
            if target:
                target.report.problems.append(problem)
    ids = expected if expected is not None else seen
    for target in (whole, rest, *by_route):
        if target is None:
            continue
        report = target.report
        report.problems.sort(key=lambda p: p.account_id)
        report.accounts = len(ids) if target.route is None else sum(target in covering.get(a, ()) for a in ids)
        report.sections = [target.sections[p] for p in sorted(target.sections)]
    whole.report.route_totals = {t.report.route or "": {"open": t.report.open, "new": t.report.new}
                                 for t in by_route}
    return Reports(whole.report, rest.report if rest else whole.report, {t.report.route or "": t.report
                                                                          for t in by_route})


def _fold(whole: _Target, covering: list[_Target], rest: _Target | None, state: AccountState,
          run: RunRecord | None, registry: Registry | None, mutes: Sequence[Mute], today: dt.date,
          now: dt.datetime) -> None:
    """Add one account's findings to the reports that take them, as they are read."""
    run_seq = run.run_seq if run else None
    this_run = {a.start for a in state.attempts_of(run_seq)} if run_seq is not None else set()
    # As of this run, and as of the runs before it: what was resolved by this run is news, once.
    now_resolved = Resolution(state, before_run=None if run_seq is None else run_seq + 1)
    before = Resolution(state, before_run=run_seq) if run_seq is not None else None
    report = whole.report
    name = report.account_names[state.account_id]
    live = (stored for stored in state.findings if is_live(stored, now))
    # Findings arrive in key order (region, plugin, resource); each place's are listed by severity,
    # so only one place's entries wait to be sorted.
    for _, place in itertools.groupby(live, key=lambda stored: stored.place):
        folded = []
        for stored in place:
            classified = _classify(report, stored, name, registry, mutes, today, this_run, now_resolved, before)
            if classified is None:
                continue
            order, kind, entry = classified
            matched = [t for t in covering if t.route and t.route.match.covers(stored.finding)]
            if matched:
                entry = dataclasses.replace(entry, routes=tuple(t.report.route or "" for t in matched))
            folded.append((order, kind, entry, matched))
        for _, kind, entry, matched in sorted(folded, key=lambda f: f[0]):
            whole.add(kind, entry)
            if rest is not None and not matched:
                rest.add(kind, entry)
            for target in matched:
                own = mute_rules.mute_for(_as_finding(entry), mutes, today, route=target.report.route) \
                    if kind == "open" else None
                if own:  # muted in this route's report only
                    target.add("muted", dataclasses.replace(entry, mute_reason=own.reason))
                else:
                    target.add(kind, entry)


def _as_finding(entry: Entry) -> dict[str, Any]:
    """What a route's own mutes match an entry by."""
    return {"plugin": entry.plugin, "account_id": entry.account_id, "region": entry.region,
            "resource_id": entry.resource_id, "tags": entry.tags}


def _classify(report: Report, stored: StoredFinding, name: str, registry: Registry | None, mutes: Sequence[Mute],
              today: dt.date, this_run: set[int], now_resolved: Resolution,
              before: Resolution | None) -> tuple[tuple[int, str], str, Entry] | None:
    """(where it sorts, which list it goes in, its entry), or None when the report leaves it out;
    mute changes are noted on the way."""
    finding = stored.finding
    mute = mute_rules.mute_for(finding, mutes, today)
    entry = _entry(stored, name, registry, is_new=stored.first_seq in this_run, mute=mute)
    severity = SEVERITIES.index(finding["severity"]) if finding.get("severity") in SEVERITIES else 0
    order = (-severity, str(finding["resource_id"]))
    if now_resolved.is_resolved(stored):
        news = bool(this_run) and before is not None and not before.is_resolved(stored) and not mute
        return (order, "resolved", entry) if news else None
    if mute:
        if stored.muted != mute.reason:
            report.mute_changes.append((entry, mute.reason))
        return order, "muted", entry
    if stored.muted is not None:
        report.mute_changes.append((entry, None))
    return order, "open", entry


def _entry(stored: StoredFinding, account_name: str, registry: Registry | None, *, is_new: bool,
           mute: Mute | None) -> Entry:
    f = stored.finding
    return Entry(plugin=f["plugin"], account_id=f["account_id"], account_name=f.get("account_name") or account_name,
                 region=f["region"], resource_id=f["resource_id"], severity=str(f.get("severity")),
                 line=_line(f, registry), first_seen=f.get("first_seen"), last_seen=f.get("last_seen"), is_new=is_new,
                 mute_reason=mute.reason if mute else None, summary=str(f.get("summary") or ""),
                 details=f.get("details") or {}, tags=f.get("tags") or {})


def _line(finding: Mapping[str, Any], registry: Registry | None) -> str:
    """The collector's own rendering when it has one (and it works), else the summary."""
    formatter = None
    if registry is not None and finding["plugin"] in registry:
        formatter = registry[finding["plugin"]].format
    text = str(finding.get("summary") or finding.get("resource_id"))
    if formatter is not None:
        try:
            text = str(formatter(finding)) or text
        except Exception as exc:  # plugin code: a broken formatter costs its nicety, not the report
            get_logger(plugin=finding["plugin"]).warning("format_failed", error=type(exc).__name__)
    line = text.splitlines()[0] if text.strip() else str(finding.get("resource_id"))
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _problem(state: AccountState, run: RunRecord | None) -> AccountProblem | None:
    """Why this report cannot vouch for an account in a run, if it cannot."""
    if run is None:
        return None
    attempts = state.attempts_of(run.run_seq)
    name = state.name()
    if not attempts:
        earlier = [a for a in state.attempts if a.run_seq < run.run_seq]
        last = f"last reported in run {max(earlier, key=lambda a: a.start).run_id}" if earlier else "no run on record"
        return AccountProblem(state.account_id, name, Status.NEVER_REPORTED,
                              f"no result in this run ({last}); its findings stay open")
    latest = attempts[-1]
    outcome = latest.outcome
    if latest.status == Status.OK and outcome.complete:
        return None
    status = latest.status if latest.status in (Status.FAILED, Status.NEVER_REPORTED) else (
        Status.INCOMPLETE if not outcome.complete else latest.status)
    return AccountProblem(state.account_id, name, Status(status),
                          _failures(outcome) + "; findings there stay open until a clean scan")


def _failures(outcome: AccountResult) -> str:
    """``3 errors: eu-west-1 ebs: AccessDenied; ...`` from an attempt's bounded record."""
    errors = outcome.errors
    total = max(outcome.error_total, len(errors))
    if not total:
        return "stopped before every region finished"
    shown = [f"{e.region} {e.plugin}: {e.error}" for e in errors[:MAX_PROBLEM_ERRORS]]
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    return f"{total} error{'s' if total != 1 else ''}: {'; '.join(shown)}{more}"
