"""The findings table's data plane: every read and write of its items; nothing else makes them."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from collector_core.aws.clients import Clients, home_region
from collector_core.collector import Account
from collector_core.findings import AccountState, RunRecord, RunSummary, iso
from collector_core.store import layout
from collector_core.store.layout import (
    ACCOUNTS,
    ATTEMPT,
    COUNTER,
    FINDING,
    HISTORY,
    KEY_SCHEMA,
    RUN,
    RUNS,
    TTL_ATTRIBUTE,
)
from collector_core.store.read_ahead import ReadAhead

#: Account ids per item of a run's account list (about 15 bytes each, well under the item limit).
ACCOUNTS_PER_ITEM = 10_000
#: A condition that lets a finding be written only by an attempt at least as new as the one that wrote it.
NOT_OLDER = "attribute_not_exists(pk) OR seen_seq <= :seq"
#: Findings per page read (items of up to 400 KB, mostly a few KB): what a reader holds per account.
FINDINGS_PAGE = 200


class TableError(Exception):
    """The table is not one this version can use; nothing was written."""


@dataclass(frozen=True)
class Written:
    """What became of one finding write."""

    stored: bool  # False: a newer attempt had already written it (superseded, not an error)


class Store:
    """The findings table, reached through one low-level DynamoDB client."""

    finding_item = staticmethod(layout.finding_item)

    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self._client = client

    @classmethod
    def open(cls, table: str, clients: Clients) -> Store:
        """The table in the runtime's home region, through the shared clients."""
        return cls(table, clients.client("dynamodb", home_region()))

    # -- the table -------------------------------------------------------------------------
    def ensure_table(self) -> bool:
        """Create the table (the keys and TTL serverless.yml gives it) if missing, else check it."""
        try:
            self.check_table()
            return False
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        try:
            self._client.create_table(
                TableName=self.table, BillingMode="PAY_PER_REQUEST", SSESpecification={"Enabled": True},
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in KEY_SCHEMA],
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in KEY_SCHEMA.items()])
        except ClientError as exc:  # another process created it first
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        self._client.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self._client.update_time_to_live(
            TableName=self.table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
        return True

    def check_table(self) -> None:
        """TableError unless the table has this layout's keys, and TTL (if on) on ``ttl``."""
        table = self._client.describe_table(TableName=self.table)["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        found = {k["AttributeName"]: k["KeyType"] for k in table.get("KeySchema", [])}
        if found != KEY_SCHEMA or any(types.get(k) != "S" for k in KEY_SCHEMA):
            shown = ", ".join(f"{k} ({t}, {types.get(k, '?')})" for k, t in found.items())
            raise TableError(f"table {self.table!r} has the keys {shown}; expected pk (HASH, S) and sk (RANGE, S); "
                             "use another table (config: table), or create it as serverless.yml does")
        ttl = self._client.describe_time_to_live(TableName=self.table).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") != TTL_ATTRIBUTE:
            raise TableError(f"table {self.table!r} expires items by {ttl.get('AttributeName')!r}; expected "
                             f"{TTL_ATTRIBUTE!r} (findings would never expire)")

    # -- runs and attempts -----------------------------------------------------------------
    def start_run(self, run_id: str, accounts: Sequence[str], *, now: dt.datetime, ttl_days: int,
                  deadline: dt.datetime) -> RunRecord:
        """Record a new run and the accounts it waits for; its place in the order of runs comes from the table."""
        run_seq = self._next(RUNS)
        # The account list lives apart, in chunks: the run's own item stays small for every worker's
        # update. All are written at once; the run starts (workers count into it) only after.
        chunks = [{"pk": RUNS, "sk": f"{layout.numbered('L', run_seq)}#{chunk:04d}",
                   "accounts": list(accounts[start : start + ACCOUNTS_PER_ITEM]), "ttl": layout.ttl(now, ttl_days)}
                  for chunk, start in enumerate(range(0, len(accounts), ACCOUNTS_PER_ITEM))]
        run = {"pk": RUNS, "sk": layout.numbered("R", run_seq), "kind": RUN, "run_id": run_id, "run_seq": run_seq,
               "started": iso(now), "deadline": int(deadline.timestamp()), "expected": len(accounts), "done": 0,
               "ttl": layout.ttl(now, ttl_days)}
        _at_once(*(lambda item=item: self._put(item) for item in [run, *chunks]))
        return RunRecord(run_id, run_seq, iso(now), tuple(accounts), int(deadline.timestamp()))

    def record_failed_run(self, run_id: str, reason: str, *, now: dt.datetime, ttl_days: int) -> RunRecord:
        """Record a run that could not start (its config unreadable, its accounts unlistable): numbered
        among the runs, waiting for no account, with nothing to report (so no sweep claims it), and
        ``failed`` saying why, for the next report to name."""
        run_seq = self._next(RUNS)
        self._put({"pk": RUNS, "sk": layout.numbered("R", run_seq), "kind": RUN, "run_id": run_id, "run_seq": run_seq,
                   "started": iso(now), "deadline": 0, "expected": 0, "done": 0, "failed": reason,
                   "report_sent": True, "ttl": layout.ttl(now, ttl_days)})
        return RunRecord(run_id, run_seq, iso(now), notified=True, failed=reason)

    def register_account(self, account: Account, *, now: dt.datetime, ttl_days: int) -> None:
        """List an account among those with state (readers find accounts through this index)."""
        self._put(layout.account_index_item(account, now, ttl_days))

    def next_attempt(self, account_id: str) -> int:
        """The next number in an account's order of attempts (a worker takes one as it starts and ends)."""
        return self._next(layout.account_pk(account_id))

    def record_attempt(self, result: Mapping[str, Any], *, collectors: Sequence[str], now: dt.datetime,
                       ttl_days: int) -> tuple[int, int] | None:
        """Store an attempt (runtime.results.AccountResult.to_dict()) and count its account done in its
        run, once whatever the retries: (done, expected) when this call counted it, else None.

        The attempt, the account's place in the index and its done marker are written at once (one
        round trip at the end of every worker); the run's counter only after all three, so the
        report its last account triggers reads every attempt."""
        account = Account(result["account"]["id"], result["account"]["name"], result["account"].get("ou"))
        marker = {"pk": layout.account_pk(account.id), "sk": layout.numbered("D", result["run_seq"]),
                  "ttl": layout.ttl(now, ttl_days)}
        first_count: list[bool] = []
        _at_once(lambda: self._put(layout.attempt_item(result, collectors, now, ttl_days)),
                 lambda: self._put(layout.account_index_item(account, now, ttl_days)),
                 lambda: first_count.append(self._put_new(marker)))
        return self._count_done(result["run_seq"]) if first_count[0] else None

    def _put_new(self, item: Mapping[str, Any]) -> bool:
        """Put an item that must not exist yet: False if it did."""
        try:
            self._client.put_item(TableName=self.table, Item=layout.attrs(item),
                                  ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_absent(self, run: RunRecord, account: Account, status: str, reason: tuple[str, str], *,
                      now: dt.datetime, ttl_days: int) -> tuple[int, int] | None:
        """Record an account that never reported in a run (its worker was lost, or never started),
        unless it has been counted already: (done, expected) when this call counted it, else None."""
        if account.id in self.counted(run.run_seq, [account.id]):
            return None
        attempt = self.next_attempt(account.id)
        error = {"account_id": account.id, "region": "-", "plugin": "-", "error": reason[0], "message": reason[1]}
        result = {"run_id": run.run_id, "run_seq": run.run_seq, "account": account.to_doc(),
                  "attempt": attempt, "attempt_end": attempt, "scans": [], "errors": [error],
                  "error_counts": {"-": {reason[0]: 1}}, "complete": False, "status": status}
        return self.record_attempt(result, collectors=[], now=now, ttl_days=ttl_days)

    def _count_done(self, run_seq: int) -> tuple[int, int]:
        # The marker lives in the account's partition: a thousand workers never queue on one key;
        # only this counter is shared, and only the first attempt of each account adds to it.
        attrs = self._client.update_item(
            TableName=self.table, Key=layout.run_key(run_seq), UpdateExpression="ADD done :one",
            ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW")["Attributes"]
        return int(attrs["done"]["N"]), int(attrs["expected"]["N"])

    def counted(self, run_seq: int, account_ids: Sequence[str]) -> set[str]:
        """Which of these accounts a run has counted done (BatchGetItem, 100 keys a call)."""
        found: set[str] = set()
        for start in range(0, len(account_ids), 100):
            keys = [layout.key(layout.account_pk(a), layout.numbered("D", run_seq))
                    for a in account_ids[start : start + 100]]
            while keys:
                resp = self._client.batch_get_item(
                    RequestItems={self.table: {"Keys": keys, "ProjectionExpression": "pk", "ConsistentRead": True}})
                found.update(layout.plain(i)["pk"][2:] for i in resp.get("Responses", {}).get(self.table, []))
                keys = resp.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found

    def claim_report(self, run_seq: int, now: dt.datetime, *, stale_after: float = 900) -> bool:
        """True for one caller per run: whoever sends its report (a claim left unsent for
        ``stale_after`` seconds, by a notifier that died, may be taken again)."""
        try:
            self._client.update_item(
                TableName=self.table, Key=layout.run_key(run_seq), UpdateExpression="SET report_claimed = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(report_sent) "
                                    "AND (attribute_not_exists(report_claimed) OR report_claimed < :stale)",
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))},
                                           ":stale": {"N": str(int(now.timestamp() - stale_after))}})
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def report_sent(self, run_seq: int) -> None:
        """Mark a run's report sent."""
        self._client.update_item(TableName=self.table, Key=layout.run_key(run_seq),
                                 UpdateExpression="SET report_sent = :t",
                                 ExpressionAttributeValues={":t": {"BOOL": True}})

    def runs(self, limit: int = 2, *, before: int | None = None) -> list[RunRecord]:
        """The latest runs (before run ``before``, if given), newest first."""
        last = layout.numbered("R", (before - 1) if before is not None else 10**12 - 1)
        resp = self._client.query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": {"S": RUNS}, ":first": {"S": layout.numbered("R", 0)},
                                       ":last": {"S": last}},
            ScanIndexForward=False, Limit=limit, ConsistentRead=True)
        return [self._with_accounts(layout.plain(i)) for i in resp.get("Items", [])]

    def unreported_runs(self, limit: int = 50) -> list[RunRecord]:
        """The latest runs whose report has not gone out, newest first."""
        return [r for r in self.runs(limit) if not r.notified]

    def run(self, run_seq: int) -> RunRecord | None:
        """One run, by its number."""
        item = self._client.get_item(TableName=self.table, Key=layout.run_key(run_seq), ConsistentRead=True).get("Item")
        return self._with_accounts(layout.plain(item)) if item else None

    def _with_accounts(self, item: dict[str, Any]) -> RunRecord:
        chunks = self._client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :list)", ConsistentRead=True,
            ExpressionAttributeValues={":pk": {"S": RUNS}, ":list": {"S": layout.numbered("L", item["run_seq"]) + "#"}})
        item["accounts"] = [a for page in chunks for chunk in page.get("Items", [])
                            for a in layout.plain(chunk).get("accounts", [])]
        return layout.to_run(item)

    # -- the history -----------------------------------------------------------------------
    def write_history(self, summary: RunSummary, *, now: dt.datetime, ttl_days: int) -> bool:
        """Keep a run's summary for ``ttl_days``, once: False if the run has one already."""
        return self._put_new(layout.summary_item(summary, now, ttl_days))

    def history(self, limit: int = 30) -> list[RunSummary]:
        """The summaries of the latest ``limit`` runs that have one, oldest first."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
            ExpressionAttributeValues={":pk": {"S": HISTORY}, ":h": {"S": "H#"}}, ScanIndexForward=False,
            PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 500)})
        latest = [layout.to_summary(layout.plain(i)) for page in pages for i in page.get("Items", [])]
        return latest[::-1]

    # -- findings --------------------------------------------------------------------------
    def first_seen(self, account_id: str) -> dict[tuple[str, str, str], tuple[str, int]]:
        """(region, plugin, resource_id) -> (first_seen, first attempt) of an account's stored findings (one Query)."""
        found = {}
        for item in self._query(account_id, "F#", ProjectionExpression="sk, first_seen, first_seq"):
            _, region, plugin, resource_id = item["sk"].split("#", 3)
            found[(region, plugin, resource_id)] = (str(item.get("first_seen")), int(item.get("first_seq") or 0))
        return found

    def put_finding(self, item: Mapping[str, Any]) -> Written:
        """Write a finding unless a newer attempt already has."""
        return self._unless_newer(lambda: self._client.put_item(
            TableName=self.table, Item=layout.attrs(item), ConditionExpression=NOT_OLDER,
            ExpressionAttributeValues={":seq": {"N": str(item["seen_seq"])}}))

    def put_finding_keeping_first_seen(self, item: Mapping[str, Any]) -> Written:
        """Write a finding whose stored first_seen could not be read: keep whatever the table holds."""
        names = {f"#a{i}": k for i, k in enumerate(k for k in item if k not in ("pk", "sk", "first_seen", "first_seq"))}
        values = {f":a{i}": layout.value(item[k]) for i, k in enumerate(names.values())}
        sets = [f"{n} = {v}" for n, v in zip(names, values, strict=True)]
        sets += ["first_seen = if_not_exists(first_seen, :first)", "first_seq = if_not_exists(first_seq, :seq)"]
        return self._unless_newer(lambda: self._client.update_item(
            TableName=self.table, Key=layout.key(item["pk"], item["sk"]), UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=NOT_OLDER, ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":first": {"S": item["first_seen"]},
                                       ":seq": {"N": str(item["seen_seq"])}}))

    def mark_muted(self, finding: Mapping[str, Any], reason: str | None) -> None:
        """Mark a stored finding muted (with the mute's reason), or unmark it with None."""
        update: dict[str, Any] = (
            {"UpdateExpression": "SET muted = :r", "ExpressionAttributeValues": {":r": {"S": reason}}}
            if reason else {"UpdateExpression": "REMOVE muted"})
        key = layout.key(layout.account_pk(finding["account_id"]),
                         layout.finding_sk(finding["region"], finding["plugin"], finding["resource_id"]))
        # attribute_exists: never bring back an item DynamoDB has just expired.
        self._client.update_item(TableName=self.table, Key=key, ConditionExpression="attribute_exists(pk)", **update)

    # -- reads -----------------------------------------------------------------------------
    def accounts(self) -> list[tuple[str, str]]:
        """(id, name) of every account with state in the table, by id."""
        return [(a.id, a.name) for a in self.indexed_accounts()]

    def indexed_accounts(self) -> list[Account]:
        """Every account with state in the table, by id, as last recorded (its OU path included)."""
        items = self._client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": ACCOUNTS}})
        found = [layout.plain(i) for page in items for i in page.get("Items", [])]
        return sorted((Account(i["sk"], str(i.get("name") or i["sk"]), i.get("ou")) for i in found),
                      key=lambda a: a.id)

    def account_state(self, account_id: str, *, region: str | None = None) -> AccountState:
        """An account's attempts (one Query) and its findings (of one region, if given): the first
        page read now, the rest as the stream is read, so memory holds a page, never the account."""
        attempts = [layout.to_attempt(i) for i in self._query(account_id, "R#") if i.get("kind") == ATTEMPT]
        prefix = "F#" if region is None else f"F#{region}#"
        pages = self._pages(account_id, prefix, PaginationConfig={"PageSize": FINDINGS_PAGE})
        first = [layout.to_finding(i) for i in next(pages, []) if i.get("kind") == FINDING]
        rest = (layout.to_finding(i) for page in pages for i in page if i.get("kind") == FINDING)
        name = next((str(f.finding["account_name"]) for f in first if f.finding.get("account_name")), None)
        return AccountState(account_id, itertools.chain(first, rest), attempts, name)

    def account_states(self, account_ids: Sequence[str], *, region: str | None = None,
                       ahead: int = 8) -> Iterator[AccountState]:
        """Each account's state in the order given, reading up to ``ahead`` accounts in parallel
        (memory: a page of findings for each of those few accounts, never the table)."""
        return iter(ReadAhead(lambda account_id: self.account_state(account_id, region=region), account_ids, ahead))

    # -- tables written by 0.1 ------------------------------------------------------------
    def legacy_findings(self) -> Iterator[dict[str, Any]]:
        """Findings in the layout of version 0.1 (keyed ``<account>#<region>``), as plain items."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self.table, FilterExpression="kind = :finding AND NOT begins_with(pk, :new)",
            ExpressionAttributeValues={":finding": {"S": FINDING}, ":new": {"S": "A#"}})
        for page in pages:
            yield from (layout.plain(i) for i in page.get("Items", []))

    def adopt_legacy(self, item: Mapping[str, Any], *, now: dt.datetime, ttl_days: int) -> bool:
        """Copy a 0.1 finding into this layout, first_seen kept, unless the account already has it;
        it counts as seen before any attempt, so the next successful scan of its place settles it."""
        details = item.get("details") or {}
        finding = {k: item.get(k) for k in ("plugin", "account_id", "account_name", "region", "resource_id",
                                            "severity", "summary", "run_id", "first_seen", "last_seen", "ttl")}
        new = {**finding, "pk": layout.account_pk(item["account_id"]), "kind": FINDING,
               "sk": layout.finding_sk(item["region"], item["plugin"], item["resource_id"]),
               "details": json.loads(details) if isinstance(details, str) else details,
               "seen_seq": 0, "first_seq": 0}
        self.register_account(Account(item["account_id"], str(item.get("account_name") or item["account_id"])),
                              now=now, ttl_days=ttl_days)
        return self._put_new(new)

    # -- helpers ---------------------------------------------------------------------------
    def _query(self, account_id: str, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._pages(account_id, prefix, **kwargs):
            yield from page

    def _pages(self, account_id: str, prefix: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        """The plain items under ``prefix`` in an account's partition, a page at a time, in key order."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": layout.account_pk(account_id)}, ":prefix": {"S": prefix}}, **kwargs)
        for page in pages:
            yield [layout.plain(item) for item in page.get("Items", [])]

    def _next(self, pk: str) -> int:
        attrs = self._client.update_item(
            TableName=self.table, Key=layout.key(pk, COUNTER), UpdateExpression="ADD seq :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
        return int(attrs["Attributes"]["seq"]["N"])

    def _unless_newer(self, write: Any) -> Written:
        try:
            write()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return Written(stored=False)
            raise
        return Written(stored=True)

    def _put(self, item: Mapping[str, Any]) -> None:
        self._client.put_item(TableName=self.table, Item=layout.attrs(item))


def _at_once(*calls: Callable[[], None]) -> None:
    """Make independent calls at the same time (each is a round trip); the first failure is raised
    once all have ended, so none is left half-done behind the caller's back."""
    failures: list[BaseException] = []

    def call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller
            failures.append(exc)

    threads = [threading.Thread(target=call, args=(fn,), daemon=True, name="store-at-once") for fn in calls[1:]]
    for thread in threads:
        thread.start()
    call(calls[0])
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
