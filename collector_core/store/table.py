"""The findings table's data plane: every read and write of its items; nothing else makes them."""
from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from botocore.exceptions import ClientError

from collector_core.aws.clients import Clients, home_region
from collector_core.collector import Account
from collector_core.findings import AccountState, Place, RunRecord, RunSummary, StoredFinding, iso
from collector_core.results import AccountResult, RunProgress, Status
from collector_core.store import layout, requests
from collector_core.store.layout import ACCOUNTS, ATTEMPT, FINDING, KEY_SCHEMA, LAYOUT, RUNS, TTL_ATTRIBUTE, Known
from collector_core.store.read_ahead import ReadAhead
from collector_core.store.values import attrs, plain, value

#: A condition that lets a finding be written only by an attempt at least as new as the one that wrote it.
NOT_OLDER = "attribute_not_exists(pk) OR seen_seq <= :seq"
#: Findings per page read (items of up to 400 KB, mostly a few KB): what a reader holds per account.
FINDINGS_PAGE = 200
_TTL = {"#ttl": TTL_ATTRIBUTE}  # TTL is one of DynamoDB's reserved words


class TableError(Exception):
    """The table is not one this version can use; nothing was written."""


@dataclass(frozen=True)
class Written:
    """What became of one finding write."""

    stored: bool  # False: a newer attempt had already written it (superseded, not an error)


class Store:
    """The findings table, reached through one low-level DynamoDB client."""

    finding_item = staticmethod(layout.finding_item)

    def __init__(self, table: str, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.table = table
        self._client = client
        self._sleep = sleep

    @classmethod
    def open(cls, table: str, clients: Clients) -> Self:
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
        self.check_layout()
        return True

    def check_table(self, *, layout_too: bool = True) -> None:
        """TableError unless the table has this layout's keys, TTL (if on) on ``ttl``, and (unless told
        otherwise) holds this version's layout."""
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
        if layout_too:
            self.check_layout()

    def layout(self) -> str | None:
        """The layout the table holds: as it records it; for a table with state and no record, 0.3's;
        None for a table that holds nothing yet."""
        item = self._client.get_item(TableName=self.table, Key=layout.layout_key(), ConsistentRead=True).get("Item")
        if item:
            return str(plain(item).get("layout"))
        counter = self._client.get_item(TableName=self.table, Key=layout.counter_key(RUNS), ConsistentRead=True)
        return layout.UNRECORDED_LAYOUT if counter.get("Item") else None

    def check_layout(self) -> None:
        """TableError unless the table holds this version's layout (a table holding nothing is claimed)."""
        found = self.layout()
        if found is None and self._put_new(layout.layout_item()):
            return
        found = found or self.layout()
        if found == LAYOUT:
            return
        if found is not None and found < LAYOUT:
            raise TableError(f"table {self.table!r} holds aws-collector {found}'s layout; this version writes "
                             f"{LAYOUT}'s: stop the {found} deployment, then run `aws-collector migrate --config "
                             "FILE` once (it converts the table in place)")
        raise TableError(f"table {self.table!r} holds aws-collector {found}'s layout, newer than this "
                         f"version's ({LAYOUT}): upgrade aws-collector")

    def record_layout(self) -> None:
        """Say the table now holds this version's layout (the last step of a migration)."""
        self._put(layout.layout_item())

    # -- runs and attempts -----------------------------------------------------------------
    def start_run(self, run_id: str, accounts: Sequence[str], *, now: dt.datetime, ttl_days: int,
                  deadline: dt.datetime) -> RunRecord:
        """Record a new run and the accounts it waits for; its place in the order of runs comes from the table."""
        run_seq = self._next(RUNS)
        # The record and its account list in one batch: the run starts (workers count into it) only after.
        self.put_batch(layout.run_items(run_id, run_seq, accounts, now=now, ttl_days=ttl_days, deadline=deadline))
        return RunRecord(run_id, run_seq, iso(now), tuple(accounts), int(deadline.timestamp()))

    def record_failed_run(self, run_id: str, reason: str, *, now: dt.datetime, ttl_days: int) -> RunRecord:
        """Record a run that could not start (its config unreadable, its accounts unlistable): numbered
        among the runs, waiting for no account, with nothing to report (so no sweep claims it), and
        ``failed`` saying why, for the next report to name."""
        run_seq = self._next(RUNS)
        self._put(layout.failed_run_item(run_id, run_seq, reason, now=now, ttl_days=ttl_days))
        return RunRecord(run_id, run_seq, iso(now), notified=True, failed=reason)

    def register_account(self, account: Account, *, now: dt.datetime, ttl_days: int) -> None:
        """List an account among those with state (readers find accounts through this index)."""
        self._put(layout.account_index_item(account, now, ttl_days))

    def next_attempt(self, account_id: str) -> int:
        """The next number in an account's order of attempts (a worker takes one as it starts and ends)."""
        return self._next(layout.account_pk(account_id))

    def record_attempt(self, result: AccountResult, *, collectors: Sequence[str], now: dt.datetime, ttl_days: int,
                       seen: Mapping[Place, bytes] | None = None,
                       seen_at: dt.datetime | None = None) -> RunProgress | None:
        """Store an attempt, with what each of its scans saw, and count its account done in its run,
        once whatever the retries: the run's progress when this call counted it, else None.

        Sightings too many for the attempt's item are written first, in parts; then the attempt and
        the account's place in the index (one batch) and its done marker, at once; the run's counter
        only after those, so the report its last account triggers reads every attempt."""
        *parts, attempt = layout.attempt_items(result, collectors, seen=seen, seen_at=seen_at or now, now=now,
                                               ttl_days=ttl_days)
        if parts:
            self.put_batch(parts)
        first_count: list[bool] = []
        marker = layout.done_marker(result.account.id, result.run_seq, now, ttl_days)
        requests.at_once(lambda: self.put_batch([attempt, layout.account_index_item(result.account, now, ttl_days)]),
                 lambda: first_count.append(self._put_new(marker)))
        return self._count_done(result.run_seq) if first_count[0] else None

    def record_absent(self, run: RunRecord, account: Account, status: Status, reason: tuple[str, str], *,
                      now: dt.datetime, ttl_days: int) -> RunProgress | None:
        """Record an account that never reported in a run (its worker was lost, or never started),
        unless it has been counted already: the run's progress when this call counted it, else None."""
        if account.id in self.counted(run.run_seq, [account.id]):
            return None
        attempt = self.next_attempt(account.id)
        result = AccountResult.absent(run.run_id, run.run_seq, account, attempt, status, reason)
        return self.record_attempt(result, collectors=[], now=now, ttl_days=ttl_days)

    def _count_done(self, run_seq: int) -> RunProgress:
        # The marker lives in the account's partition: a thousand workers never queue on one key;
        # only this counter is shared, and only the first attempt of each account adds to it.
        attributes = self._client.update_item(
            TableName=self.table, Key=layout.run_key(run_seq), UpdateExpression="ADD done :one",
            ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW")["Attributes"]
        return RunProgress(int(attributes["done"]["N"]), int(attributes["expected"]["N"]))

    def counted(self, run_seq: int, account_ids: Sequence[str]) -> set[str]:
        """Which of these accounts a run has counted done (BatchGetItem, 100 keys a call)."""
        found: set[str] = set()
        for start in range(0, len(account_ids), 100):
            keys = [layout.done_key(a, run_seq) for a in account_ids[start : start + 100]]
            while keys:
                resp = self._client.batch_get_item(
                    RequestItems={self.table: {"Keys": keys, "ProjectionExpression": "pk", "ConsistentRead": True}})
                found.update(layout.done_account(plain(i)["pk"]) for i in resp.get("Responses", {}).get(self.table, []))
                keys = resp.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found

    def claim_report(self, run_seq: int, now: dt.datetime, *, stale_after: float = 900) -> bool:
        """True for one caller per run: whoever sends its report (a claim left unsent for
        ``stale_after`` seconds, by a notifier that died, may be taken again)."""
        return self._unless_condition_fails(lambda: self._client.update_item(
            TableName=self.table, Key=layout.run_key(run_seq), UpdateExpression="SET report_claimed = :now",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(report_sent) "
                                "AND (attribute_not_exists(report_claimed) OR report_claimed < :stale)",
            ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))},
                                       ":stale": {"N": str(int(now.timestamp() - stale_after))}}))

    def report_sent(self, run_seq: int) -> None:
        """Mark a run's report sent."""
        self._client.update_item(TableName=self.table, Key=layout.run_key(run_seq),
                                 UpdateExpression="SET report_sent = :t",
                                 ExpressionAttributeValues={":t": {"BOOL": True}})

    def runs(self, limit: int = 2, *, before: int | None = None) -> list[RunRecord]:
        """The latest runs (before run ``before``, if given), newest first."""
        first, last = layout.run_range(before)
        resp = self._client.query(
            TableName=self.table, KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": {"S": RUNS}, ":first": {"S": first}, ":last": {"S": last}},
            ScanIndexForward=False, Limit=limit, ConsistentRead=True)
        return [self._with_accounts(plain(i)) for i in resp.get("Items", [])]

    def unreported_runs(self, limit: int = 50) -> list[RunRecord]:
        """The latest runs whose report has not gone out, newest first."""
        return [r for r in self.runs(limit) if not r.notified]

    def run(self, run_seq: int) -> RunRecord | None:
        """One run, by its number."""
        item = self._client.get_item(TableName=self.table, Key=layout.run_key(run_seq), ConsistentRead=True).get("Item")
        return self._with_accounts(plain(item)) if item else None

    def _with_accounts(self, item: dict[str, Any]) -> RunRecord:
        parts = self._items(RUNS, layout.run_accounts_prefix(item["run_seq"]), ConsistentRead=True)
        return layout.to_run(item, (a for part in parts for a in part.get("accounts", [])))

    # -- the history -----------------------------------------------------------------------
    def write_history(self, summary: RunSummary, *, now: dt.datetime, ttl_days: int) -> bool:
        """Keep a run's summary for ``ttl_days``, once: False if the run has one already."""
        return self._put_new(layout.summary_item(summary, now, ttl_days))

    def history(self, limit: int = 30) -> list[RunSummary]:
        """The summaries of the latest ``limit`` runs that have one, oldest first."""
        latest = self._items(layout.HISTORY, layout.HISTORY_PREFIX, ScanIndexForward=False,
                             PaginationConfig={"MaxItems": limit, "PageSize": min(limit, 500)})
        return [layout.to_summary(i) for i in latest][::-1]

    # -- findings --------------------------------------------------------------------------
    def first_seen(self, account_id: str) -> dict[tuple[str, str, str], Known]:
        """(region, plugin, resource_id) -> what the writer needs of each stored finding of an account
        (first_seen, the content it holds, its TTL): one Query, projected."""
        return {layout.finding_place(i["sk"]): layout.to_known(i) for i in self._items(
            layout.account_pk(account_id), layout.finding_prefix(), ExpressionAttributeNames=_TTL,
            ProjectionExpression="sk, first_seen, first_seq, sighting, seen_seq, #ttl")}

    def put_finding(self, item: Mapping[str, Any]) -> Written:
        """Write a finding unless a newer attempt already has."""
        return Written(self._unless_condition_fails(lambda: self._client.put_item(
            TableName=self.table, Item=attrs(item), ConditionExpression=NOT_OLDER,
            ExpressionAttributeValues={":seq": {"N": str(item["seen_seq"])}})))

    def put_finding_keeping_first_seen(self, item: Mapping[str, Any]) -> Written:
        """Write a finding whose stored first_seen could not be read: keep whatever the table holds."""
        names = {f"#a{i}": k for i, k in enumerate(k for k in item if k not in ("pk", "sk", "first_seen", "first_seq"))}
        values = {f":a{i}": value(item[k]) for i, k in enumerate(names.values())}
        sets = [f"{n} = {v}" for n, v in zip(names, values, strict=True)]
        sets += ["first_seen = if_not_exists(first_seen, :first)", "first_seq = if_not_exists(first_seq, :seq)"]
        return Written(self._unless_condition_fails(lambda: self._client.update_item(
            TableName=self.table, Key=layout.key(item["pk"], item["sk"]), UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=NOT_OLDER, ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":first": {"S": item["first_seen"]},
                                       ":seq": {"N": str(item["seen_seq"])}})))

    def refresh_ttl(self, account_id: str, place: tuple[str, str, str], *, now: dt.datetime,
                    ttl_days: int) -> Written:
        """Push back when DynamoDB may delete a finding seen again unchanged (never brought forward,
        never bringing back an item that has just expired)."""
        return Written(self._set_ttl(account_id, place, layout.open_ttl(now, ttl_days), "#ttl < :ttl", {}))

    def mark_resolved(self, account_id: str, place: tuple[str, str, str], *, attempt: int, now: dt.datetime,
                      ttl_days: int) -> Written:
        """Let DynamoDB delete a finding ``ttl_days`` after a successful scan did not see it: unless an
        attempt as new as this one wrote it, or its TTL is that short already. (Whether it is resolved
        is the attempts' to say, as ever; a sighting after this brings its TTL back.)"""
        return Written(self._set_ttl(account_id, place, layout.ttl(now, ttl_days), "seen_seq < :start AND #ttl > :ttl",
                                     {":start": {"N": str(attempt)}}))

    def _set_ttl(self, account_id: str, place: tuple[str, str, str], expires: int, condition: str,
                 values: dict[str, Any]) -> bool:
        return self._unless_condition_fails(lambda: self._client.update_item(
            TableName=self.table, Key=layout.finding_key(account_id, *place), UpdateExpression="SET #ttl = :ttl",
            ConditionExpression=f"attribute_exists(pk) AND {condition}", ExpressionAttributeNames=_TTL,
            ExpressionAttributeValues={":ttl": {"N": str(expires)}, **values}))

    def mark_muted(self, finding: Mapping[str, Any], reason: str | None) -> None:
        """Mark a stored finding muted (with the mute's reason), or unmark it with None."""
        update: dict[str, Any] = (
            {"UpdateExpression": "SET muted = :r", "ExpressionAttributeValues": {":r": {"S": reason}}}
            if reason else {"UpdateExpression": "REMOVE muted"})
        key = layout.finding_key(finding["account_id"], finding["region"], finding["plugin"], finding["resource_id"])
        # attribute_exists: never bring back an item DynamoDB has just expired.
        self._client.update_item(TableName=self.table, Key=key, ConditionExpression="attribute_exists(pk)", **update)

    # -- reads -----------------------------------------------------------------------------
    def accounts(self) -> list[tuple[str, str]]:
        """(id, name) of every account with state in the table, by id."""
        return [(a.id, a.name) for a in self.indexed_accounts()]

    def indexed_accounts(self) -> list[Account]:
        """Every account with state in the table, by id, as last recorded (its OU path included)."""
        return sorted((layout.to_account(i) for i in self._items(ACCOUNTS, "")), key=lambda a: a.id)

    def account_state(self, account_id: str, *, region: str | None = None) -> AccountState:
        """An account's attempts (one Query) and its findings (of one region, if given): the first
        page read now, the rest as the stream is read, so memory holds a page, never the account.
        A finding's last sighting is the newest attempt whose record names it, or its own write."""
        attempts, sightings = [], layout.Sightings()
        records = self._items(layout.account_pk(account_id), layout.ATTEMPTS_PREFIX)
        for _, group in itertools.groupby(records, key=lambda i: layout.attempt_of(i["sk"])):
            attempt, *parts = group
            if attempt.get("kind") == ATTEMPT:
                attempts.append(layout.to_attempt(attempt))
                sightings.add(attempt, parts)
        pages = self._pages(layout.account_pk(account_id), layout.finding_prefix(region),
                            PaginationConfig={"PageSize": FINDINGS_PAGE})

        def findings(page: list[dict[str, Any]]) -> list[StoredFinding]:
            return [sightings.to_finding(i) for i in page if i.get("kind") == FINDING]

        first = findings(next(pages, []))
        name = next((str(f.finding["account_name"]) for f in first if f.finding.get("account_name")), None)
        return AccountState(account_id, itertools.chain(first, (f for page in pages for f in findings(page))),
                            attempts, name)

    def account_states(self, account_ids: Sequence[str], *, region: str | None = None,
                       ahead: int = 8) -> Iterator[AccountState]:
        """Each account's state in the order given, reading up to ``ahead`` accounts in parallel
        (memory: a page of findings for each of those few accounts, never the table)."""
        return iter(ReadAhead(lambda account_id: self.account_state(account_id, region=region), account_ids, ahead))

    # -- helpers ---------------------------------------------------------------------------
    def put_batch(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Unconditional puts, 25 a request; what DynamoDB leaves unprocessed is sent again after a pause."""
        requests.put_batch(self._client, self.table, [attrs(i) for i in items], sleep=self._sleep)

    def _items(self, pk: str, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self._pages(pk, prefix, **kwargs):
            yield from page

    def _pages(self, pk: str, prefix: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        """The plain items of a partition under a sort-key ``prefix``, a page at a time, in key order."""
        condition, values = "pk = :pk", {":pk": {"S": pk}}
        if prefix:
            condition, values[":prefix"] = condition + " AND begins_with(sk, :prefix)", {"S": prefix}
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression=condition, ExpressionAttributeValues=values, **kwargs)
        for page in pages:
            yield [plain(item) for item in page.get("Items", [])]

    def _next(self, pk: str) -> int:
        attributes = self._client.update_item(
            TableName=self.table, Key=layout.counter_key(pk), UpdateExpression="ADD seq :one",
            ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
        return int(attributes["Attributes"]["seq"]["N"])

    def _put_new(self, item: Mapping[str, Any]) -> bool:
        """Put an item that must not exist yet: False if it did."""
        return self._unless_condition_fails(lambda: self._client.put_item(
            TableName=self.table, Item=attrs(item), ConditionExpression="attribute_not_exists(pk)"))

    def _unless_condition_fails(self, write: Callable[[], Any]) -> bool:
        try:
            write()
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _put(self, item: Mapping[str, Any]) -> None:
        self._client.put_item(TableName=self.table, Item=attrs(item))
