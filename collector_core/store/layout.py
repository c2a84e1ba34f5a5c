"""The item layout of the findings table: every key, every item and every parse of a key. Only
collector_core.store.table calls the table; this module shapes what goes in and out of it, and turns
items into the domain's records (collector_core.store's docstring draws the layout)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collector_core.collector import Account, Finding
from collector_core.findings import (
    SCHEMA_FIELDS,
    Attempt,
    BadFinding,
    Place,
    PluginCounts,
    RunRecord,
    RunSummary,
    StoredFinding,
    iso,
    parse_time,
)
from collector_core.results import AccountResult
from collector_core.store import sightings
from collector_core.store.sightings import Seen
from collector_core.store.values import size

#: The layout this version reads and writes; the table records its own (see layout_item).
LAYOUT = "0.4"
#: The layout of a table that has state but no record of its layout: written by 0.2 or 0.3.
UNRECORDED_LAYOUT = "0.3"
MAX_ITEM_BYTES = 400 * 1024
#: An attempt's result is compacted below this many bytes of JSON (see compact).
MAX_RECORD_BYTES = 300 * 1024
#: Sightings an attempt's own item holds; more go in parts of SIGHTINGS_PART_BYTES, written before it.
INLINE_SIGHTINGS_BYTES = 48 * 1024
SIGHTINGS_PART_BYTES = 360 * 1024
#: Account ids per item of a run's account list (about 15 bytes each, well under the item limit).
ACCOUNTS_PER_ITEM = 10_000
KEY_SCHEMA = {"pk": "HASH", "sk": "RANGE"}
TTL_ATTRIBUTE = "ttl"
FINDING, ATTEMPT, SIGHTINGS, RUN, SUMMARY = "finding", "attempt", "sightings", "run", "summary"
RUNS, ACCOUNTS, HISTORY, TABLE = "RUNS", "ACCOUNTS", "HISTORY", "TABLE"
_COUNTER, _LAYOUT_SK, _SEQ_DIGITS = "SEQ", "LAYOUT", 12
DAY = 86400
#: An open finding is stored to expire this long after ttl_days past its last write, and its TTL is
#: refreshed once a sighting finds it within REFRESH_WITHIN_DAYS of that: one write in 60 days.
OPEN_SLACK_DAYS, REFRESH_WITHIN_DAYS = 90, 30


# -- keys ------------------------------------------------------------------------------------
def account_pk(account_id: str) -> str:
    """The partition holding everything about one account."""
    return f"A#{account_id}"


def key(pk: str, sk: str) -> dict[str, Any]:
    """A primary key as DynamoDB attributes."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _numbered(prefix: str, seq: int) -> str:
    """A sort key for a number the table handed out, zero-padded so keys sort as numbers do."""
    return f"{prefix}#{seq:0{_SEQ_DIGITS}d}"


def finding_sk(region: str, plugin: str, resource_id: str) -> str:
    """A finding's sort key in its account's partition."""
    return f"F#{region}#{plugin}#{resource_id}"


def finding_key(account_id: str, region: str, plugin: str, resource_id: str) -> dict[str, Any]:
    """A finding's key."""
    return key(account_pk(account_id), finding_sk(region, plugin, resource_id))


def finding_prefix(region: str | None = None) -> str:
    """The sort-key prefix of an account's findings (of one region, if given)."""
    return "F#" if region is None else f"F#{region}#"


def finding_place(sk: str) -> tuple[str, str, str]:
    """(region, plugin, resource_id) from a finding's sort key."""
    _, region, plugin, resource_id = sk.split("#", 3)
    return region, plugin, resource_id


ATTEMPTS_PREFIX = "R#"  # an account's attempts and their sightings, in the order of attempts
_PARTS = "#S#"


def attempt_of(sk: str) -> str:
    """The sort key of the attempt an item of an account's attempts belongs to (itself, or the
    attempt whose sightings it holds a part of)."""
    return sk.split(_PARTS)[0]


def is_legacy_finding(item: Mapping[str, Any]) -> bool:
    """Whether a finding item is keyed as 0.1 keyed them (``<account>#<region>``), not by account."""
    return not str(item["pk"]).startswith(account_pk(""))


def counter_key(pk: str) -> dict[str, Any]:
    """The key of a partition's counter (an account's attempts, or the runs)."""
    return key(pk, _COUNTER)


def done_key(account_id: str, run_seq: int) -> dict[str, Any]:
    """The key of the marker saying a run has counted an account done."""
    return key(account_pk(account_id), _numbered("D", run_seq))


def done_account(pk: str) -> str:
    """The account a done marker (or anything in an account's partition) is about."""
    return pk.removeprefix(account_pk(""))


def run_key(run_seq: int) -> dict[str, Any]:
    """The key of a run's record."""
    return key(RUNS, _numbered("R", run_seq))


def run_range(before: int | None) -> tuple[str, str]:
    """The sort keys bounding the records of every run (before run ``before``, if given)."""
    last = _numbered("R", before - 1) if before is not None else "R#~"  # '~' sorts after every digit
    return _numbered("R", 0), last


def run_accounts_prefix(run_seq: int) -> str:
    """The sort-key prefix of the parts of a run's account list."""
    return _numbered("L", run_seq) + "#"


HISTORY_PREFIX = "H#"


def history_key(run_seq: int) -> dict[str, Any]:
    """The key of a run's summary in the history."""
    return key(HISTORY, _numbered("H", run_seq))


def layout_key() -> dict[str, Any]:
    """The key of the item that says which layout the table holds."""
    return key(TABLE, _LAYOUT_SK)


def ttl(now: dt.datetime, days: int) -> int:
    """Epoch seconds ``days`` after ``now``."""
    return int(now.timestamp()) + days * DAY


# -- items -----------------------------------------------------------------------------------
def finding_item(finding: Finding, *, plugin: str, account: Account, region: str, run_id: str, attempt: int,
                 now: dt.datetime, ttl_days: int, first_seen: tuple[str, int] | None) -> dict[str, Any]:
    """The item of a finding seen by ``attempt``; ``first_seen`` is (time, attempt) if stored before."""
    first_time, first_seq = first_seen or (iso(now), attempt)
    seen = sightings.sighting(finding)
    item = {
        "pk": account_pk(account.id), "sk": finding_sk(region, plugin, finding.resource_id), "kind": FINDING,
        "plugin": plugin, "account_id": account.id, "account_name": account.name, "region": region,
        "resource_id": finding.resource_id, "severity": finding.severity, "summary": finding.summary,
        "details": dict(finding.details), "run_id": run_id, "seen_seq": attempt, "first_seen": first_time,
        "first_seq": first_seq, "last_seen": iso(now), "ttl_days": ttl_days, "sighting": seen,
        "ttl": open_ttl(now, ttl_days, first_write=seen),
    }
    if finding.tags:  # only when there are some: an untagged finding's item is as before
        item["tags"] = dict(finding.tags)
    if size(item) > MAX_ITEM_BYTES:
        raise BadFinding(f"{finding.resource_id:.80}: item is over DynamoDB's 400 KB limit")
    return item


def open_ttl(now: dt.datetime, ttl_days: int, *, first_write: bytes | None = None) -> int:
    """When DynamoDB may delete an open finding written now. A first write is spread by its key over
    60 days, so that the refreshes of findings first seen together do not all fall in one run."""
    slack = OPEN_SLACK_DAYS
    if first_write is not None:
        slack = REFRESH_WITHIN_DAYS + 1 + first_write[0] * (OPEN_SLACK_DAYS - REFRESH_WITHIN_DAYS - 1) // 255
    return ttl(now, ttl_days + slack)


def needs_refresh(stored_ttl: int, now: dt.datetime, ttl_days: int) -> bool:
    """Whether a finding seen again must have its TTL pushed back (or brought back from a resolve)."""
    return stored_ttl < ttl(now, ttl_days + REFRESH_WITHIN_DAYS)


def done_marker(account_id: str, run_seq: int, now: dt.datetime, ttl_days: int) -> dict[str, Any]:
    """The marker of an account counted done in a run (written once, by a conditional put)."""
    return {**plain_key(done_key(account_id, run_seq)), "ttl": ttl(now, ttl_days)}


def account_index_item(account: Account, now: dt.datetime, ttl_days: int) -> dict[str, Any]:
    """An account's place in the index readers find accounts through (with its OU path, if it has one)."""
    item: dict[str, Any] = {"pk": ACCOUNTS, "sk": account.id, "name": account.name, "ttl": ttl(now, ttl_days)}
    if account.ou is not None:
        item["ou"] = account.ou
    return item


def run_items(run_id: str, run_seq: int, accounts: Sequence[str], *, now: dt.datetime, ttl_days: int,
              deadline: dt.datetime) -> list[dict[str, Any]]:
    """A run's record, then its account list in parts (so the record stays small for every worker's update)."""
    expires = ttl(now, ttl_days)
    run = {**plain_key(run_key(run_seq)), "kind": RUN, "run_id": run_id, "run_seq": run_seq, "started": iso(now),
           "deadline": int(deadline.timestamp()), "expected": len(accounts), "done": 0, "ttl": expires}
    parts = [{"pk": RUNS, "sk": f"{run_accounts_prefix(run_seq)}{part:04d}",
              "accounts": list(accounts[start : start + ACCOUNTS_PER_ITEM]), "ttl": expires}
             for part, start in enumerate(range(0, len(accounts), ACCOUNTS_PER_ITEM))]
    return [run, *parts]


def failed_run_item(run_id: str, run_seq: int, reason: str, *, now: dt.datetime, ttl_days: int) -> dict[str, Any]:
    """A run that could not start: waiting for no account, its report counted sent, ``failed`` saying why."""
    return {**plain_key(run_key(run_seq)), "kind": RUN, "run_id": run_id, "run_seq": run_seq, "started": iso(now),
            "deadline": 0, "expected": 0, "done": 0, "failed": reason, "report_sent": True, "ttl": ttl(now, ttl_days)}


def attempt_items(result: AccountResult, collectors: Sequence[str], *, seen: Mapping[Place, bytes] | None,
                  seen_at: dt.datetime, now: dt.datetime, ttl_days: int) -> list[dict[str, Any]]:
    """The record of one attempt, last, after the parts of its sightings that do not fit in it: the
    places it scanned successfully (``ok``, by plugin), what each of its scans saw, and its result."""
    ok: dict[str, list[str]] = {}
    for scan in result.scans:
        if scan.ok:
            ok.setdefault(scan.plugin, []).append(scan.region)
    pk, sk = account_pk(result.account.id), _numbered("R", result.attempt)
    item: dict[str, Any] = {
        "pk": pk, "sk": sk, "kind": ATTEMPT, "account_id": result.account.id, "run_id": result.run_id,
        "run_seq": result.run_seq, "start": result.attempt, "end": result.attempt_end, "status": str(result.status),
        "ok": json.dumps(ok, sort_keys=True, separators=(",", ":")),
        "result": json.dumps(compact(result.to_dict(), collectors), sort_keys=True, separators=(",", ":")),
        "finished": iso(dt.datetime.now(dt.timezone.utc)), "seen_at": iso(seen_at), "ttl_days": ttl_days,
        "ttl": ttl(now, ttl_days)}
    blobs = {p: b for p, b in (seen or {}).items() if b}
    parts: list[dict[str, Any]] = []
    if sum(len(b) for b in blobs.values()) <= INLINE_SIGHTINGS_BYTES:
        item["seen"] = _blobs(blobs)
    else:
        parts = [{"pk": pk, "sk": f"{sk}{_PARTS}{n:04d}", "kind": SIGHTINGS, "seen": _blobs(part), "ttl": item["ttl"]}
                 for n, part in enumerate(sightings.split(blobs, SIGHTINGS_PART_BYTES))]
        item["seen_parts"] = len(parts)
    if size(item) > MAX_ITEM_BYTES:  # tens of thousands of places: it can no longer resolve anything
        item["ok"] = "{}"
    return [*parts, item]


def compact(result: Mapping[str, Any], collectors: Sequence[str]) -> dict[str, Any]:
    """The attempt's result small enough to store: per-scan cost first, then the rows of scans that
    succeeded (the ``ok`` attribute keeps those anyway) go when the record would grow too big."""
    data = dict(result)
    if size(data) > MAX_RECORD_BYTES:
        data["scans"] = [[r, p, n, 0, 0.0, ok] for r, p, n, *_, ok in data.get("scans", [])]
    if size(data) > MAX_RECORD_BYTES:
        data["scans"] = [row for row in data["scans"] if not row[-1]][:1000]
        data["scans_summarised"] = {"collectors": list(collectors), "regions": data.get("regions", [])}
    return data


def summary_item(summary: RunSummary, now: dt.datetime, ttl_days: int) -> dict[str, Any]:
    """A run's summary, its numbers in one compact JSON attribute (a few hundred bytes a run)."""
    numbers = {"accounts": summary.accounts, "severities": dict(summary.severities),
               "plugins": {p: [c.open, c.new, c.resolved, c.muted] for p, c in sorted(summary.plugins.items())},
               "problems": [list(p) for p in summary.problems], "problem_count": summary.problem_count}
    return {**plain_key(history_key(summary.run_seq)), "kind": SUMMARY, "run_id": summary.run_id,
            "run_seq": summary.run_seq, "time": summary.time,
            "numbers": json.dumps(numbers, sort_keys=True, separators=(",", ":")), "ttl": ttl(now, ttl_days)}


def layout_item(layout: str = LAYOUT) -> dict[str, Any]:
    """The record of the layout the table holds (never expires)."""
    return {**plain_key(layout_key()), "layout": layout}


def plain_key(attributes: Mapping[str, Any]) -> dict[str, str]:
    return {name: value["S"] for name, value in attributes.items()}


def _blobs(blobs: Mapping[Place, bytes]) -> dict[str, bytes]:
    return {f"{region} {plugin}": data for (region, plugin), data in blobs.items()}


# -- items as records ------------------------------------------------------------------------
@dataclass(frozen=True)
class Known:
    """What the writer needs of a stored finding: its first sighting, its content, and its TTL."""

    first_seen: str
    first_seq: int
    sighting: bytes | None  # None: written by 0.3 or before (its content is rewritten once)
    ttl: int
    seen_seq: int

    def refresh_due(self, now: dt.datetime, ttl_days: int) -> bool:
        """Whether a sighting must push its TTL back (or bring it back from a resolve)."""
        return needs_refresh(self.ttl, now, ttl_days)

    def resolvable(self, attempt: int, now: dt.datetime, ttl_days: int) -> bool:
        """Whether an attempt that did not see it may mark it to expire ``ttl_days`` from now."""
        return self.seen_seq < attempt and self.ttl > ttl(now, ttl_days)


def to_known(item: Mapping[str, Any]) -> Known:
    """A finding item, as projected for the writer (see Store.first_seen)."""
    return Known(str(item.get("first_seen")), int(item.get("first_seq") or 0), item.get("sighting"),
                 int(item.get("ttl") or 0), int(item.get("seen_seq") or 0))


@dataclass(frozen=True)
class _Sighter:
    start: int
    seen: Seen
    run_id: str
    seen_at: str
    ttl_days: int


class Sightings:
    """Every recorded attempt's sightings, newest first: who last saw a finding the table did not rewrite."""

    def __init__(self) -> None:
        self._sighters: list[_Sighter] = []

    def add(self, item: Mapping[str, Any], parts: Iterable[Mapping[str, Any]]) -> None:
        """An attempt's item and the parts of its sightings, in key order."""
        seen = Seen()
        for holder in (item, *parts):
            for place, data in (holder.get("seen") or {}).items():
                region, plugin = place.split(" ", 1)
                seen.add((region, plugin), data)
        if seen:
            self._sighters.append(_Sighter(int(item["start"]), seen, str(item["run_id"]),
                                           str(item.get("seen_at") or ""), int(item.get("ttl_days") or 0)))
            self._sighters.sort(key=lambda s: -s.start)

    def to_finding(self, item: Mapping[str, Any]) -> StoredFinding:
        """A finding item as the domain's record, seen as late as the newest attempt that saw it."""
        finding = {k: item.get(k) for k in SCHEMA_FIELDS}
        finding["tags"] = dict(item.get("tags") or {})
        seen_seq = int(item.get("seen_seq") or 0)
        days = item.get("ttl_days")
        last_seen = parse_time(item.get("last_seen"))
        for sighter in self._sighters:
            if sighter.start <= seen_seq:
                break
            if sighter.seen.saw((item["region"], item["plugin"]), str(item["resource_id"])):
                seen_seq, days, last_seen = sighter.start, sighter.ttl_days, parse_time(sighter.seen_at)
                finding.update(run_id=sighter.run_id, last_seen=sighter.seen_at)
                break
        if days is not None and last_seen is not None:  # exact: ttl_days after it was last seen
            finding["ttl"] = int(last_seen.timestamp()) + int(days) * DAY
        return StoredFinding(finding=finding, seen_seq=seen_seq, first_seq=int(item.get("first_seq") or 0),
                             muted=item.get("muted"))


def to_attempt(item: Mapping[str, Any]) -> Attempt:
    """An attempt item as the domain's record."""
    ok = json.loads(item.get("ok") or "{}")
    return Attempt(account_id=item["account_id"], run_id=item["run_id"], run_seq=int(item["run_seq"]),
                   start=int(item["start"]), end=int(item["end"]), status=str(item["status"]),
                   ok_places=frozenset((region, plugin) for plugin, regions in ok.items() for region in regions),
                   result=json.loads(item.get("result") or "{}"))


def to_run(item: Mapping[str, Any], accounts: Iterable[str]) -> RunRecord:
    """A run item, and its account list, as the domain's record."""
    return RunRecord(run_id=item["run_id"], run_seq=int(item["run_seq"]), started=str(item.get("started") or ""),
                     accounts=tuple(str(a) for a in accounts), deadline=int(item.get("deadline") or 0),
                     done=int(item.get("done") or 0), notified=bool(item.get("report_sent")),
                     failed=item.get("failed"))


def to_summary(item: Mapping[str, Any]) -> RunSummary:
    """A history item as the domain's record."""
    numbers = json.loads(item.get("numbers") or "{}")
    return RunSummary(run_id=str(item["run_id"]), run_seq=int(item["run_seq"]), time=str(item.get("time") or ""),
                      accounts=int(numbers.get("accounts") or 0),
                      plugins={p: PluginCounts(*c) for p, c in (numbers.get("plugins") or {}).items()},
                      severities=dict(numbers.get("severities") or {}),
                      problems=tuple((str(a), str(s)) for a, s in numbers.get("problems") or ()),
                      problem_count=int(numbers.get("problem_count") or 0))


def to_account(item: Mapping[str, Any]) -> Account:
    """An entry of the account index as the domain's record."""
    return Account(item["sk"], str(item.get("name") or item["sk"]), item.get("ou"))
