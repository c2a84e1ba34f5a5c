"""The deployment's heartbeat: what the stack's alarms watch (serverless.yml).

In Lambda, each function writes one CloudWatch Embedded Metric Format line on stdout, which
CloudWatch Logs turns into a metric with no API call and no permission: ``RunsCompleted`` when the
notifier reports a run (or the sweep closes one), with ``ReportFailures`` for the channels that
refused it, and ``RunsNotStarted`` when the director could not start a run. The alarm "no run
completed in alarm_after_hours" fires on the absence of ``RunsCompleted``, so it also hears a
director that never ran at all. The metrics carry one dimension, ``Deployment``
(``<service>-<stage>``, from AWS_COLLECTOR_DEPLOYMENT), and nothing is written outside a
deployment: a laptop run has no alarm to feed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from typing import IO

from collector_core.metrics.samples import DEFAULT_NAMESPACE

#: Set by serverless.yml to ``<service>-<stage>``: the dimension the stack's alarms select.
DEPLOYMENT_ENV = "AWS_COLLECTOR_DEPLOYMENT"
NAMESPACE = DEFAULT_NAMESPACE
RUNS_COMPLETED, REPORT_FAILURES, RUNS_NOT_STARTED = "RunsCompleted", "ReportFailures", "RunsNotStarted"


def beat(counts: Mapping[str, int], *, stream: IO[str] | None = None, now: dt.datetime | None = None) -> bool:
    """Write the counts as one EMF line under this deployment; False (nothing written) outside one."""
    deployment = os.environ.get(DEPLOYMENT_ENV)
    if not deployment or not counts:
        return False
    now = now or dt.datetime.now(dt.UTC)
    doc = {"_aws": {"Timestamp": int(now.timestamp() * 1000),
                    "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Deployment"]],
                                           "Metrics": [{"Name": name, "Unit": "Count"} for name in counts]}]},
           "Deployment": deployment, **counts}
    out = stream or sys.stdout
    out.write(json.dumps(doc, separators=(",", ":")) + "\n")
    out.flush()
    return True
