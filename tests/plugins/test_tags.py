"""Findings carry their resource's tags: read from AWS items in any of their shapes, bounded, kept
through the table, shown by `findings --format json|csv|ocsf`, and filled by the built-in collectors."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from typing import Any

import boto3
import pytest
import structlog
from aws_collector_plugins import open_security_groups, unattached_ebs
from moto import mock_aws

from collector_core import Account, CollectorContext, Finding, tags_from
from collector_core.cli.findings import CsvWriter
from collector_core.findings import MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, BadFinding, normalise
from collector_core.notify.asff import Product, asff_finding
from collector_core.notify.ocsf import detection_finding
from collector_core.notify.report import Entry
from collector_core.store import layout, values

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("item", [
    {"Tags": [{"Key": "team", "Value": "payments"}, {"Key": "owner", "Value": "ana"}]},  # EC2, IAM
    {"TagList": [{"Key": "team", "Value": "payments"}, {"Key": "owner", "Value": "ana"}]},  # RDS
    {"tags": {"team": "payments", "owner": "ana"}},  # Lambda, EKS
    {"Tags": {"team": "payments", "owner": "ana"}},
])
def test_tags_are_read_from_every_shape_aws_uses(item: dict) -> None:
    assert tags_from(item) == {"owner": "ana", "team": "payments"}


def test_an_item_without_tags_has_none() -> None:
    assert tags_from({"VolumeId": "vol-1"}) == {} == tags_from({"Tags": None})


def test_tags_are_bounded_as_aws_bounds_them() -> None:
    many = [{"Key": f"k{i:03d}" + "x" * 200, "Value": "v" * 1000} for i in range(80)] + [{"Key": "", "Value": "x"}]
    tags = tags_from({"Tags": many})
    assert len(tags) == MAX_TAGS
    assert all(len(k) == MAX_TAG_KEY_CHARS and len(v) == MAX_TAG_VALUE_CHARS for k, v in tags.items())
    assert "" not in tags


def test_a_plugin_gives_tags_as_a_map_or_pairs_and_nothing_else() -> None:
    assert normalise(Finding("i-1", "s", tags={"team": 7})).tags == {"team": "7"}
    assert normalise({"resource_id": "i-1", "summary": "s", "tags": [{"Key": "a", "Value": "b"}]}).tags == {"a": "b"}
    with pytest.raises(BadFinding, match="tags must be a mapping"):
        normalise({"resource_id": "i-1", "summary": "s", "tags": "team=x"})


def _stored(finding: Finding) -> dict:
    item = layout.finding_item(finding, plugin="unattached_ebs", account=Account("111111111111", "prod"),
                               region="eu-west-1", run_id="r1", attempt=1, now=NOW, ttl_days=7, first_seen=None)
    return layout.Sightings().to_finding(values.plain(values.attrs(item))).finding


def test_tags_survive_the_table_and_untagged_items_carry_no_attribute() -> None:
    tagged = Finding("vol-1", "unattached", tags={"team": "payments"})
    assert _stored(tagged)["tags"] == {"team": "payments"}
    untagged = layout.finding_item(Finding("vol-2", "x"), plugin="unattached_ebs", account=Account("1" * 12, "p"),
                                   region="eu-west-1", run_id="r1", attempt=1, now=NOW, ttl_days=7, first_seen=None)
    assert "tags" not in untagged
    assert _stored(Finding("vol-2", "x"))["tags"] == {}


def test_csv_and_ocsf_show_the_tags() -> None:
    finding = _stored(Finding("vol-1", "unattached", tags={"team": "payments", "env": "prod"}))
    out = io.StringIO()
    CsvWriter(out).write(finding)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert json.loads(row["tags"]) == {"env": "prod", "team": "payments"}
    resource = detection_finding(finding)["resources"][0]
    assert resource["labels"] == ["env:prod", "team:payments"]


def test_security_hub_findings_carry_the_tags() -> None:
    entry = Entry(plugin="unattached_ebs", account_id="111111111111", account_name="prod", region="eu-west-1",
                  resource_id="vol-1", severity="low", line="x", last_seen="2026-12-01T00:00:00Z",
                  tags={"team": "payments"})
    assert asff_finding(entry, Product("222222222222", "eu-west-1"))["Resources"][0]["Tags"] == {"team": "payments"}
    untagged = asff_finding(dataclasses.replace(entry, tags={}), Product("222222222222", "eu-west-1"))
    assert "Tags" not in untagged["Resources"][0]


def _collector(module: Any) -> Any:
    """The one collector a built-in plugin module registers, as the runtime gets it."""
    found: list[Any] = []
    module.register_collectors(register=found.append)
    return found[0]


def _ctx(options: dict[str, Any]) -> CollectorContext:
    return CollectorContext(account=Account("123456789012", "test"), region="us-east-1", options=options,
                            log=structlog.get_logger(), now=NOW,
                            clients=lambda service, region: boto3.client(service, region_name=region))


def test_built_in_collectors_tag_their_findings_from_the_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, TagSpecifications=[
            {"ResourceType": "volume",
             "Tags": [{"Key": "team", "Value": "data"}, {"Key": "Name", "Value": "scratch"}]}])
        group = ec2.create_security_group(GroupName="web", Description="web", TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": "web"}]}])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

        (ebs,) = _collector(unattached_ebs).collect(_ctx({}))
        sgs = {f.resource_id: f for f in _collector(open_security_groups).collect(_ctx({"allowed_ports": []}))}

    assert ebs.resource_id == volume["VolumeId"] and ebs.tags == {"Name": "scratch", "team": "data"}
    assert sgs[group].tags == {"team": "web"}
