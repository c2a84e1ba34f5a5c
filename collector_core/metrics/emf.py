"""CloudWatch Embedded Metric Format: one JSON line per plugin and region on a stream (stdout in
Lambda), which CloudWatch Logs turns into metrics with no API call at all."""
from __future__ import annotations

import datetime as dt
import json
import sys
from typing import IO, Any

from collector_core.metrics.samples import DEFAULT_NAMESPACE, METRICS, Sample


class EmfSink:
    """Embedded Metric Format lines on a stream (stdout in Lambda)."""

    name = "emf"

    def __init__(self, namespace: str = DEFAULT_NAMESPACE, stream: IO[str] | None = None) -> None:
        self.namespace = namespace
        self.stream = stream

    def send(self, batch: list[Sample], now: dt.datetime) -> None:
        """Write one EMF document per sample."""
        stream = self.stream or sys.stdout
        for sample in batch:
            stream.write(json.dumps(emf_document(sample, self.namespace, now), separators=(",", ":")) + "\n")
        stream.flush()


def emf_document(sample: Sample, namespace: str, now: dt.datetime) -> dict[str, Any]:
    """The EMF document of a sample: metrics by plugin and region, and by plugin alone."""
    doc: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Plugin", "Region"], ["Plugin"]],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in METRICS],
            }],
        },
        "Plugin": sample.plugin,
        "Region": sample.region,
        "AccountId": sample.account_id,
        "RunId": sample.run_id,
    }
    for name, _, attr in METRICS:
        doc[name] = getattr(sample, attr)
    return doc
