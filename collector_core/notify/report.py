"""The report every channel renders: findings grouped by plugin, what is new and resolved, the
accounts whose scans cannot be vouched for, and the mutes that have expired. A model only: it
reads nothing and renders nothing (notify.build fills it; text, slack and email render it)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from collector_core.findings import open_days
from collector_core.notify.mutes import Mute


class Place(NamedTuple):
    """Where a finding is."""

    account_id: str
    account_name: str
    region: str


@dataclass(frozen=True)
class Entry:
    """One finding as the report shows it."""

    finding: Mapping[str, Any]  # the public finding schema
    line: str  # the plugin's one-line rendering (its `format`, else the summary)
    is_new: bool = False  # first seen in the account's latest run
    mute: Mute | None = None
    stored_mute: str | None = None  # the mark the table holds now, if any

    @property
    def place(self) -> Place:
        """Account id, account name and region."""
        f = self.finding
        return Place(f["account_id"], f.get("account_name") or f["account_id"], f["region"])

    def open_days(self, now: dt.datetime) -> int | None:
        """Whole days since first seen."""
        return open_days(self.finding, now)


@dataclass
class PluginSection:
    """A collector's part of the report."""

    plugin: str
    open: list[Entry] = field(default_factory=list)  # unmuted, by account, region, severity
    resolved: list[Entry] = field(default_factory=list)
    muted: list[Entry] = field(default_factory=list)

    @property
    def new_count(self) -> int:
        """Open findings first seen in this run."""
        return sum(1 for e in self.open if e.is_new)


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
        return sum(s.new_count for s in self.sections)

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


def section_title(section: PluginSection) -> str:
    """``unattached_ebs: 4 open (1 new), 2 resolved, 1 muted``."""
    title = f"{section.plugin}: {len(section.open)} open"
    if section.new_count:
        title += f" ({section.new_count} new)"
    if section.resolved:
        title += f", {len(section.resolved)} resolved"
    if section.muted:
        title += f", {len(section.muted)} muted"
    return title
