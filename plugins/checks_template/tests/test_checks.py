"""The package's checks load, validate, and find what they should (against moto, in-process)."""
from __future__ import annotations

import aws_collector_checks_example as plugin
import boto3

from collector_core.checks.files import load_check_file
from collector_core.plugins import PluginSpec, load_plugins
from collector_core.testing import run_collector

SPEC = PluginSpec("checks_example", "aws-collector-checks-example", "0.1.0", "aws_collector_checks_example")


def test_every_check_validates() -> None:
    checks = load_check_file(plugin.CHECKS)  # raises CheckError naming the file, check and key
    assert [c.name for c in checks] == ["checks_example"]


def test_the_plugin_registers_its_checks() -> None:
    registry = load_plugins([], extra=[(SPEC, plugin)])
    assert registry.failures == []
    assert registry["checks_example"].permissions == ["ec2:DescribeAddresses"]


def test_it_finds_free_elastic_ips(mocked_aws, collector_context) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    free = ec2.allocate_address(Domain="vpc")
    collector = load_plugins([], extra=[(SPEC, plugin)])["checks_example"]
    findings = run_collector(collector, collector_context(collector))
    assert [f.resource_id for f in findings] == [free["AllocationId"]]
    assert findings[0].summary == f"Elastic IP {free['PublicIp']} is not associated"
