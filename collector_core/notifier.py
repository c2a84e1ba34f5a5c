"""The notifier: one read of the table, one report (grouped, new, resolved, muted, incomplete), sent.

The report is built from a single Scan: finding items, each account's run records and the run
records all live in the one table, so nothing is read twice and no plugin costs a query of its
own. Resolution follows findings.py: a finding is resolved only by a successful scan of its
(region, plugin) in its account's latest run, so a failed region or a silent account keeps its
findings open and shows up under "incomplete" instead.

``notify`` is the plain function behind ``aws-collector notify``, ``run`` with
``notify.on_run_complete`` and the Lambda handlers; ``notify_run_complete`` is the once-per-run
variant the last worker of a run triggers.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from collector_core import mutes as mute_rules
from collector_core.aws import Clients, home_region
from collector_core.collector import SEVERITIES
from collector_core.config import Config, Mute
from collector_core.findings import from_item, is_resolved, split_items
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.store import Store, finding_key, to_attr

MAX_LINE_CHARS = 300  # a plugin's formatter must not be able to flood a message


@dataclass(frozen=True)
class Entry:
    """One finding as the report shows it."""

    finding: Mapping[str, Any]  # the public finding schema
    line: str  # the plugin's one-line rendering (its `format`, else the summary)
    new: bool = False  # first seen in the account's latest run
    mute: Mute | None = None
    stored_mute: str | None = None  # the mark the table holds now, if any

    @property
    def place(self) -> tuple[str, str, str]:
        """(account id, account name, region)."""
        f = self.finding
        return f["account_id"], f.get("account_name") or f["account_id"], f["region"]

    def open_days(self, now: dt.datetime) -> int | None:
        """Whole days since first seen."""
        try:
            first = dt.datetime.fromisoformat(str(self.finding["first_seen"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return None
        return max(0, (now - first).days)


@dataclass
class PluginSection:
    """A collector's part of the report."""

    plugin: str
    open: list[Entry] = field(default_factory=list)  # unmuted, by account, region, severity
    resolved: list[Entry] = field(default_factory=list)
    muted: list[Entry] = field(default_factory=list)

    @property
    def new(self) -> int:
        """Open findings first seen in this run."""
        return sum(1 for e in self.open if e.new)


@dataclass(frozen=True)
class AccountProblem:
    """An account whose findings this report cannot vouch for."""

    account_id: str
    account_name: str
    status: str  # "failed", "partial", "incomplete" or "never reported"
    detail: str


@dataclass
class Report:
    """What every channel renders."""

    generated: dt.datetime
    run_id: str | None
    accounts: int  # accounts the run covered (or that ever reported, without a run record)
    sections: list[PluginSection] = field(default_factory=list)
    problems: list[AccountProblem] = field(default_factory=list)
    expired_mutes: list[Mute] = field(default_factory=list)

    @property
    def open(self) -> int:
        """Open, unmuted findings."""
        return sum(len(s.open) for s in self.sections)

    @property
    def new(self) -> int:
        """Open findings first seen in this run."""
        return sum(s.new for s in self.sections)

    @property
    def resolved(self) -> int:
        """Findings seen before and gone in this run."""
        return sum(len(s.resolved) for s in self.sections)

    @property
    def muted(self) -> int:
        """Open findings left out of the messages by a mute."""
        return sum(len(s.muted) for s in self.sections)

    def headline(self) -> str:
        """Totals in one line: the Slack header, the email subject, the first line on stdout."""
        text = f"aws-collector: {self.open} open finding{'s' if self.open != 1 else ''}"
        extra = [f"{self.new} new", f"{self.resolved} resolved"]
        if self.muted:
            extra.append(f"{self.muted} muted")
        if self.problems:
            n = len(self.problems)
            extra.append(f"{n} account{'s' if n != 1 else ''} incomplete")
        return f"{text} ({', '.join(extra)})"


# -- building the report -------------------------------------------------------------------
def build_report(
    items: Iterable[Mapping[str, Any]],
    *,
    now: dt.datetime,
    registry: Registry | None = None,
    mutes: Sequence[Mute] = (),
    run_id: str | None = None,
) -> Report:
    """The report for ``run_id`` (default: the latest run) from one scan of the table."""
    items = list(items)
    findings, latest = split_items(items, now)
    runs = {i["run_id"]: i for i in items if i.get("kind") == "run"}
    history: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        if item.get("kind") == "account_run":
            history.setdefault(item["account_id"], []).append(item)
    for records in history.values():
        records.sort(key=lambda r: r["run_id"], reverse=True)
    run_id = run_id or (max(runs) if runs else None)
    run = runs.get(run_id) if run_id else None
    previous_run = max((r for r in runs if run_id and r < run_id), default=None)
    today = now.astimezone(dt.UTC).date()

    sections: dict[str, PluginSection] = {}
    for item in findings:
        account = item["account_id"]
        last = latest.get(account)
        this_run = last is not None and (run_id is None or last["run_id"] == run_id)
        finding = from_item(item)
        section = sections.setdefault(item["plugin"], PluginSection(item["plugin"]))
        if is_resolved(item, last):
            records = history.get(account, [])
            previous = records[1] if len(records) > 1 else None
            # Resolved in this run, and still open as of the run before: news, once.
            muted = mute_rules.mute_for(finding, mutes, today)
            if this_run and not is_resolved(item, previous) and not muted:
                section.resolved.append(Entry(finding, _line(finding, registry)))
            continue
        mute = mute_rules.mute_for(finding, mutes, today)
        entry = Entry(
            finding,
            _line(finding, registry),
            new=bool(this_run and last and item.get("first_run") == last["run_id"]),
            mute=mute,
            stored_mute=item.get("muted"),
        )
        (section.muted if mute else section.open).append(entry)
    for section in sections.values():
        section.open.sort(key=_order)
        section.resolved.sort(key=_order)
    expected = _account_list(run.get("accounts")) if run else sorted(history)
    previous_started = _date(runs[previous_run].get("started")) if previous_run else None
    return Report(
        generated=now,
        run_id=run_id,
        accounts=len(expected),
        sections=[sections[p] for p in sorted(sections)],
        problems=_problems(expected, history, run_id, _account_names(items)),
        expired_mutes=mute_rules.newly_expired(mutes, today, previous_started),
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
    history: Mapping[str, Sequence[Mapping[str, Any]]],
    run_id: str | None,
    names: Mapping[str, str],
) -> list[AccountProblem]:
    problems = []
    for account in expected:
        records = history.get(account, [])
        record = next((r for r in records if run_id is None or r["run_id"] == run_id), None)
        name = names.get(account, account)
        if record is None:
            last = f"last reported in run {records[0]['run_id']}" if records else "no run on record"
            problems.append(AccountProblem(account, name, "never reported",
                                           f"no result in this run ({last}); its findings stay open"))
            continue
        result = json.loads(record.get("result") or "{}")
        errors = result.get("errors") or []
        complete = result.get("complete", True)
        if record.get("status") == "ok" and complete:
            continue
        status = "incomplete" if not complete else str(record.get("status"))
        shown = [f"{e['region']} {e['plugin']}: {e['error']}" for e in errors[:3]]
        more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
        detail = f"{len(errors)} error{'s' if len(errors) != 1 else ''}: {'; '.join(shown)}{more}" \
            if errors else "stopped before every region finished"
        problems.append(AccountProblem(account, name, status,
                                       detail + "; findings there stay open until a clean scan"))
    return problems


def _account_names(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for item in items:
        if item.get("kind") == "finding" and item.get("account_name"):
            names[item["account_id"]] = item["account_name"]
        elif item.get("kind") == "account_run":
            account = json.loads(item.get("result") or "{}").get("account") or {}
            if account.get("name"):
                names.setdefault(item["account_id"], account["name"])
    return names


def _account_list(value: Any) -> list[str]:
    """A run record's account ids (stored as a JSON string, as store.to_attr keeps lists)."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(a) for a in value or []]


def _date(text: Any) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).date()
    except ValueError:
        return None


# -- sending -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Channels:
    """Where a report goes; settings are the validated ``notify.slack`` / ``notify.email``."""

    stdout: bool = False
    slack: Mapping[str, Any] | None = None
    email: Mapping[str, Any] | None = None

    @classmethod
    def from_config(cls, config: Config) -> Channels:
        """The channels the config names; stdout when it names none."""
        slack, email = config.notify.get("slack"), config.notify.get("email")
        return cls(stdout=bool(config.notify.get("stdout", not (slack or email))), slack=slack, email=email)


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


def notify(
    config: Config,
    *,
    registry: Registry,
    store: Store,
    clients: Clients,
    channels: Channels | None = None,
    run_id: str | None = None,
    now: dt.datetime | None = None,
    out: IO[str] | None = None,
) -> NotifyResult:
    """Read the table once, build the report and send it to every channel; one failing channel
    does not stop the others. Raises only when the table cannot be read."""
    from collector_core import report_email, report_slack, report_text

    now = now or dt.datetime.now(dt.UTC)
    channels = channels or Channels.from_config(config)
    log = get_logger(run=run_id)
    report = build_report(store.items(), now=now, registry=registry, mutes=config.mute, run_id=run_id)
    mark_muted(store, report, log)
    result = NotifyResult(report)
    send: dict[str, Callable[[], None]] = {}
    if channels.stdout:
        send["stdout"] = lambda: print(report_text.render(report), file=out or sys.stdout)
    if channels.slack:
        send["slack"] = lambda: report_slack.send(report, channels.slack or {}, clients=clients)
    if channels.email:
        send["email"] = lambda: report_email.send(report, channels.email or {}, clients=clients)
    for name, deliver in send.items():
        try:
            deliver()
        except Exception as exc:  # a channel's failure is reported, never swallowed nor fatal to others
            message = f"{type(exc).__name__}: {exc}"
            result.failures.append((name, message))
            log.error("notify_channel_failed", channel=name, error=message)
        else:
            result.sent.append(name)
    log.info("notified", sent=result.sent, failed=[c for c, _ in result.failures],
             open=report.open, new=report.new, resolved=report.resolved)
    return result


def notify_run_complete(
    run_id: str, config: Config, *, registry: Registry, store: Store, clients: Clients,
    out: IO[str] | None = None,
) -> NotifyResult | None:
    """Send a run's report if nobody has yet: the once-per-run entry point (CLI and Lambda)."""
    if not store.claim_notification(run_id):
        get_logger(run=run_id).info("notify_skipped", reason="already sent for this run")
        return None
    return notify(config, registry=registry, store=store, clients=clients, run_id=run_id, out=out)


def mark_muted(store: Store, report: Report, log: Any) -> None:
    """Keep the table's ``muted`` mark in step with the mutes; only changes are written."""
    changes: list[tuple[Entry, str | None]] = []
    for section in report.sections:
        for entry in section.muted:
            if entry.mute and entry.stored_mute != entry.mute.reason:
                changes.append((entry, entry.mute.reason))
        for entry in section.open:
            if entry.stored_mute is not None:
                changes.append((entry, None))
    for entry, reason in changes:
        f = entry.finding
        key = {k: to_attr(v) for k, v in finding_key(f["account_id"], f["region"], f["plugin"],
                                                      f["resource_id"]).items()}
        update: dict[str, Any] = (
            {"UpdateExpression": "SET muted = :r", "ExpressionAttributeValues": {":r": to_attr(reason)}}
            if reason else {"UpdateExpression": "REMOVE muted"}
        )
        try:  # attribute_exists: never bring back an item DynamoDB has just expired
            store.client.update_item(TableName=store.table, Key=key,
                                     ConditionExpression="attribute_exists(pk)", **update)
        except Exception as exc:  # the mark is a courtesy to table readers; the report stands
            log.warning("mute_mark_failed", resource=f["resource_id"], error=type(exc).__name__)


def run_notifier(
    config: Config, registry: Registry, *, run_id: str | None = None, clients: Clients | None = None,
) -> dict[str, Any]:
    """The notifier Lambda's work, JSON-ready: a run's report once (given ``run_id``, as the last
    worker's trigger does), else the current report (a schedule). Channel failures are logged and
    returned rather than raised: Lambda's retry would find the run's report already claimed."""
    clients = clients or Clients()
    store = Store(config.table, clients.client("dynamodb", home_region()))
    if run_id:
        result = notify_run_complete(run_id, config, registry=registry, store=store, clients=clients)
    else:
        result = notify(config, registry=registry, store=store, clients=clients)
    if result is None:
        return {"run_id": run_id, "sent": [], "failures": [], "skipped": "already sent for this run"}
    report = result.report
    return {
        "run_id": report.run_id,
        "sent": result.sent,
        "failures": [{"channel": c, "error": e} for c, e in result.failures],
        "open": report.open, "new": report.new, "resolved": report.resolved, "muted": report.muted,
        "incomplete_accounts": [p.account_id for p in report.problems],
    }
