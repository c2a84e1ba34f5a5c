"""The shared DynamoDB table: findings under deterministic keys, and run records beside them.

Item layout (one table, keys ``pk``/``sk``, TTL on ``ttl``):

- finding:     pk = ``<account_id>#<region>``, sk = ``<plugin>#<resource_id>``. One partition per
  account-region spreads a run's writes; a re-run or a Lambda retry overwrites the same item.
- account run: pk = ``ACCOUNT#<account_id>``, sk = ``<run_id>``: what that account's worker scanned,
  found and failed at. Findings are resolved against the latest of these at read time.
- run:         pk = ``RUN``, sk = ``<run_id>``: accounts expected and done, for run completion.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit
MAX_ITEM_BYTES = 400 * 1024
SCHEMA_FIELDS = (
    "plugin", "account_id", "account_name", "region", "resource_id", "severity", "summary",
    "details", "run_id", "first_seen", "last_seen", "ttl",
)


@dataclass(frozen=True)
class WriteFailure:
    """An item DynamoDB did not take, after retries."""

    item: Mapping[str, Any]
    error: str


def finding_key(account_id: str, region: str, plugin: str, resource_id: str) -> dict[str, str]:
    """The deterministic key of a finding."""
    return {"pk": f"{account_id}#{region}", "sk": f"{plugin}#{resource_id}"}


def to_attr(value: Any) -> dict[str, Any]:
    """A plain value as a DynamoDB attribute; nested data is stored as a JSON string."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    return {"S": json.dumps(value, sort_keys=True, separators=(",", ":"))}


def from_attr(attr: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute as a plain value."""
    ((kind, value),) = attr.items()
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "NULL":
        return None
    return value


def item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings in UTF-8)."""
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in item.items())


class Store:
    """The findings table, reached through one low-level DynamoDB client."""

    def __init__(self, table: str, client: Any, *, max_attempts: int = 10, backoff: float = 0.05) -> None:
        self.table = table
        self.client = client
        self.max_attempts = max_attempts
        self.backoff = backoff

    # -- table -----------------------------------------------------------------------------
    def ensure_table(self) -> bool:
        """Create the table (same keys and TTL as serverless.yml) if missing; True if created."""
        try:
            self.client.describe_table(TableName=self.table)
            return False
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        try:
            self.client.create_table(
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
        self.client.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        self.client.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )
        return True

    # -- writes ----------------------------------------------------------------------------
    def first_seen(self, account_id: str, region: str) -> dict[str, tuple[str, str]]:
        """sk -> (first_seen, first_run) of the findings already stored for an account-region."""
        found: dict[str, tuple[str, str]] = {}
        for item in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{account_id}#{region}"}},
            ProjectionExpression="sk, first_seen, first_run",
        ):
            found[item["sk"]] = (item.get("first_seen", ""), item.get("first_run", ""))
        return found

    def write(self, items: Iterable[Mapping[str, Any]]) -> list[WriteFailure]:
        """Put items in batches of 25, retrying what comes back unprocessed; return what failed."""
        failures: list[WriteFailure] = []
        batch: list[Mapping[str, Any]] = []
        for item in items:
            batch.append(item)
            if len(batch) == BATCH_SIZE:
                failures += self.write_batch(batch)
                batch = []
        if batch:
            failures += self.write_batch(batch)
        return failures

    def write_batch(self, items: list[Mapping[str, Any]]) -> list[WriteFailure]:
        """One BatchWriteItem of at most 25 items, retried with backoff until written."""
        pending = [{"PutRequest": {"Item": {k: to_attr(v) for k, v in i.items()}}} for i in items]
        error = "UnprocessedItems after retries"
        for attempt in range(self.max_attempts):
            try:
                resp = self.client.batch_write_item(RequestItems={self.table: pending})
            except ClientError as exc:  # botocore retried throttling already; back off and retry
                error = f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
                if exc.response["Error"]["Code"] == "ValidationException":
                    return self._write_one_by_one(pending)
            else:
                pending = resp.get("UnprocessedItems", {}).get(self.table, [])
                if not pending:
                    return []
            time.sleep(min(2.0, self.backoff * 2**attempt) * random.uniform(0.5, 1.0))
        return [WriteFailure(_plain(r["PutRequest"]["Item"]), error) for r in pending]

    def _write_one_by_one(self, requests: list[dict[str, Any]]) -> list[WriteFailure]:
        """A batch DynamoDB rejects whole: put each item alone so only the bad ones fail."""
        failures = []
        for request in requests:
            item = request["PutRequest"]["Item"]
            try:
                self.client.put_item(TableName=self.table, Item=item)
            except ClientError as exc:
                failures.append(WriteFailure(_plain(item), f"{exc.response['Error']['Code']}: "
                                             f"{exc.response['Error'].get('Message', '')}"))
        return failures

    def put(self, item: Mapping[str, Any]) -> None:
        """Put one item (run records)."""
        self.client.put_item(TableName=self.table, Item={k: to_attr(v) for k, v in item.items()})

    def mark_account_done(self, run_id: str, account_id: str) -> tuple[int, int]:
        """Count an account as done in its run; (done, expected). Idempotent under retries."""
        resp = self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": "RUN"}, "sk": {"S": run_id}},
            UpdateExpression="ADD done_accounts :a",
            ExpressionAttributeValues={":a": {"SS": [account_id]}},
            ReturnValues="ALL_NEW",
        )
        attrs = resp["Attributes"]
        expected = int(attrs.get("expected", {}).get("N", "0"))
        return len(attrs["done_accounts"]["SS"]), expected

    def claim_notification(self, run_id: str) -> bool:
        """True for exactly one caller per run: whoever sends the run's report."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": "RUN"}, "sk": {"S": run_id}},
                UpdateExpression="SET notified = :t",
                ConditionExpression="attribute_not_exists(notified)",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    # -- reads -----------------------------------------------------------------------------
    def items(self) -> Iterator[dict[str, Any]]:
        """Every item in the table, in plain values (one paginated scan)."""
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table):
            for item in page.get("Items", []):
                yield _plain(item)

    def account_runs(self, account_id: str, limit: int = 2) -> list[dict[str, Any]]:
        """An account's latest run records, newest first."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ACCOUNT#{account_id}"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_plain(i) for i in resp.get("Items", [])]

    def runs(self, limit: int = 2) -> list[dict[str, Any]]:
        """The latest run records, newest first."""
        resp = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "RUN"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_plain(i) for i in resp.get("Items", [])]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(TableName=self.table, **kwargs):
            for item in page.get("Items", []):
                yield _plain(item)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}
