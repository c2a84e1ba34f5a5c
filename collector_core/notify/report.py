"""The report every channel renders: findings grouped by plugin, what is new and resolved, the
accounts whose scans cannot be vouched for, and the mutes that have expired. A model only: it
reads nothing and renders nothing (notify.build fills it; text, slack and email render it).

Its memory does not grow with the table: each list of entries keeps its first few in memory and
the rest in a temporary file, so a report over hundreds of thousands of findings fits a small
Lambda. Channels read the first entries (``head``) or stream them all (iteration).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from collector_core.collector import SEVERITIES
from collector_core.findings import parse_time
from collector_core.notify.mutes import Mute
from collector_core.results import Status

#: Entries of one list held in memory; the rest wait in a temporary file.
IN_MEMORY = 200


class Location(NamedTuple):
    """Where a finding is: its account (id and name) and region."""

    account_id: str
    account_name: str
    region: str


@dataclass(frozen=True)
class Entry:
    """One finding as the report shows it."""

    plugin: str
    account_id: str
    account_name: str
    region: str
    resource_id: str
    severity: str
    line: str  # the plugin's one-line rendering (its `format`, else the summary)
    first_seen: str | None = None
    last_seen: str | None = None
    is_new: bool = False  # first seen in this run
    mute_reason: str | None = None  # the mute that leaves it out of messages, if any
    summary: str = ""  # the collector's own one line (``line`` may be its format's instead)
    details: Mapping[str, Any] = field(default_factory=dict)  # the collector's details, for exports
    tags: Mapping[str, str] = field(default_factory=dict)  # the resource's tags
    routes: tuple[str, ...] = ()  # the routes it matched (notify.routes), for the page's ?route=

    @property
    def location(self) -> Location:
        """Account id, account name and region."""
        return Location(self.account_id, self.account_name, self.region)

    def open_days(self, now: dt.datetime) -> int | None:
        """Whole days since first seen."""
        first = parse_time(self.first_seen)
        return None if first is None else max(0, (now - first).days)


class EntryList:
    """Entries in the order added: the first IN_MEMORY in memory, the rest in a temporary file."""

    def __init__(self) -> None:
        self._head: list[Entry] = []
        self._spill: IO[bytes] | None = None
        self._count = 0

    def append(self, entry: Entry) -> None:
        """Add one entry at the end."""
        self._count += 1
        if len(self._head) < IN_MEMORY:
            self._head.append(entry)
            return
        if self._spill is None:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the report)
        pickle.dump(entry, self._spill, protocol=pickle.HIGHEST_PROTOCOL)

    def head(self, count: int) -> list[Entry]:
        """The first ``count`` entries."""
        if count <= len(self._head):
            return self._head[:count]
        return [entry for entry, _ in zip(self, range(count), strict=False)]

    def __iter__(self) -> Iterator[Entry]:
        yield from self._head
        if self._spill is None:
            return
        self._spill.flush()
        spill = io.BufferedReader(_Reader(self._spill.fileno()))  # its own offset: iterations may nest
        for _ in range(self._count - len(self._head)):
            yield pickle.load(spill)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0


class _Reader(io.RawIOBase):
    """Reads a file from the start by position, leaving the file's own offset to its writer."""

    def __init__(self, fd: int) -> None:
        self._fd, self._at = fd, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._at)
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)


@dataclass
class PluginSection:
    """A collector's part of the report."""

    plugin: str
    open: EntryList = field(default_factory=EntryList)  # unmuted, by account, region, severity
    resolved: EntryList = field(default_factory=EntryList)
    muted: EntryList = field(default_factory=EntryList)
    new_count: int = 0  # open findings first seen in this run
    severities: Counter[str] = field(default_factory=Counter)  # open findings by severity

    def add_open(self, entry: Entry) -> None:
        """Count and keep one open finding."""
        self.open.append(entry)
        self.new_count += entry.is_new
        self.severities[entry.severity] += 1


@dataclass(frozen=True)
class AccountProblem:
    """An account whose findings this report cannot vouch for."""

    account_id: str
    account_name: str
    status: Status  # failed, partial, incomplete or never reported
    detail: str


class RunNotStarted(NamedTuple):
    """A scheduled run that never started: no account was scanned, so nothing in this report is from it."""

    run_id: str
    started: str
    reason: str  # ``Code: message``

    def describe(self) -> str:
        """``2026-12-04T06:00:01Z (run 20261204T…-1a2b3c): ConfigError: …``."""
        return f"{self.started} (run {self.run_id}): {self.reason}"


@dataclass
class Report:
    """What every channel renders."""

    generated: dt.datetime
    run_id: str | None
    accounts: int  # accounts the run covered (or that have state, without a run)
    run_seq: int | None = None
    run_started: str | None = None  # when the run began (ISO-8601), which dates its exports
    sections: list[PluginSection] = field(default_factory=list)
    problems: list[AccountProblem] = field(default_factory=list)
    expired_mutes: list[Mute] = field(default_factory=list)
    open_by_account: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, plugin) -> open
    account_names: dict[str, str] = field(default_factory=dict)
    #: Muted marks the table should change: (entry, the mute's reason, or None to unmark).
    mute_changes: list[tuple[Entry, str | None]] = field(default_factory=list)
    #: Runs since the previous one that never started (their config unreadable, their accounts unlistable).
    not_started: list[RunNotStarted] = field(default_factory=list)
    #: The route this report is for (its findings only), or None: every finding, or what no route matched.
    route: str | None = None
    #: Per route of the config, its open and new findings (on the whole report only, for the page).
    route_totals: dict[str, dict[str, int]] = field(default_factory=dict)

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

    def severities(self) -> dict[str, int]:
        """Open findings by severity, most severe first."""
        total: Counter[str] = Counter()
        for section in self.sections:
            total.update(section.severities)
        return {s: total[s] for s in reversed(SEVERITIES)}

    def headline(self) -> str:
        """Totals in one line: the Slack header, the email subject, the first line on stdout."""
        text = f"aws-collector: {self.open} open finding{'s' if self.open != 1 else ''}"
        if self.route:
            text = f"aws-collector ({self.route}): {self.open} open finding{'s' if self.open != 1 else ''}"
        extra = [f"{self.new} new", f"{self.resolved} resolved"]
        if self.muted:
            extra.append(f"{self.muted} muted")
        if self.problems:
            n = len(self.problems)
            extra.append(f"{n} account{'s' if n != 1 else ''} incomplete")
        if self.not_started:
            n = len(self.not_started)
            extra.append(f"{n} run{'s' if n != 1 else ''} never started")
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
