"""The findings table: the only code that knows its item layout and the only caller of its data.

Item layout (one table, keys ``pk``/``sk``, TTL on ``ttl``):

- finding:     pk = ``<account_id>#<region>``, sk = ``<plugin>#<resource_id>``. One partition per
  account-region spreads a run's writes; a re-run or a Lambda retry overwrites the same item.
- account run: pk = ``ACCOUNT#<account_id>``, sk = ``<run_id>``: what that account's worker scanned,
  found and failed at. Findings are resolved against the latest of these at read time.
- run:         pk = ``RUN``, sk = ``<run_id>``: accounts expected and done, for run completion.

Values are stored with boto3's serializers (details as a map). Tables written by earlier versions
hold details and account lists as JSON strings; they read the same.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from collector_core.collector import Account, Finding
from collector_core.findings import SCHEMA_FIELDS, AccountRun, BadFinding, RunRecord, StoredFinding, TableContents, iso
from collector_core.runtime.clients import Clients, home_region

BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit
MAX_ITEM_BYTES = 400 * 1024
FINDING, ACCOUNT_RUN, RUN = "finding", "account_run", "run"
_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


@dataclass(frozen=True)
class WriteFailure:
    """A finding DynamoDB did not take, after retries."""

    region: str
    plugin: str
    resource_id: str
    error: str


class Store:
    """The findings table, reached through one low-level DynamoDB client."""

    def __init__(self, table: str, client: Any, *, max_attempts: int = 10, backoff: float = 0.05) -> None:
        self.table = table
        self._client = client
        self.max_attempts = max_attempts
        self.backoff = backoff

    @classmethod
    def open(cls, table: str, clients: Clients, **options: Any) -> Store:
        """The table in the runtime's home region, through the shared clients."""
        return cls(table, clients.client("dynamodb", home_region()), **options)

    # -- table -----------------------------------------------------------------------------
    def ensure_table(self) -> bool:
        """Create the table (same keys and TTL as serverless.yml) if missing; True if created."""
        try:
            self._client.describe_table(TableName=self.table)
            return False
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        try:
            self._client.create_table(
                TableName=self.table,
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                BillingMode="PAY_PER_REQUEST",
                SSESpecification={"Enabled": True},
            )
        except ClientError as exc:  # another process created it first
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        self._client.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        self._client.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
        return True

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, run_id: str, accounts: list[str], *, now: dt.datetime, ttl_days: int) -> None:
        """Record a run and the accounts it expects to hear from."""
        self._put({
            "pk": "RUN", "sk": run_id, "kind": RUN, "run_id": run_id, "started": iso(now),
            "expected": len(accounts), "accounts": accounts, "ttl": _ttl(now, ttl_days),
        })

    def record_account(self, result: Mapping[str, Any], *, now: dt.datetime, ttl_days: int) -> tuple[int, int]:
        """Store an account's run record and count it done in its run: (done, expected).

        ``result`` is runtime.messages.AccountResult.to_dict(). Counting is idempotent under retries.
        """
        account_id, run_id = result["account"]["id"], result["run_id"]
        self._put({
            "pk": f"ACCOUNT#{account_id}", "sk": run_id, "kind": ACCOUNT_RUN, "account_id": account_id,
            "run_id": run_id, "status": result["status"], "finished": iso(dt.datetime.now(dt.timezone.utc)),
            "result": json.dumps(result, sort_keys=True), "ttl": _ttl(now, ttl_days),
        })
        resp = self._client.update_item(
            TableName=self.table,
            Key=_key("RUN", run_id),
            UpdateExpression="ADD done_accounts :a",
            ExpressionAttributeValues={":a": {"SS": [account_id]}},
            ReturnValues="ALL_NEW",
        )
        attrs = resp["Attributes"]
        expected = int(attrs.get("expected", {}).get("N", "0"))
        return len(attrs["done_accounts"]["SS"]), expected

    def claim_report(self, run_id: str) -> bool:
        """True for exactly one caller per run: whoever sends the run's report."""
        try:
            self._client.update_item(
                TableName=self.table,
                Key=_key("RUN", run_id),
                UpdateExpression="SET notified = :t",
                ConditionExpression="attribute_not_exists(notified)",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    # -- findings --------------------------------------------------------------------------
    @staticmethod
    def finding_item(
        finding: Finding, *, plugin: str, account: Account, region: str, run_id: str,
        now: dt.datetime, ttl_days: int, first_seen: tuple[str, str] | None,
    ) -> dict[str, Any]:
        """The item of a finding; ``first_seen`` is (time, run) if it was stored before."""
        seen = iso(now)
        first_time, first_run = first_seen or (seen, run_id)
        item = {
            "pk": f"{account.id}#{region}", "sk": f"{plugin}#{finding.resource_id}", "kind": FINDING,
            "plugin": plugin, "account_id": account.id, "account_name": account.name, "region": region,
            "resource_id": finding.resource_id, "severity": finding.severity, "summary": finding.summary,
            "details": dict(finding.details), "run_id": run_id, "first_seen": first_time or seen,
            "first_run": first_run or run_id, "last_seen": seen, "ttl": _ttl(now, ttl_days),
        }
        if _size(item) > MAX_ITEM_BYTES:
            raise BadFinding(f"{finding.resource_id:.80}: item is over DynamoDB's 400 KB limit")
        return item

    def first_seen(self, account_id: str, region: str) -> dict[tuple[str, str], tuple[str, str]]:
        """(plugin, resource_id) -> (first_seen, first_run) of an account-region's stored findings."""
        found: dict[tuple[str, str], tuple[str, str]] = {}
        for item in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{account_id}#{region}"}},
            ProjectionExpression="sk, first_seen, first_run",
        ):
            plugin, _, resource_id = item["sk"].partition("#")
            found[(plugin, resource_id)] = (item.get("first_seen", ""), item.get("first_run", ""))
        return found

    def write_batch(self, items: Sequence[Mapping[str, Any]]) -> list[WriteFailure]:
        """One BatchWriteItem of at most 25 finding items, retried with backoff until written."""
        pending = [{"PutRequest": {"Item": _attrs(i)}} for i in items]
        error = "UnprocessedItems after retries"
        for attempt in range(self.max_attempts):
            try:
                resp = self._client.batch_write_item(RequestItems={self.table: pending})
            except ClientError as exc:  # botocore retried throttling already; back off and retry
                error = f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
                if exc.response["Error"]["Code"] == "ValidationException":
                    return self._write_one_by_one(pending)
            else:
                pending = resp.get("UnprocessedItems", {}).get(self.table, [])
                if not pending:
                    return []
            time.sleep(min(2.0, self.backoff * 2**attempt) * random.uniform(0.5, 1.0))
        return [_failure(r["PutRequest"]["Item"], error) for r in pending]

    def _write_one_by_one(self, requests: list[dict[str, Any]]) -> list[WriteFailure]:
        """A batch DynamoDB rejects whole: put each item alone so only the bad ones fail."""
        failures = []
        for request in requests:
            item = request["PutRequest"]["Item"]
            try:
                self._client.put_item(TableName=self.table, Item=item)
            except ClientError as exc:
                failures.append(_failure(item, f"{exc.response['Error']['Code']}: "
                                               f"{exc.response['Error'].get('Message', '')}"))
        return failures

    def mark_muted(self, finding: Mapping[str, Any], reason: str | None) -> None:
        """Mark a stored finding muted (with the mute's reason), or unmark it with None."""
        update: dict[str, Any] = (
            {"UpdateExpression": "SET muted = :r", "ExpressionAttributeValues": {":r": {"S": reason}}}
            if reason else {"UpdateExpression": "REMOVE muted"}
        )
        # attribute_exists: never bring back an item DynamoDB has just expired.
        self._client.update_item(
            TableName=self.table,
            Key=_key(f"{finding['account_id']}#{finding['region']}", f"{finding['plugin']}#{finding['resource_id']}"),
            ConditionExpression="attribute_exists(pk)", **update,
        )

    # -- reads -----------------------------------------------------------------------------
    def read(self) -> TableContents:
        """Every finding and run record in the table (one paginated Scan)."""
        contents = TableContents()
        for page in self._client.get_paginator("scan").paginate(TableName=self.table):
            for raw in page.get("Items", []):
                item = _plain(raw)
                kind = item.get("kind")
                if kind == FINDING:
                    contents.findings.append(_stored_finding(item))
                elif kind == ACCOUNT_RUN:
                    contents.account_runs.append(_account_run(item))
                elif kind == RUN:
                    contents.runs.append(_run_record(item))
        return contents

    def account_runs(self, account_id: str, limit: int = 2) -> list[AccountRun]:
        """An account's latest run records, newest first."""
        return [_account_run(i) for i in self._latest(f"ACCOUNT#{account_id}", limit)]

    def runs(self, limit: int = 2) -> list[RunRecord]:
        """The latest run records, newest first."""
        return [_run_record(i) for i in self._latest("RUN", limit)]

    def run_progress(self, run_id: str) -> tuple[int, int]:
        """(accounts done, accounts expected) of a run."""
        item = self._client.get_item(TableName=self.table, Key=_key("RUN", run_id), ConsistentRead=True)
        plain = _plain(item.get("Item", {}))
        return len(plain.get("done_accounts") or ()), int(plain.get("expected") or 0)

    def _latest(self, pk: str, limit: int) -> list[dict[str, Any]]:
        resp = self._client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_plain(i) for i in resp.get("Items", [])]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._client.get_paginator("query").paginate(TableName=self.table, **kwargs):
            for item in page.get("Items", []):
                yield _plain(item)

    def _put(self, item: Mapping[str, Any]) -> None:
        self._client.put_item(TableName=self.table, Item=_attrs(item))


# -- items <-> records -----------------------------------------------------------------------
def _stored_finding(item: Mapping[str, Any]) -> StoredFinding:
    finding = {k: item.get(k) for k in SCHEMA_FIELDS}
    if isinstance(finding["details"], str):  # written by an earlier version, as JSON
        finding["details"] = json.loads(finding["details"])
    return StoredFinding(finding=finding, first_run=str(item.get("first_run") or item.get("run_id")),
                         muted=item.get("muted"))


def _account_run(item: Mapping[str, Any]) -> AccountRun:
    return AccountRun(account_id=item["account_id"], run_id=item["run_id"], status=str(item.get("status")),
                      result=json.loads(item.get("result") or "{}"))


def _run_record(item: Mapping[str, Any]) -> RunRecord:
    accounts = item.get("accounts") or []
    if isinstance(accounts, str):  # written by an earlier version, as JSON
        accounts = json.loads(accounts or "[]")
    return RunRecord(run_id=item["run_id"], started=str(item.get("started") or ""),
                     accounts=[str(a) for a in accounts], notified=bool(item.get("notified")))


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _ttl(now: dt.datetime, days: int) -> int:
    return int(now.timestamp()) + days * 86400


def _attrs(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item as DynamoDB attributes (floats as Decimal, which the serializer requires)."""
    return {k: _serializer.serialize(_decimals(v)) for k, v in item.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes as plain values (whole numbers as int, others as float)."""
    return {k: _numbers(_deserializer.deserialize(v)) for k, v in item.items()}


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


def _failure(attrs: Mapping[str, Any], error: str) -> WriteFailure:
    item = _plain({k: attrs[k] for k in ("region", "plugin", "resource_id") if k in attrs})
    return WriteFailure(str(item.get("region")), str(item.get("plugin")), str(item.get("resource_id")), error)


def _size(item: Mapping[str, Any]) -> int:
    """About DynamoDB's size of an item: attribute names plus values (strings in UTF-8)."""
    return sum(len(k.encode()) + len(json.dumps(v, default=str).encode()) for k, v in item.items())
