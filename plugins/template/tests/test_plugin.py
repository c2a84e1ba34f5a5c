"""The example collector against moto, and the installed plugin as aws-collector finds it."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_collector_example
import pytest

from collector_core import Collector, Finding
from collector_core.testing import run_collector

TEMPLATE = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def collector(register_plugin: Any) -> Collector:
    return register_plugin(aws_collector_example)["unused_elastic_ips"]


def allocate(ec2: Any, created: str | None = None) -> str:
    tags = [{"ResourceType": "elastic-ip", "Tags": [{"Key": "created", "Value": created}]}] if created else []
    return ec2.allocate_address(Domain="vpc", TagSpecifications=tags)["AllocationId"]


def test_reports_addresses_not_associated_with_anything(
    mocked_aws: None, collector: Collector, collector_context: Any
) -> None:
    ctx = collector_context(collector, now=NOW)
    ec2 = ctx.client("ec2")
    idle = allocate(ec2)
    used = allocate(ec2)
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]
    ec2.associate_address(AllocationId=used, InstanceId=instance["InstanceId"])

    findings = run_collector(collector, ctx)

    assert [f.resource_id for f in findings] == [idle]
    finding = findings[0]
    assert isinstance(finding, Finding)
    assert finding.severity == "low"
    assert finding.details["public_ip"] in finding.summary
    assert finding.details["age_days"] is None


def test_min_age_days_leaves_out_recently_created_addresses(
    mocked_aws: None, collector: Collector, collector_context: Any
) -> None:
    ctx = collector_context(collector, options={"min_age_days": 30}, now=NOW)
    ec2 = ctx.client("ec2")
    old = allocate(ec2, created="2025-01-15")
    allocate(ec2, created="2025-05-20")
    untagged = allocate(ec2)

    findings = {f.resource_id: f for f in run_collector(collector, ctx)}

    assert set(findings) == {old, untagged}  # an address of unknown age is still reported
    assert findings[old].details["age_days"] == 137


def test_looks_only_in_the_context_region(
    mocked_aws: None, collector: Collector, collector_context: Any
) -> None:
    allocate(collector_context(collector, region="eu-west-1").client("ec2"))

    assert run_collector(collector, collector_context(collector, region="us-east-1")) == []


def test_a_registered_plugin_is_found_by_collector_name(
    mocked_aws: None, register_plugin: Any, collector_context: Any
) -> None:
    registry = register_plugin(aws_collector_example)
    ctx = collector_context("unused_elastic_ips")

    assert ctx.options == {"min_age_days": 0}
    assert registry.collectors["unused_elastic_ips"].plugin.value == "aws_collector_example"


def test_format_reads_as_one_line() -> None:
    stored = {"account_name": "prod", "region": "eu-west-1", "details": {"public_ip": "203.0.113.7"}}

    assert aws_collector_example.format_finding(stored) == "prod eu-west-1: 203.0.113.7 is unused"


@pytest.mark.slow
def test_installed_plugin_is_discovered(tmp_path: Path) -> None:
    # Build from a copy so the build leaves nothing (egg-info, build/) in the source tree.
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build")
    shutil.copytree(TEMPLATE, source, ignore=skip)
    site = tmp_path / "site"
    # Offline: no build isolation (the running environment's setuptools builds it), no index.
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-cache-dir",
           "--no-build-isolation", "--target", str(site), str(source)]
    built = subprocess.run(pip, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}
    env["PYTHONPATH"] = str(site)
    code = "import json, collector_core.plugins as p; print(json.dumps(p.load_plugins().describe()))"
    run = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    listing = json.loads(run.stdout)

    plugin = next(p for p in listing["plugins"] if p["name"] == "unused_elastic_ips")
    assert (plugin["distribution"], plugin["version"]) == ("aws-collector-example", "0.1.0")
    assert [c["name"] for c in plugin["collectors"]] == ["unused_elastic_ips"]
    collectors = {c["name"] for p in listing["plugins"] for c in p["collectors"]}
    assert {"unattached_ebs", "iam_key_age", "open_security_groups"} <= collectors
    assert listing["failed"] == []
