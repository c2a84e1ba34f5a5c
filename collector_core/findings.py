"""Findings as the domain sees them: what a valid finding is, what the table holds, and when a
finding is current, new or resolved. No I/O here: collector_core.store reads and writes.

A finding is *current* while its TTL has not passed and it has not been resolved. It is resolved
only by a successful scan of its (account, region, plugin) that started after the finding was
last seen (see Resolution); a failed or missing scan resolves nothing, so a broken region or a
silent account never hides old findings.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector_core.collector import SEVERITIES, Finding
from collector_core.results import AccountResult

#: The public finding schema, in the order `findings --format csv` prints it.
SCHEMA_FIELDS = (
    "plugin", "account_id", "account_name", "region", "resource_id", "severity", "summary",
    "details", "tags", "run_id", "first_seen", "last_seen", "ttl",
)
#: Leave room under DynamoDB's 400 KB item limit for keys and the other attributes.
MAX_DETAILS_BYTES = 300 * 1024
#: DynamoDB nests documents at most 32 levels deep; keep a margin for the item around them.
MAX_DETAILS_DEPTH = 30
MAX_SUMMARY_CHARS = 1000
#: A finding's tags, bounded as AWS bounds a resource's: 50 tags, keys of 128 and values of 256 characters.
MAX_TAGS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS = 50, 128, 256
#: Where AWS items keep their tags: EC2 and most services ``Tags``, RDS ``TagList``, a few ``tags``.
TAG_ATTRIBUTES = ("Tags", "TagList", "TagSet", "tags")  # EC2 network interfaces and S3 say TagSet
#: A resource id is part of the item's sort key, which DynamoDB caps at 1024 bytes.
MAX_RESOURCE_ID_BYTES = 512
#: DynamoDB's number range (and 38 digits of precision).
MIN_NUMBER, MAX_NUMBER = 1e-130, 1e126


class BadFinding(ValueError):
    """A collector yielded something that is not a valid finding; only that finding is dropped."""


def normalise(raw: Any) -> Finding:
    """A Finding from what a collector yielded (a Finding or a mapping), or BadFinding."""
    if isinstance(raw, Finding):
        fields = dataclasses.asdict(raw)
    elif isinstance(raw, Mapping):
        fields = dict(raw)
        unknown = set(fields) - {"resource_id", "summary", "severity", "details", "tags"}
        if unknown:
            raise BadFinding(f"unknown finding keys {sorted(map(str, unknown))[:5]}")
    else:
        raise BadFinding(f"expected a Finding or a mapping, got {type(raw).__name__}")
    resource_id, summary = fields.get("resource_id"), fields.get("summary")
    if not isinstance(resource_id, str) or not resource_id:
        raise BadFinding(f"resource_id must be a non-empty string, got {resource_id!r:.80}")
    if len(resource_id.encode()) > MAX_RESOURCE_ID_BYTES:  # it is part of the item's key
        raise BadFinding(f"{resource_id:.80}…: resource_id is {len(resource_id.encode())} bytes; "
                         f"at most {MAX_RESOURCE_ID_BYTES}")
    if not isinstance(summary, str) or not summary.strip():
        raise BadFinding(f"{resource_id:.80}: summary must be a non-empty string")
    severity = fields.get("severity", "medium")
    if severity not in SEVERITIES:
        raise BadFinding(f"{resource_id:.80}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r:.40}")
    details = fields.get("details") or {}
    if not isinstance(details, Mapping):
        raise BadFinding(f"{resource_id:.80}: details must be a mapping, got {type(details).__name__}")
    try:
        encoded = json.dumps(details, default=_jsonable, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadFinding(f"{resource_id:.80}: details are not JSON: {str(exc)[:200]}") from None
    if len(encoded.encode()) > MAX_DETAILS_BYTES:
        raise BadFinding(f"{resource_id:.80}: details are {len(encoded.encode())} bytes; at most {MAX_DETAILS_BYTES}")
    plain = json.loads(encoded)
    try:
        depth = _depth(plain)
    except ValueError as exc:
        raise BadFinding(f"{resource_id:.80}: details hold {exc}") from None
    if depth > MAX_DETAILS_DEPTH:
        raise BadFinding(f"{resource_id:.80}: details nest deeper than {MAX_DETAILS_DEPTH} levels")
    raw_tags = fields.get("tags") or {}
    if not isinstance(raw_tags, (Mapping, list, tuple)):
        raise BadFinding(f"{resource_id:.80}: tags must be a mapping, got {type(raw_tags).__name__}")
    return Finding(resource_id=resource_id, summary=summary.strip().splitlines()[0][:MAX_SUMMARY_CHARS],
                   severity=severity, details=plain, tags=bounded_tags(raw_tags))


def tags_from(item: Mapping[str, Any]) -> dict[str, str]:
    """A resource's tags from an AWS item (``Tags``, ``TagList``, ``TagSet`` or ``tags``, as a list of
    ``{"Key", "Value"}`` or as a map), bounded as a finding's are; {} when it has none."""
    for attribute in TAG_ATTRIBUTES:
        raw = item.get(attribute)
        if isinstance(raw, (Mapping, list, tuple)):
            return bounded_tags(raw)
    return {}


def bounded_tags(raw: Mapping[str, Any] | Sequence[Any]) -> dict[str, str]:
    """Tags as a map of strings, the first MAX_TAGS (by key) with keys and values cut to AWS's
    limits; pairs may be ``{"Key", "Value"}`` (or ``key``/``value``); empty keys are dropped."""
    if isinstance(raw, Mapping):
        pairs: Iterable[tuple[Any, Any]] = raw.items()
    else:
        pairs = ((p.get("Key", p.get("key")), p.get("Value", p.get("value"))) for p in raw if isinstance(p, Mapping))
    tags = {str(k)[:MAX_TAG_KEY_CHARS]: "" if v is None else str(v)[:MAX_TAG_VALUE_CHARS]
            for k, v in pairs if k is not None and str(k)}
    return dict(sorted(tags.items())[:MAX_TAGS])


# -- what the table holds --------------------------------------------------------------------
Place = tuple[str, str]  # (region, plugin)


@dataclass(frozen=True)
class StoredFinding:
    """A finding as stored: the public schema, plus what the lifecycle needs."""

    finding: Mapping[str, Any]  # SCHEMA_FIELDS
    seen_seq: int  # the attempt (in its account's order) that last saw it
    first_seq: int  # the attempt that first saw it
    muted: str | None = None  # the mute reason the table is marked with, if any

    @property
    def place(self) -> Place:
        """Where it was found: (region, plugin)."""
        return self.finding["region"], self.finding["plugin"]


@dataclass(frozen=True)
class Attempt:
    """One worker's attempt at one account in one run, as recorded."""

    account_id: str
    run_id: str
    run_seq: int
    start: int  # the account's attempt sequence when it started
    end: int  # ... and when its scans had all finished
    status: str  # a results.Status: ok, partial, failed or never reported
    ok_places: frozenset[Place]
    result: Mapping[str, Any]  # results.AccountResult.to_dict(), compacted to fit (see outcome)

    @property
    def outcome(self) -> AccountResult:
        """The attempt's result as the domain's record (scan rows may have been left out to fit;
        the run, the account and the status are the attempt's own, whatever the result says)."""
        account = {"name": "", **(self.result.get("account") or {}), "id": self.account_id}
        return AccountResult.from_dict({**self.result, "run_id": self.run_id, "status": self.status,
                                        "account": account})

    @property
    def account_name(self) -> str | None:
        """The account's name as the worker knew it."""
        return (self.result.get("account") or {}).get("name")


@dataclass(frozen=True)
class RunRecord:
    """A run as the director recorded it."""

    run_id: str
    run_seq: int
    started: str
    accounts: tuple[str, ...] = ()
    deadline: int = 0  # epoch seconds after which a sweep may close it
    done: int = 0
    notified: bool = False
    #: Why the run never started (``Code: message``): no account was planned or scanned.
    failed: str | None = None

    @property
    def expected(self) -> int:
        """Accounts the run waits for."""
        return len(self.accounts)


@dataclass(frozen=True)
class PluginCounts:
    """One collector's numbers in one run's report."""

    open: int = 0
    new: int = 0
    resolved: int = 0
    muted: int = 0


@dataclass(frozen=True)
class RunSummary:
    """A run's report in numbers: what the history keeps long after the findings have expired."""

    run_id: str
    run_seq: int
    time: str  # when the run's report was built, ISO-8601 UTC
    accounts: int
    plugins: Mapping[str, PluginCounts] = field(default_factory=dict)
    severities: Mapping[str, int] = field(default_factory=dict)  # open findings by severity
    problems: tuple[tuple[str, str], ...] = ()  # (account id, status), the first few
    problem_count: int = 0  # accounts the report could not vouch for, all of them


@dataclass
class AccountState:
    """What the table holds for one account: its recorded attempts, and its findings in key order
    (region, plugin, resource), which the store hands over as a stream that may be read only once,
    so that an account's findings never need to be in memory together."""

    account_id: str
    findings: Iterable[StoredFinding] = ()
    attempts: list[Attempt] = field(default_factory=list)
    account_name: str | None = None  # as the store knows it, when the attempts do not say

    def attempts_of(self, run_seq: int) -> list[Attempt]:
        """This account's attempts in one run (a retried worker makes more than one), oldest first."""
        return sorted((a for a in self.attempts if a.run_seq == run_seq), key=lambda a: a.start)

    def name(self) -> str:
        """The account's name: from its latest attempt, else as the store knows it, else its id."""
        latest = max(self.attempts, key=lambda a: a.start, default=None)
        return (latest.account_name if latest else None) or self.account_name or self.account_id


# -- the lifecycle ---------------------------------------------------------------------------
class Resolution:
    """When an account's findings are resolved: only by a successful scan of their (region,
    plugin) that started after the attempt that last saw them had finished. Attempts are ordered
    by sequence numbers the table hands out, so no clock and no overlap of runs can fool it.

    ``before_run``: count only attempts of earlier runs (what the previous report knew).
    """

    def __init__(self, state: AccountState, *, before_run: int | None = None) -> None:
        self._ends = {a.start: a.end for a in state.attempts}
        self._latest_ok: dict[Place, int] = {}
        for attempt in state.attempts:
            if before_run is not None and attempt.run_seq >= before_run:
                continue
            for place in attempt.ok_places:
                if attempt.start > self._latest_ok.get(place, -1):
                    self._latest_ok[place] = attempt.start

    def is_resolved(self, stored: StoredFinding) -> bool:
        """Whether a later successful scan of its place did not see it."""
        # An attempt with no record (killed before it wrote one) counts as ending where it began.
        last_seen_until = self._ends.get(stored.seen_seq, stored.seen_seq)
        return self._latest_ok.get(stored.place, -1) > last_seen_until


def is_live(stored: StoredFinding, now: dt.datetime) -> bool:
    """Its TTL has not passed (DynamoDB deletes expired items only eventually)."""
    return int(stored.finding.get("ttl") or 0) > int(now.timestamp())


def current_findings(state: AccountState, now: dt.datetime) -> Iterator[dict[str, Any]]:
    """An account's unexpired, unresolved findings in the public schema, as they are read (the
    store's key order: region, plugin, resource)."""
    resolution = Resolution(state)
    return (dict(s.finding) for s in state.findings if is_live(s, now) and not resolution.is_resolved(s))


def finding_key(account_id: str, region: str, plugin: str, resource_id: str) -> str:
    """A finding's identity outside the table, the same for every run that sees it:
    ``<account>/<region>/<plugin>/<resource_id>`` (the resource id last, so it may hold slashes)."""
    return f"{account_id}/{region}/{plugin}/{resource_id}"


def order(finding: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """The order findings are listed in: account, region, plugin, resource."""
    return finding["account_id"], finding["region"], finding["plugin"], finding["resource_id"]


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with a Z, to the second."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> dt.datetime | None:
    """An ISO-8601 time as an aware datetime, or None."""
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _depth(value: Any) -> int:
    """How deep a JSON value nests; ValueError for what DynamoDB cannot hold."""
    if isinstance(value, dict):
        if "" in value:
            raise ValueError("an empty key (DynamoDB map keys are not empty)")
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value and not (
            MIN_NUMBER <= abs(value) < MAX_NUMBER and (isinstance(value, float) or len(str(abs(value))) <= 38)):
        raise ValueError(f"a number DynamoDB cannot store ({str(value)[:40]})")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
