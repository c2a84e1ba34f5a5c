"""deprecated_lambda_runtimes over moto's server: the dated table, as_of, and every page."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from aws_collector_catalog import deprecated_lambda_runtimes, runtime_dates
from aws_collector_catalog.options import BadOption
from catalog_aws import Pages

from collector_core.testing import run_collector

NOW = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)


def functions(ctx: Any, runtimes: dict[str, str]) -> None:
    role = ctx.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    for name, runtime in runtimes.items():
        ctx.client("lambda").create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="handler.handler",
                                             Code={"ZipFile": code.getvalue()})


def test_functions_on_deprecated_runtimes_are_reported(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(deprecated_lambda_runtimes.COLLECTOR, now=NOW)
    functions(ctx, {"old": "python3.7", "recent": "python3.8", "current": "python3.12", "soon": "python3.9"})

    found = {f.details["function_name"]: f for f in run_collector(deprecated_lambda_runtimes.COLLECTOR, ctx)}

    assert set(found) == {"old", "recent"}
    assert found["old"].severity == "high" and found["recent"].severity == "medium"  # 425 and 110 days; > 180 is high
    assert found["recent"].details["deprecated_on"] == "2024-10-14"
    assert "move it to a supported runtime" in found["recent"].summary
    assert runtime_dates.SOURCE in found["old"].details["dates_from"]


def test_as_of_looks_ahead(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(deprecated_lambda_runtimes.COLLECTOR, options={"as_of": "2026-01-01"}, now=NOW)
    functions(ctx, {"soon": "python3.9", "current": "python3.12"})

    assert [f.details["function_name"] for f in run_collector(deprecated_lambda_runtimes.COLLECTOR, ctx)] == ["soon"]


def test_every_page_of_functions_is_read(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(deprecated_lambda_runtimes.COLLECTOR, now=NOW)
    functions(ctx, {f"fn{i}": "nodejs16.x" for i in range(5)})
    paged = Pages(ctx.client("lambda"), "ListFunctions", "Functions", size=2, token_in="Marker",
                  token_out="NextMarker")

    assert len(run_collector(deprecated_lambda_runtimes.COLLECTOR, ctx)) == 5
    assert paged.requests == 3


def test_a_bad_as_of_fails_the_scan_by_name(aws_server: str, collector_context: Any) -> None:
    ctx = collector_context(deprecated_lambda_runtimes.COLLECTOR, options={"as_of": "next year"})

    with pytest.raises(BadOption, match="deprecated_lambda_runtimes: option as_of must be a date"):
        run_collector(deprecated_lambda_runtimes.COLLECTOR, ctx)
