"""CloudWatch PutMetricData, for runs outside Lambda."""
from __future__ import annotations

import datetime as dt
from typing import Any

from collector_core.metrics.samples import DEFAULT_NAMESPACE, METRICS, Sample

PUT_METRIC_DATA_MAX = 1000  # MetricData entries per PutMetricData call


class CloudWatchSink:
    """PutMetricData, in as few calls as the API's per-call limit allows."""

    name = "cloudwatch"

    def __init__(self, client: Any, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.client = client
        self.namespace = namespace

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Put every sample's four metrics with Plugin and Region dimensions."""
        data = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Plugin", "Value": s.plugin}, {"Name": "Region", "Value": s.region}],
                "Timestamp": now,
                "Value": float(getattr(s, attr)),
                "Unit": unit,
            }
            for s in batch for name, unit, attr in METRICS
        ]
        for start in range(0, len(data), PUT_METRIC_DATA_MAX):
            chunk = data[start : start + PUT_METRIC_DATA_MAX]
            self.client.put_metric_data(Namespace=self.namespace, MetricData=chunk)
