"""Converting a table in place to this version's layout: from 0.1 (findings keyed by account and
region) and from 0.2/0.3 (one item per finding, rewritten by every run, and no record of the layout).

A 0.3 finding gets what this layout adds: the sighting of its content (so the first run after the
migration writes only what changed), its ttl_days, and the longer TTL of an open finding. The table
records its new layout last, so a migration stopped half-way is carried on by running it again.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.collector import Account, Finding
from collector_core.store import layout
from collector_core.store.layout import FINDING, LAYOUT
from collector_core.store.sightings import sighting
from collector_core.store.table import Store, TableError
from collector_core.store.values import plain, value


@dataclass
class Migrated:
    """What a migration did."""

    layout: str | None  # the layout the table held before
    adopted: int = 0  # 0.1 findings copied into this layout
    kept: int = 0  # ... that the account already had
    converted: int = 0  # 0.3 findings given a sighting


class Migrating(Store):
    """The table, as a migration reads and writes it (a Scan of every finding: never in a run)."""

    def migrate(self, *, now: dt.datetime, ttl_days: int) -> Migrated:
        """Convert the table in place; TableError if a run may be writing it in the old layout."""
        self.check_table(layout_too=False)
        done = Migrated(self.layout())
        busy = [r.run_id for r in self.unreported_runs() if r.deadline > now.timestamp()]
        if busy and done.layout != LAYOUT:
            raise TableError(f"table {self.table!r} is in use by run {busy[0]} (until its deadline): "
                             "migrate once no run is in flight")
        for item in self.scan_findings():
            if layout.is_legacy_finding(item):
                if self.adopt_legacy(item, now=now, ttl_days=ttl_days):
                    done.adopted += 1
                else:
                    done.kept += 1
            elif "sighting" not in item and self.add_sighting(item, now=now, ttl_days=ttl_days):
                done.converted += 1
        if done.layout != LAYOUT:
            self.record_layout()
        return done

    def scan_findings(self) -> Iterator[dict[str, Any]]:
        """Every finding item in the table, of any layout, as plain items."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self.table, FilterExpression="kind = :finding",
            ExpressionAttributeValues={":finding": {"S": FINDING}})
        for page in pages:
            yield from (plain(i) for i in page.get("Items", []))

    def adopt_legacy(self, legacy: Mapping[str, Any], *, now: dt.datetime, ttl_days: int) -> bool:
        """Copy a 0.1 finding into this layout (adopted_item), unless the account already has it."""
        self.register_account(Account(legacy["account_id"], str(legacy.get("account_name") or legacy["account_id"])),
                              now=now, ttl_days=ttl_days)
        return self._put_new(adopted_item(legacy))

    def add_sighting(self, item: Mapping[str, Any], *, now: dt.datetime, ttl_days: int) -> bool:
        """Give a 0.3 finding what this layout adds, unless a run of this version has already: False then."""
        sighting, stored = sighting_of(item), int(item.get("ttl") or 0)
        # Open ones get the TTL a first sighting would have given them; expired ones keep theirs.
        expires = max(stored, layout.open_ttl(now, ttl_days, first_write=sighting)) \
            if stored > now.timestamp() else stored
        return self._unless_condition_fails(lambda: self._client.update_item(
            TableName=self.table, Key=layout.key(item["pk"], item["sk"]),
            UpdateExpression="SET sighting = :s, ttl_days = :d, #ttl = :ttl", ExpressionAttributeNames={"#ttl": "ttl"},
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(sighting)",
            ExpressionAttributeValues={":s": value(sighting), ":d": {"N": str(ttl_days)}, ":ttl": {"N": str(expires)}}))


def adopted_item(legacy: Mapping[str, Any]) -> dict[str, Any]:
    """A 0.1 finding (keyed ``<account>#<region>``, details as JSON) in this layout, first_seen kept,
    counting as seen before any attempt (so the next successful scan of its place settles it)."""
    details = legacy.get("details") or {}
    finding = {k: legacy.get(k) for k in ("plugin", "account_id", "account_name", "region", "resource_id",
                                          "severity", "summary", "run_id", "first_seen", "last_seen", "ttl")}
    item = {**finding, **layout.plain_key(layout.finding_key(legacy["account_id"], legacy["region"], legacy["plugin"],
                                                legacy["resource_id"])),
            "kind": FINDING, "details": json.loads(details) if isinstance(details, str) else details,
            "seen_seq": 0, "first_seq": 0}
    item["sighting"] = sighting_of(item)
    return item


def sighting_of(item: Mapping[str, Any]) -> bytes:
    """The sighting a stored finding's content makes (what a scan that sees it unchanged records)."""
    return sighting(Finding(str(item["resource_id"]), str(item.get("summary") or ""),
                                      str(item.get("severity") or "medium"), dict(item.get("details") or {}),
                                      **({"tags": item["tags"]} if item.get("tags") else {})))
