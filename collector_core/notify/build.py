"""Building the report from what the table holds.

Resolution follows collector_core.findings: a finding is resolved only by a successful scan of
its (region, plugin) in its account's latest run, so a failed region or a silent account keeps
its findings open and shows up among the report's problems instead.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from collector_core.collector import SEVERITIES
from collector_core.findings import AccountRun, TableContents, is_live, is_resolved, latest_runs, parse_time
from collector_core.logs import get_logger
from collector_core.notify import mutes as mute_rules
from collector_core.notify.mutes import Mute
from collector_core.notify.report import AccountProblem, Entry, PluginSection, Report
from collector_core.plugins import Registry

MAX_LINE_CHARS = 300  # a plugin's formatter must not be able to flood a message


def build_report(
    contents: TableContents,
    *,
    now: dt.datetime,
    registry: Registry | None = None,
    mutes: Sequence[Mute] = (),
    run_id: str | None = None,
) -> Report:
    """The report for ``run_id`` (default: the latest run) from what the table holds."""
    latest = latest_runs(contents.account_runs)
    runs = {r.run_id: r for r in contents.runs}
    history: dict[str, list[AccountRun]] = {}
    for record in contents.account_runs:
        history.setdefault(record.account_id, []).append(record)
    for records in history.values():
        records.sort(key=lambda r: r.run_id, reverse=True)
    run_id = run_id or (max(runs) if runs else None)
    run = runs.get(run_id) if run_id else None
    previous_run = max((r for r in runs if run_id and r < run_id), default=None)
    today = now.astimezone(dt.UTC).date()

    sections: dict[str, PluginSection] = {}
    for stored in contents.findings:
        if not is_live(stored, now):
            continue
        finding = stored.finding
        account = finding["account_id"]
        last = latest.get(account)
        this_run = last is not None and (run_id is None or last.run_id == run_id)
        section = sections.setdefault(finding["plugin"], PluginSection(finding["plugin"]))
        mute = mute_rules.mute_for(finding, mutes, today)
        if is_resolved(stored, last):
            records = history.get(account, [])
            previous = records[1] if len(records) > 1 else None
            # Resolved in this run, and still open as of the run before: news, once.
            if this_run and not is_resolved(stored, previous) and not mute:
                section.resolved.append(Entry(finding, _line(finding, registry)))
            continue
        entry = Entry(
            finding,
            _line(finding, registry),
            is_new=bool(this_run and last and stored.first_run == last.run_id),
            mute=mute,
            stored_mute=stored.muted,
        )
        (section.muted if mute else section.open).append(entry)
    for section in sections.values():
        section.open.sort(key=_order)
        section.resolved.sort(key=_order)
    expected = run.accounts if run else sorted(history)
    previous_started = parse_time(runs[previous_run].started) if previous_run else None
    return Report(
        generated=now,
        run_id=run_id,
        accounts=len(expected),
        sections=[sections[p] for p in sorted(sections)],
        problems=_problems(expected, history, run_id, _account_names(contents)),
        expired_mutes=mute_rules.newly_expired(mutes, today, previous_started.date() if previous_started else None),
    )


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


def _order(entry: Entry) -> tuple[Any, ...]:
    f = entry.finding
    severity = SEVERITIES.index(f["severity"]) if f.get("severity") in SEVERITIES else 0
    return f["account_id"], f["region"], -severity, f["resource_id"]


def _problems(
    expected: Sequence[str],
    history: Mapping[str, Sequence[AccountRun]],
    run_id: str | None,
    names: Mapping[str, str],
) -> list[AccountProblem]:
    problems = []
    for account in expected:
        records = history.get(account, [])
        record = next((r for r in records if run_id is None or r.run_id == run_id), None)
        name = names.get(account, account)
        if record is None:
            last = f"last reported in run {records[0].run_id}" if records else "no run on record"
            problems.append(AccountProblem(account, name, "never reported",
                                           f"no result in this run ({last}); its findings stay open"))
            continue
        errors = record.result.get("errors") or []
        complete = record.result.get("complete", True)
        if record.status == "ok" and complete:
            continue
        status = "incomplete" if not complete else record.status
        shown = [f"{e['region']} {e['plugin']}: {e['error']}" for e in errors[:3]]
        more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
        detail = f"{len(errors)} error{'s' if len(errors) != 1 else ''}: {'; '.join(shown)}{more}" \
            if errors else "stopped before every region finished"
        problems.append(AccountProblem(account, name, status,
                                       detail + "; findings there stay open until a clean scan"))
    return problems


def _account_names(contents: TableContents) -> dict[str, str]:
    names: dict[str, str] = {}
    for stored in contents.findings:
        if stored.finding.get("account_name"):
            names[stored.finding["account_id"]] = stored.finding["account_name"]
    for record in contents.account_runs:
        if record.account_name:
            names.setdefault(record.account_id, record.account_name)
    return names
