"""The item layout of the findings table: keys, how values are stored, and items as the domain's
records. Only collector_core.store.table calls the table; this module shapes what goes in and out."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from collector_core.collector import Account, Finding
from collector_core.findings import (
    SCHEMA_FIELDS,
    Attempt,
    BadFinding,
    PluginCounts,
    RunRecord,
    RunSummary,
    StoredFinding,
    iso,
)

MAX_ITEM_BYTES = 400 * 1024
#: An attempt's result is compacted below this many bytes of JSON (see compact).
MAX_RECORD_BYTES = 300 * 1024
KEY_SCHEMA = {"pk": "HASH", "sk": "RANGE"}
TTL_ATTRIBUTE = "ttl"
FINDING, ATTEMPT, RUN, SUMMARY = "finding", "attempt", "run", "summary"
RUNS, ACCOUNTS, HISTORY, COUNTER = "RUNS", "ACCOUNTS", "HISTORY", "SEQ"
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


# -- keys ------------------------------------------------------------------------------------
def account_pk(account_id: str) -> str:
    """The partition holding everything about one account."""
    return f"A#{account_id}"


def numbered(prefix: str, seq: int) -> str:
    """A sort key for a number the table handed out, zero-padded so keys sort as numbers do."""
    return f"{prefix}#{seq:012d}"


def finding_sk(region: str, plugin: str, resource_id: str) -> str:
    """A finding's sort key in its account's partition."""
    return f"F#{region}#{plugin}#{resource_id}"


def key(pk: str, sk: str) -> dict[str, Any]:
    """A primary key as DynamoDB attributes."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def run_key(run_seq: int) -> dict[str, Any]:
    """The key of a run's record."""
    return key(RUNS, numbered("R", run_seq))


def ttl(now: dt.datetime, days: int) -> int:
    """Epoch seconds ``days`` after ``now``."""
    return int(now.timestamp()) + days * 86400


# -- items -----------------------------------------------------------------------------------
def finding_item(finding: Finding, *, plugin: str, account: Account, region: str, run_id: str, attempt: int,
                 now: dt.datetime, ttl_days: int, first_seen: tuple[str, int] | None) -> dict[str, Any]:
    """The item of a finding seen by ``attempt``; ``first_seen`` is (time, attempt) if stored before."""
    first_time, first_seq = first_seen or (iso(now), attempt)
    item = {
        "pk": account_pk(account.id), "sk": finding_sk(region, plugin, finding.resource_id), "kind": FINDING,
        "plugin": plugin, "account_id": account.id, "account_name": account.name, "region": region,
        "resource_id": finding.resource_id, "severity": finding.severity, "summary": finding.summary,
        "details": dict(finding.details), "run_id": run_id, "seen_seq": attempt, "first_seen": first_time,
        "first_seq": first_seq, "last_seen": iso(now), "ttl": ttl(now, ttl_days),
    }
    if finding.tags:  # only when there are some: an untagged finding's item is as before
        item["tags"] = dict(finding.tags)
    if size(item) > MAX_ITEM_BYTES:
        raise BadFinding(f"{finding.resource_id:.80}: item is over DynamoDB's 400 KB limit")
    return item


def account_index_item(account: Account, now: dt.datetime, ttl_days: int) -> dict[str, Any]:
    """An account's place in the index readers find accounts through (with its OU path, if it has one)."""
    item: dict[str, Any] = {"pk": ACCOUNTS, "sk": account.id, "name": account.name, "ttl": ttl(now, ttl_days)}
    if account.ou is not None:
        item["ou"] = account.ou
    return item


def attempt_item(result: Mapping[str, Any], collectors: Sequence[str], now: dt.datetime,
                 ttl_days: int) -> dict[str, Any]:
    """The record of one attempt: the places it scanned successfully (``ok``, by plugin) and its result."""
    account = result["account"]
    ok: dict[str, list[str]] = {}
    for region, plugin, *_, scan_ok in result.get("scans", []):
        if scan_ok:
            ok.setdefault(plugin, []).append(region)
    item = {"pk": account_pk(account["id"]), "sk": numbered("R", result["attempt"]), "kind": ATTEMPT,
            "account_id": account["id"], "run_id": result["run_id"], "run_seq": result["run_seq"],
            "start": result["attempt"], "end": result["attempt_end"], "status": result["status"],
            "ok": json.dumps(ok, sort_keys=True, separators=(",", ":")),
            "result": json.dumps(compact(result, collectors), sort_keys=True, separators=(",", ":")),
            "finished": iso(dt.datetime.now(dt.timezone.utc)), "ttl": ttl(now, ttl_days)}
    if size(item) > MAX_ITEM_BYTES:  # tens of thousands of places: it can no longer resolve anything
        item["ok"] = "{}"
    return item


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
    return {"pk": HISTORY, "sk": numbered("H", summary.run_seq), "kind": SUMMARY, "run_id": summary.run_id,
            "run_seq": summary.run_seq, "time": summary.time,
            "numbers": json.dumps(numbers, sort_keys=True, separators=(",", ":")), "ttl": ttl(now, ttl_days)}


# -- items as records ------------------------------------------------------------------------
def to_finding(item: Mapping[str, Any]) -> StoredFinding:
    """A finding item as the domain's record."""
    finding = {k: item.get(k) for k in SCHEMA_FIELDS}
    finding["tags"] = dict(item.get("tags") or {})
    return StoredFinding(finding=finding, seen_seq=int(item.get("seen_seq") or 0),
                         first_seq=int(item.get("first_seq") or 0), muted=item.get("muted"))


def to_attempt(item: Mapping[str, Any]) -> Attempt:
    """An attempt item as the domain's record."""
    ok = json.loads(item.get("ok") or "{}")
    return Attempt(account_id=item["account_id"], run_id=item["run_id"], run_seq=int(item["run_seq"]),
                   start=int(item["start"]), end=int(item["end"]), status=str(item["status"]),
                   ok_places=frozenset((region, plugin) for plugin, regions in ok.items() for region in regions),
                   result=json.loads(item.get("result") or "{}"))


def to_run(item: Mapping[str, Any]) -> RunRecord:
    """A run item as the domain's record."""
    return RunRecord(run_id=item["run_id"], run_seq=int(item["run_seq"]), started=str(item.get("started") or ""),
                     accounts=tuple(str(a) for a in item.get("accounts") or ()),
                     deadline=int(item.get("deadline") or 0), done=int(item.get("done") or 0),
                     notified=bool(item.get("report_sent")), failed=item.get("failed"))


def to_summary(item: Mapping[str, Any]) -> RunSummary:
    """A history item as the domain's record."""
    numbers = json.loads(item.get("numbers") or "{}")
    return RunSummary(run_id=str(item["run_id"]), run_seq=int(item["run_seq"]), time=str(item.get("time") or ""),
                      accounts=int(numbers.get("accounts") or 0),
                      plugins={p: PluginCounts(*c) for p, c in (numbers.get("plugins") or {}).items()},
                      severities=dict(numbers.get("severities") or {}),
                      problems=tuple((str(a), str(s)) for a, s in numbers.get("problems") or ()),
                      problem_count=int(numbers.get("problem_count") or 0))


# -- values ----------------------------------------------------------------------------------
def attrs(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB attributes (floats as Decimal, which boto3's serializer requires)."""
    return {k: value(v) for k, v in item.items()}


def value(plain_value: Any) -> dict[str, Any]:
    """One plain value as a DynamoDB attribute value."""
    serialized: dict[str, Any] = _serializer.serialize(_decimals(plain_value))  # type: ignore[assignment]
    return serialized


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes as plain values (whole numbers as int, others as float)."""
    return {k: _numbers(_deserializer.deserialize(v)) for k, v in item.items()}


def size(item: Mapping[str, Any]) -> int:
    """About DynamoDB's size of an item: attribute names plus values (strings in UTF-8)."""
    return sum(len(k.encode()) + len(json.dumps(v, default=str).encode()) for k, v in item.items())


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v) for v in value]
    return value


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, set):
        return {_numbers(v) for v in value}
    return value
