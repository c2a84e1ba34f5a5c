"""deprecated_lambda_runtimes: Lambda functions on a runtime past its deprecation date.

A deprecated runtime gets no more security patches, and soon after, Lambda refuses to update the
function at all. The dates come from the table in runtime_dates (its source and the day it was
read are named there). ``as_of`` is the day to judge by: empty for the run's own date, or a later
date to see what is coming (``2026-07-01``). Functions packaged as container images have no
managed runtime and are left out.

ListFunctions by pages of 50.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from aws_collector_catalog import options, runtime_dates
from collector_core import Collector, CollectorContext, Finding, Scope

NAME = "deprecated_lambda_runtimes"
#: ListFunctions returns up to 50 a page.
PAGE_SIZE = 50
#: Deprecated for longer than this, a function is high: Lambda has long stopped letting it be updated.
HIGH_AFTER_DAYS = 180


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """One finding per function whose runtime is deprecated on the as_of date."""
    as_of = options.date_or_today(ctx, NAME, "as_of")
    pages = ctx.client("lambda").get_paginator("list_functions").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for function in page.get("Functions", []):
            deprecated = runtime_dates.DEPRECATION.get(function.get("Runtime") or "")
            if deprecated is not None and deprecated <= as_of:
                yield _finding(function, deprecated, as_of)


def _finding(function: Mapping[str, Any], deprecated: dt.date, as_of: dt.date) -> Finding:
    name, runtime = function["FunctionName"], function["Runtime"]
    days = (as_of - deprecated).days
    return Finding(
        resource_id=function.get("FunctionArn") or name,
        summary=(f"Lambda function {name} runs on {runtime}, deprecated since {deprecated.isoformat()}: move it "
                 f"to a supported runtime"),
        severity="high" if days > HIGH_AFTER_DAYS else "medium",
        details={
            "function_name": name,
            "runtime": runtime,
            "deprecated_on": deprecated.isoformat(),
            "days_deprecated": days,
            "as_of": as_of.isoformat(),
            "last_modified": function.get("LastModified"),
            "dates_from": f"{runtime_dates.SOURCE}, read {runtime_dates.RETRIEVED.isoformat()}",
        },
    )


COLLECTOR = Collector(
    name=NAME,
    scope=Scope.REGIONAL,
    summary="Lambda functions on a runtime past its deprecation date (a dated table; as_of looks ahead)",
    permissions=["lambda:ListFunctions"],
    options={"as_of": ""},
    collect=collect,
    resource_type="AwsLambdaFunction",
)
