"""Muting through notify(): a muted finding leaves the message, stays in the table, marked."""
from __future__ import annotations

import io

from notify_helpers import NOW, PROD, account_run, config_with, finding, run_record, table_with

from collector_core.aws import Clients
from collector_core.notifier import Channels, notify
from collector_core.plugins import load_plugins
from collector_core.store import finding_key

SG = "open_security_groups"
MUTE = {"plugin": SG, "account": PROD.id, "resource": "sg-0abc*", "reason": "public bastion, reviewed",
        "expires": "2027-03-31"}


def stored(store: object, resource: str) -> dict:
    key = finding_key(PROD.id, "us-east-1", SG, resource)
    return store.client.get_item(TableName=store.table, Key={k: {"S": v} for k, v in key.items()})["Item"]  # type: ignore[attr-defined]


def test_a_muted_finding_is_marked_in_the_table_and_unmarked_when_the_mute_goes(mocked_aws: None) -> None:
    store = table_with([run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", SG)]),
                        finding(PROD, "us-east-1", SG, "sg-0abc1", run="r1"),
                        finding(PROD, "us-east-1", SG, "sg-0def2", run="r1")])
    out = io.StringIO()
    result = notify(config_with(mute=[MUTE]), registry=load_plugins(), store=store, clients=Clients(),
                    channels=Channels(stdout=True), now=NOW, out=out)

    assert result.ok and result.report.muted == 1
    assert "sg-0abc1" not in out.getvalue() and "sg-0def2" in out.getvalue()
    assert "== open_security_groups: 1 open (1 new), 1 muted" in out.getvalue()
    assert stored(store, "sg-0abc1")["muted"] == {"S": "public bastion, reviewed"}
    assert "muted" not in stored(store, "sg-0def2")

    out = io.StringIO()
    notify(config_with(), registry=load_plugins(), store=store, clients=Clients(),
           channels=Channels(stdout=True), now=NOW, out=out)
    assert "sg-0abc1" in out.getvalue()
    assert "muted" not in stored(store, "sg-0abc1")
