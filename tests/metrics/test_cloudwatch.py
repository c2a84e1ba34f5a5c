"""PutMetricData (moto): the same numbers with Plugin and Region dimensions."""
from __future__ import annotations

import datetime as dt

import boto3
from metrics_listeners import emit

from collector_core.aws.clients import Clients
from collector_core.results import AccountResult


def test_metrics_go_to_cloudwatch_with_plugin_and_region_dimensions(
    account_result: AccountResult, mocked_aws: None
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert emit([account_result], {"sink": "cloudwatch", "namespace": "CollectorTest"},
                clients=Clients(), now=now) == []

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    listed = cloudwatch.list_metrics(Namespace="CollectorTest")["Metrics"]
    names = {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed}
    assert ("Findings", (("Plugin", "unattached_ebs"), ("Region", "us-east-1"))) in names
    assert ("ApiCalls", (("Plugin", "iam_key_age"), ("Region", "global"))) in names
    assert len(names) == 16
    stats = cloudwatch.get_metric_statistics(
        Namespace="CollectorTest", MetricName="Findings", Statistics=["Sum"], Period=60,
        Dimensions=[{"Name": "Plugin", "Value": "unattached_ebs"}, {"Name": "Region", "Value": "us-east-1"}],
        StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=5))
    assert [p["Sum"] for p in stats["Datapoints"]] == [3.0]
