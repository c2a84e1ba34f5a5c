"""Muting through notify(): a muted finding leaves the message, stays in the table, marked."""
from __future__ import annotations

import io

from notify_helpers import NOW, PROD, account_run, channels, config_with, finding, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.findings import StoredFinding
from collector_core.notify.channels import notify
from collector_core.plugins import load_plugins
from collector_core.store import Store

SG = "open_security_groups"
MUTE = {"plugin": SG, "account": PROD.id, "resource": "sg-0abc*", "reason": "public bastion, reviewed",
        "expires": "2027-03-31"}


def stored(store: Store, resource: str) -> StoredFinding:
    (found,) = [s for s in store.account_state(PROD.id).findings if s.finding["resource_id"] == resource]
    return found


def test_a_muted_finding_is_marked_in_the_table_and_unmarked_when_the_mute_goes(mocked_aws: None) -> None:
    store = table_with([run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", SG)]),
                        finding(PROD, "us-east-1", SG, "sg-0abc1", run="r1"),
                        finding(PROD, "us-east-1", SG, "sg-0def2", run="r1")])
    out = io.StringIO()
    result = notify(channels(stdout=True), mutes=config_with(mute=[MUTE]).mute, registry=load_plugins(),
                    store=store, clients=Clients(), now=NOW, out=out)

    assert result.ok and result.report.muted == 1
    assert "sg-0abc1" not in out.getvalue() and "sg-0def2" in out.getvalue()
    assert "== open_security_groups: 1 open (1 new), 1 muted" in out.getvalue()
    assert stored(store, "sg-0abc1").muted == "public bastion, reviewed"
    assert stored(store, "sg-0def2").muted is None

    out = io.StringIO()
    notify(channels(stdout=True), mutes=(), registry=load_plugins(), store=store, clients=Clients(), now=NOW,
           out=out)
    assert "sg-0abc1" in out.getvalue()
    assert stored(store, "sg-0abc1").muted is None
