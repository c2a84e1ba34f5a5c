"""CloudWatch Embedded Metric Format lines, validated against the format's specification."""
from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import jsonschema
import pytest
from metrics_listeners import emit

from collector_core.metrics.samples import samples
from collector_core.results import AccountResult

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
UNITS = (
    "Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits "
    "Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second "
    "Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second "
    "Count/Second None"
).split()
#: The EMF document structure from the AWS specification ("Specification: Embedded metric format",
#: CloudWatch User Guide): a root with _aws {Timestamp (ms), CloudWatchMetrics: [MetricDirective]};
#: a MetricDirective has Namespace, Dimensions (DimensionSets of at most 9 keys) and at most 100
#: MetricDefinitions {Name, optional Unit}; objects it defines carry no other members.
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": NAME,
                            "Dimensions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "array", "minItems": 0, "maxItems": 9, "items": NAME},
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {"Name": NAME, "Unit": {"enum": UNITS}},
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
MAX_EVENT_BYTES = 256 * 1024  # a CloudWatch Logs event


def assert_valid_emf(line: str) -> dict[str, Any]:
    """Schema-valid, and every reference resolves to a root member of the right kind."""
    assert len(line.encode()) <= MAX_EVENT_BYTES
    doc = json.loads(line)
    jsonschema.Draft202012Validator(EMF_SCHEMA).validate(doc)
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(doc.get(key), str), f"dimension target {key!r} must be a root string"
        for metric in directive["Metrics"]:
            value = doc.get(metric["Name"])
            assert isinstance(value, int | float) and not isinstance(value, bool), metric["Name"]
    return doc


def test_each_plugin_and_region_becomes_one_valid_emf_line(account_result: AccountResult) -> None:
    out = io.StringIO()
    assert emit([account_result], {"sink": "emf", "namespace": "AWSCollector"}, stream=out, now=NOW) == []

    docs = [assert_valid_emf(line) for line in out.getvalue().splitlines()]
    by_place = {(d["Plugin"], d["Region"]): d for d in docs}
    assert set(by_place) == {("unattached_ebs", "us-east-1"), ("unattached_ebs", "eu-west-1"),
                             ("iam_key_age", "global"), ("-", "ap-south-1")}
    ebs = by_place[("unattached_ebs", "us-east-1")]
    assert {k: ebs[k] for k in ("Findings", "Errors", "Duration", "ApiCalls")} == \
        {"Findings": 3, "Errors": 0, "Duration": 0.25, "ApiCalls": 2}
    assert by_place[("unattached_ebs", "eu-west-1")]["Errors"] == 2
    assert by_place[("-", "ap-south-1")]["Errors"] == 1
    assert ebs["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    assert ebs["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "AWSCollector"
    assert ebs["RunId"] == account_result.run_id and ebs["AccountId"] == "111111111111"


@pytest.mark.parametrize("broken", [
    {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["Plugin"]],
                                                      "Metrics": [{"Name": "Findings", "Unit": "Things"}]}]},
     "Plugin": "p", "Findings": 1},
    {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["Plugin"]],
                                                      "Metrics": [{"Name": "Findings"}]}]},
     "Findings": 1},  # the dimension has no target
    {"_aws": {"CloudWatchMetrics": []}},  # no Timestamp
])
def test_the_validator_rejects_what_the_spec_forbids(broken: dict[str, Any]) -> None:
    with pytest.raises((jsonschema.ValidationError, AssertionError)):
        assert_valid_emf(json.dumps(broken))


def test_samples_add_up_to_the_result(account_result: AccountResult) -> None:
    found = samples(account_result)
    assert sum(s.findings for s in found) == 5
    assert sum(s.errors for s in found) == len(account_result.errors)
    assert sum(s.api_calls for s in found) == 7
