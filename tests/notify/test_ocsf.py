"""`findings --format ocsf`: every finding as an OCSF Detection Finding that the OCSF models Prowler
publishes (py-ocsf-models) accept field for field, so a security data lake or a SIEM can take it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from py_ocsf_models import OCSF_VERSION as MODELLED_VERSION
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from pydantic import ValidationError

from collector_core import __version__
from collector_core.cli import main
from collector_core.demo.simulate import seed_organization
from collector_core.notify.ocsf import OCSF_VERSION, detection_finding

FINDING: dict[str, Any] = {
    "plugin": "unattached_ebs", "account_id": "111111111111", "account_name": "prod", "region": "eu-west-1",
    "resource_id": "vol-0abc", "severity": "medium", "summary": "Unattached EBS volume vol-0abc: 100 GiB gp3",
    "details": {"size_gib": 100, "volume_type": "gp3", "tags": {"team": "data"}, "created": None},
    "run_id": "20250602T120000.000000Z-abcdef", "first_seen": "2025-05-01T08:00:00Z",
    "last_seen": "2025-06-02T12:00:00Z", "ttl": 1749470400,
}


def validated(event: dict[str, Any]) -> DetectionFinding:
    """The event through py-ocsf-models' DetectionFinding; it must come back unchanged, so no field
    was unknown to the model (pydantic drops those silently) and none had to be coerced."""
    model = DetectionFinding.model_validate(event)
    assert model.model_dump(mode="json", exclude_unset=True) == event
    return model


def test_the_models_we_validate_with_are_of_the_ocsf_version_we_declare() -> None:
    assert OCSF_VERSION == MODELLED_VERSION


@pytest.mark.parametrize(("severity", "severity_id", "caption"), [
    ("info", 1, "Informational"), ("low", 2, "Low"), ("medium", 3, "Medium"), ("high", 4, "High"),
    ("critical", 5, "Critical"),
])
def test_a_finding_is_a_valid_detection_finding(severity: str, severity_id: int, caption: str) -> None:
    event = detection_finding({**FINDING, "severity": severity}, resource_type="AwsEc2Volume")

    model = validated(event)
    assert (model.class_uid, model.category_uid, model.type_uid, model.activity_id) == (2004, 2, 200401, 1)
    assert (event["severity_id"], event["severity"]) == (severity_id, caption)
    assert event["metadata"]["version"] == OCSF_VERSION
    assert event["metadata"]["product"] == {"name": "aws-collector", "vendor_name": "aws-collector",
                                            "version": __version__}


def test_the_mapping_carries_the_finding() -> None:
    event = detection_finding(FINDING, resource_type="AwsEc2Volume")

    info = event["finding_info"]
    assert info["uid"] == "111111111111/eu-west-1/unattached_ebs/vol-0abc"
    assert info["types"] == ["unattached_ebs"] and info["analytic"]["name"] == "unattached_ebs"
    assert info["title"] == event["message"] == FINDING["summary"]
    assert (info["first_seen_time"], info["last_seen_time"]) == (1746086400000, 1748865600000)
    assert (info["first_seen_time_dt"], info["last_seen_time_dt"]) == (FINDING["first_seen"], FINDING["last_seen"])
    assert event["time"] == info["last_seen_time"]
    assert event["cloud"] == {"provider": "AWS", "region": "eu-west-1", "account": {
        "uid": "111111111111", "name": "prod", "type_id": 10, "type": "AWS Account"}}
    assert event["resources"] == [{"uid": "vol-0abc", "type": "AwsEc2Volume", "region": "eu-west-1",
                                   "data": FINDING["details"]}]
    assert (event["status_id"], event["status"]) == (1, "New")


def test_the_uid_is_the_same_for_every_sighting_and_differs_between_findings() -> None:
    again = detection_finding({**FINDING, "run_id": "later", "last_seen": "2025-06-03T12:00:00Z"})
    other = detection_finding({**FINDING, "region": "us-east-1"})

    assert again["finding_info"]["uid"] == detection_finding(FINDING)["finding_info"]["uid"]
    assert other["finding_info"]["uid"] != again["finding_info"]["uid"]


def test_a_collector_without_a_resource_type_says_nothing_of_it() -> None:
    event = detection_finding({**FINDING, "details": {}})

    validated(event)
    assert event["resources"] == [{"uid": "vol-0abc", "region": "eu-west-1"}]


def test_the_validation_is_not_vacuous() -> None:
    """The control: the check above fails on an unknown field and on a wrong value."""
    event = detection_finding(FINDING)
    with pytest.raises(AssertionError):
        validated({**event, "finding_info": {**event["finding_info"], "kind": "unknown field"}})
    with pytest.raises(ValidationError):
        validated({**event, "severity_id": 7})
    with pytest.raises(ValidationError):
        validated({key: value for key, value in event.items() if key != "finding_info"})


@pytest.mark.slow
def test_findings_as_ocsf_after_a_run(server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = seed_organization(server_env, accounts=2, regions=["us-east-1"])
    config = tmp_path / "config.yaml"
    config.write_text("table: ocsf-e2e\nregions: [us-east-1]\n"
                      f"organization: {{enabled: true, exclude: ['{sim.management}']}}\n")
    assert main(["run", "--config", str(config)]) == 0
    capsys.readouterr()

    assert main(["findings", "--config", str(config), "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert main(["findings", "--config", str(config), "--format", "ocsf"]) == 0
    events = json.loads(capsys.readouterr().out)

    assert len(events) == len(findings) == len(sim.expected)
    for event in events:
        validated(event)
    keys = {(e["finding_info"]["types"][0], e["cloud"]["account"]["uid"], e["cloud"]["region"],
             e["resources"][0]["uid"]) for e in events}
    assert keys == sim.expected
    types = {e["finding_info"]["types"][0]: e["resources"][0]["type"] for e in events}
    assert types == {"unattached_ebs": "AwsEc2Volume", "iam_key_age": "AwsIamAccessKey",
                     "open_security_groups": "AwsEc2SecurityGroup"}
    names = {a.id: a.name for a in sim.accounts}
    assert all(e["cloud"]["account"]["name"] == names[e["cloud"]["account"]["uid"]] for e in events)


def test_no_findings_is_an_empty_array(server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("table: ocsf-empty\naccounts: [{id: '111111111111', name: prod}]\n")
    from collector_core.aws.clients import Clients
    from collector_core.store import Store

    Store.open("ocsf-empty", Clients()).ensure_table()

    assert main(["findings", "--config", str(config), "--format", "ocsf"]) == 0
    assert json.loads(capsys.readouterr().out) == []
