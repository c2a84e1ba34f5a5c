"""Security Hub as a channel, over moto's server: a run's open findings are imported under the
collector account's default product, a later run's re-import updates them in place, a resolved
finding is archived and marked RESOLVED, and findings Security Hub refuses are retried and then
reported by count.

moto 5.2 serves BatchImportFindings and GetFindings but not BatchUpdateFindings: the tests answer
that one call themselves, on the channel's own client, and check what the channel asked for.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from notify_helpers import NOW, PROD, SANDBOX, account_run, finding, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.notify import securityhub
from collector_core.notify.asff import Product, asff_finding, finding_id
from collector_core.notify.channels import NotifySettings, notify
from collector_core.notify.report import Entry
from collector_core.plugins import load_plugins
from collector_core.store import Store
from collector_core.testing import FakeClock

pytestmark = pytest.mark.slow
REGION = "us-east-1"
COLLECTOR_ACCOUNT = "123456789012"  # what moto's STS says the test credentials belong to
PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{COLLECTOR_ACCOUNT}:product/{COLLECTOR_ACCOUNT}/default"
LATER = NOW.replace(year=2100)  # findings written "now" by the real clock would have expired


class Hub:
    """The channel's Security Hub client with the call moto lacks answered, and what was asked."""

    def __init__(self, clients: Clients, region: str = REGION) -> None:
        self.client = clients.client("securityhub", region)
        self.imports: list[list[str]] = []  # the Ids of each BatchImportFindings call
        self.updates: list[dict[str, Any]] = []  # each BatchUpdateFindings request
        self.client.meta.events.register("provide-client-params.securityhub.BatchImportFindings",
                                         lambda params, **_: self.imports.append([f["Id"] for f in params["Findings"]]))
        self.client.meta.events.register("before-call.securityhub.BatchUpdateFindings", self._update)

    def _update(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        request = json.loads(params["body"])
        self.updates.append(request)
        return AWSResponse("", 200, {}, None), {"ProcessedFindings": request["FindingIdentifiers"],
                                                "UnprocessedFindings": []}

    def findings(self) -> dict[str, dict[str, Any]]:
        """Every finding the hub holds, by Id (read page by page, as a consumer would)."""
        pages = self.client.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 100})
        return {f["Id"]: f for page in pages for f in page["Findings"]}


@pytest.fixture
def clients(server_env: str) -> Iterator[Clients]:
    boto3.client("securityhub", region_name=REGION).enable_security_hub()
    yield Clients()


def send(store: Store, clients: Clients, run_seq: int | None = None, time: FakeClock | None = None) -> Any:
    settings = NotifySettings.from_doc({"securityhub": {}}, load_plugins())
    time = time or FakeClock()
    return notify(settings, mutes=(), registry=load_plugins(), store=store, clients=clients, run_seq=run_seq,
                  now=LATER, sleep=time.sleep, clock=time.clock)


FIRST_RUN = [
    run_record("r1", [PROD, SANDBOX], started=LATER),
    account_run(PROD, "r1", [(REGION, "unattached_ebs"), (REGION, "open_security_groups"), ("global", "iam_key_age")]),
    account_run(SANDBOX, "r1", [(REGION, "unattached_ebs")]),
    finding(PROD, REGION, "unattached_ebs", "vol-gone", run="r1", severity="low", now=LATER),
    finding(PROD, REGION, "open_security_groups", "sg-ssh", run="r1", severity="high", now=LATER),
    finding(PROD, "global", "iam_key_age", "AKIAOLD", run="r1", now=LATER),
    finding(SANDBOX, REGION, "unattached_ebs", "vol-kept", run="r1", severity="low", now=LATER),
]


def test_open_findings_are_imported_under_the_default_product(clients: Clients) -> None:
    hub = Hub(clients)
    store = table_with(FIRST_RUN)

    result = send(store, clients)

    assert result.sent == ["securityhub"] and result.ok
    held = hub.findings()
    assert set(held) == {f"{PROD.id}/{REGION}/unattached_ebs/vol-gone",
                         f"{PROD.id}/{REGION}/open_security_groups/sg-ssh",
                         f"{PROD.id}/global/iam_key_age/AKIAOLD",
                         f"{SANDBOX.id}/{REGION}/unattached_ebs/vol-kept"}
    ssh = held[f"{PROD.id}/{REGION}/open_security_groups/sg-ssh"]
    assert (ssh["ProductArn"], ssh["AwsAccountId"], ssh["RecordState"]) == (PRODUCT_ARN, COLLECTOR_ACCOUNT, "ACTIVE")
    assert ssh["GeneratorId"] == "aws-collector/open_security_groups"
    assert ssh["Types"] == ["Software and Configuration Checks/AWS Security Best Practices/open_security_groups"]
    assert ssh["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert ssh["Resources"][0]["Type"] == "AwsEc2SecurityGroup" and ssh["Resources"][0]["Id"] == "sg-ssh"
    assert ssh["ProductFields"]["aws-collector/AccountId"] == PROD.id
    assert held[f"{PROD.id}/global/iam_key_age/AKIAOLD"]["Resources"][0]["Type"] == "AwsIamAccessKey"
    assert hub.updates == []  # nothing resolved yet


def test_a_reimport_updates_in_place_and_a_resolved_finding_is_archived(clients: Clients) -> None:
    hub = Hub(clients)
    later = LATER.replace(day=LATER.day + 1)
    store = table_with([
        *FIRST_RUN,
        run_record("r2", [PROD], started=later),
        account_run(PROD, "r2", [(REGION, "unattached_ebs"), (REGION, "open_security_groups"),
                                 ("global", "iam_key_age")]),
        finding(PROD, REGION, "open_security_groups", "sg-ssh", run="r2", first_run="r1", severity="high",
                first_seen=LATER, now=later),
        finding(PROD, "global", "iam_key_age", "AKIAOLD", run="r2", first_run="r1", first_seen=LATER, now=later),
    ])
    runs = {r.run_id: r.run_seq for r in store.runs(limit=2)}
    send(store, clients, runs["r1"])
    before = hub.findings()

    result = send(store, clients, runs["r2"])

    assert result.ok, result.failures
    held = hub.findings()
    assert set(held) == set(before)  # updated, never duplicated
    gone = held[f"{PROD.id}/{REGION}/unattached_ebs/vol-gone"]
    assert gone["RecordState"] == "ARCHIVED" and gone["UpdatedAt"] == "2100-06-02T12:00:00Z"
    ssh = held[f"{PROD.id}/{REGION}/open_security_groups/sg-ssh"]
    assert ssh["RecordState"] == "ACTIVE"
    assert (ssh["CreatedAt"], ssh["UpdatedAt"]) == ("2100-06-02T12:00:00Z", "2100-06-03T12:00:00Z")
    assert hub.updates == [{"FindingIdentifiers": [{"Id": gone["Id"], "ProductArn": PRODUCT_ARN}],
                            "Workflow": {"Status": "RESOLVED"}}]
    # The sandbox account was not in the second run: its finding stays as it was.
    kept = f"{SANDBOX.id}/{REGION}/unattached_ebs/vol-kept"
    assert held[kept] == before[kept]


def test_findings_go_at_most_100_a_call(clients: Clients) -> None:
    hub = Hub(clients)
    store = table_with([
        run_record("r1", [PROD], started=LATER), account_run(PROD, "r1", [(REGION, "unattached_ebs")]),
        *[finding(PROD, REGION, "unattached_ebs", f"vol-{i:03d}", run="r1", now=LATER) for i in range(150)],
    ])

    assert send(store, clients).ok

    assert [len(ids) for ids in hub.imports] == [100, 50]
    assert len(hub.findings()) == 150


def refuse(hub: Hub, resource: str, times: int) -> None:
    """Make the hub refuse one finding ``times`` times: sent without its resources (past botocore's
    own validation), moto rejects it as AWS would."""
    left = [times]

    def strip(params: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        for sent in body["Findings"]:
            if sent["Id"].endswith(resource) and left[0]:
                left[0] -= 1
                del sent["Resources"]
        params["body"] = json.dumps(body).encode()
    hub.client.meta.events.register("before-call.securityhub.BatchImportFindings", strip)


def test_a_refused_finding_is_retried(clients: Clients) -> None:
    hub = Hub(clients)
    refuse(hub, "/vol-gone", times=2)
    store = table_with(FIRST_RUN)

    assert send(store, clients).ok

    assert [len(ids) for ids in hub.imports] == [4, 1, 1]  # the batch, then the refused one twice
    assert len(hub.findings()) == 4


def test_a_finding_refused_every_time_is_reported_and_the_others_go_in(clients: Clients) -> None:
    hub = Hub(clients)
    refuse(hub, "/vol-gone", times=99)
    store = table_with(FIRST_RUN)
    time = FakeClock()

    result = send(store, clients, time=time)

    assert time.sleeps == list(securityhub.RETRY_DELAYS)  # waited before each retry, and only then
    [(channel, error)] = result.failures
    assert channel == "securityhub"
    assert error.startswith("SecurityHubError: 1 of 4 findings failed to import after 3 attempts (InvalidInput x1; "
                            f"first: {PROD.id}/{REGION}/unattached_ebs/vol-gone: ")
    assert len(hub.imports) == 3 and len(hub.findings()) == 3


def test_notify_securityhub_sends_to_the_configured_region(
        clients: Clients, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("securityhub", region_name="eu-west-1").enable_security_hub()
    table_with(FIRST_RUN, name="hub-cli")
    config = tmp_path / "config.yaml"
    config.write_text(f"table: hub-cli\naccounts: [{{id: '{PROD.id}', name: prod}}]\n"
                      "notify: {stdout: true, securityhub: {region: eu-west-1}}\n")

    assert main(["notify", "--config", str(config), "--securityhub"]) == 0

    assert capsys.readouterr().out == ""  # the flag replaces the configured channels
    held = boto3.client("securityhub", region_name="eu-west-1").get_findings()["Findings"]
    assert len(held) == 4
    assert {f["ProductArn"] for f in held} == {PRODUCT_ARN.replace(REGION, "eu-west-1")}
    assert boto3.client("securityhub", region_name=REGION).get_findings()["Findings"] == []


def test_an_id_too_long_for_security_hub_is_hashed_the_same_way_every_time() -> None:
    entry = Entry(plugin="bucket_audit", account_id=PROD.id, account_name="prod", region="global",
                  resource_id="x" * 600, severity="info", line="a long one", first_seen="2025-01-01T00:00:00Z",
                  last_seen="2025-01-02T00:00:00Z")

    asff = asff_finding(entry, Product(COLLECTOR_ACCOUNT, REGION))

    assert len(asff["Id"]) <= 512 and asff["Id"] == finding_id(entry)
    assert asff["Id"].startswith(f"{PROD.id}/global/bucket_audit/sha256:")
    assert asff["Resources"][0]["Type"] == "Other" and "Region" not in asff["Resources"][0]
    assert asff["Severity"]["Label"] == "INFORMATIONAL"
