"""open_security_groups against moto, rule edge cases, and pagination against a stubbed client,
through the plugin kit (collector_core.testing) as a plugin author would test it."""
from __future__ import annotations

import json
from typing import Any

import pytest
from aws_collector_plugins import open_security_groups
from botocore.stub import Stubber

from collector_core import SEVERITIES, Collector, CollectorContext, Finding, Scope
from collector_core.testing import api_calls, run_collector

V4, V6 = "0.0.0.0/0", "::/0"


def _tcp(from_port: int, to_port: int | None = None, *, v4: bool = True, v6: bool = False,
         protocol: str = "tcp") -> dict[str, Any]:
    to_port = from_port if to_port is None else to_port
    rule: dict[str, Any] = {"IpProtocol": protocol, "FromPort": from_port, "ToPort": to_port}
    if v4:
        rule["IpRanges"] = [{"CidrIp": V4}]
    if v6:
        rule["Ipv6Ranges"] = [{"CidrIpv6": V6}]
    return rule


ALL_TRAFFIC = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": V4}]}
ICMP = {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": V4}]}

#: name -> (ingress rules, expected severity or None when not reported, expected offending rules)
CASES: dict[str, tuple[list[dict[str, Any]], str | None, list[tuple[Any, ...]]]] = {
    "web": ([_tcp(80), _tcp(443, v6=True)], None, []),
    "private-ssh": ([{**_tcp(22, v4=False), "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}], None, []),
    "ssh": ([_tcp(22)], "high", [("tcp", 22, 22, V4)]),
    "rdp-v6": ([_tcp(3389, v4=False, v6=True)], "high", [("tcp", 3389, 3389, V6)]),
    "span-22": ([_tcp(20, 25)], "high", [("tcp", 20, 25, V4)]),
    "all-traffic": ([ALL_TRAFFIC], "high", [("all", None, None, V4)]),
    "all-ports": ([_tcp(0, 65535)], "high", [("tcp", 0, 65535, V4)]),
    "range-80-443": ([_tcp(80, 443)], "medium", [("tcp", 80, 443, V4)]),
    "v6-only": ([_tcp(8080, v4=False, v6=True)], "medium", [("tcp", 8080, 8080, V6)]),
    "both-families": ([_tcp(5432, v6=True)], "medium", [("tcp", 5432, 5432, V4), ("tcp", 5432, 5432, V6)]),
    "mixed": ([_tcp(443), _tcp(9000)], "medium", [("tcp", 9000, 9000, V4)]),
    "dns-udp": ([_tcp(53, protocol="udp")], "medium", [("udp", 53, 53, V4)]),
    "ping": ([ICMP], "low", [("icmp", -1, -1, V4)]),
    "ping-and-ssh": ([ICMP, _tcp(22)], "high", [("icmp", -1, -1, V4), ("tcp", 22, 22, V4)]),
}


@pytest.fixture
def collector(register_plugin: Any) -> Collector:
    """The collector as the runtime gets it: through the plugin's hook."""
    return register_plugin(open_security_groups)["open_security_groups"]


@pytest.fixture
def ctx(mocked_aws: None, collector: Collector, collector_context: Any) -> CollectorContext:
    return collector_context(collector)


def _collect(collector: Collector, collector_context: Any, options: dict[str, Any] | None = None,
             region: str = "us-east-1") -> list[Finding]:
    return run_collector(collector, collector_context(collector, options=options, region=region))


def _make_groups(ctx: CollectorContext, cases: dict[str, Any] = CASES) -> dict[str, str]:
    ec2 = ctx.client("ec2")
    ids = {}
    for name, (rules, _, _) in cases.items():
        ids[name] = ec2.create_security_group(GroupName=name, Description=name)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=ids[name], IpPermissions=rules)
    return ids


def test_registration(register_plugin: Any) -> None:
    registry = register_plugin(open_security_groups)
    # The module registers this one collector, the way the runtime loads it.
    own = [r.collector for r in registry.collectors.values() if r.plugin.value == open_security_groups.__name__]
    (collector,) = own
    assert collector.name == "open_security_groups"
    assert collector.scope is Scope.REGIONAL
    assert collector.permissions == ["ec2:DescribeSecurityGroups"]
    assert collector.options == {"allowed_ports": [80, 443]}


def test_findings_match_ground_truth_in_one_call(ctx: CollectorContext, collector: Collector) -> None:
    ids = _make_groups(ctx)
    # A rule from another security group is not the internet.
    ec2 = ctx.client("ec2")
    peer = ec2.create_security_group(GroupName="peer", Description="peer")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=peer, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": ids["ssh"]}]}])
    calls = api_calls(ec2)

    findings = {f.resource_id: f for f in run_collector(collector, ctx)}

    expected = {ids[name]: case for name, case in CASES.items() if case[1] is not None}
    assert set(findings) == set(expected)
    assert calls == ["DescribeSecurityGroups"]
    for group_id, (_, severity, rules) in expected.items():
        finding = findings[group_id]
        assert finding.severity == severity, finding.details["group_name"]
        got = [(r["protocol"], r["from_port"], r["to_port"], r["cidr"]) for r in finding.details["rules"]]
        assert got == rules, finding.details["group_name"]
        assert finding.details["vpc_id"].startswith("vpc-")
        assert finding.severity in SEVERITIES
        json.dumps(finding.details, allow_nan=False)
    ssh = findings[ids["ssh"]]
    assert ssh.summary == f"Security group {ids['ssh']} (ssh) open to the internet on tcp 22"
    assert findings[ids["all-traffic"]].summary.endswith("on all traffic")
    assert findings[ids["both-families"]].summary.endswith("on tcp 5432")  # IPv4 and IPv6 read as one


def test_allowed_ports_option_replaces_the_default(ctx: CollectorContext, collector: Collector,
                                                   collector_context: Any) -> None:
    ids = _make_groups(ctx, {name: CASES[name] for name in ("web", "ssh", "span-22")})
    findings = {f.resource_id: f for f in _collect(collector, collector_context, {"allowed_ports": [22]})}
    assert set(findings) == {ids["web"], ids["span-22"]}
    assert findings[ids["web"]].severity == "medium"
    # Nothing allowed: every world-open rule counts.
    assert len(_collect(collector, collector_context, {"allowed_ports": []})) == 3


def test_a_range_is_confined_only_when_every_port_is_allowed(ctx: CollectorContext, collector: Collector,
                                                             collector_context: Any) -> None:
    ids = _make_groups(ctx, {"r": ([_tcp(8000, 8002)], "medium", [])})
    assert _collect(collector, collector_context, {"allowed_ports": [8000, 8001, 8002]}) == []
    findings = _collect(collector, collector_context, {"allowed_ports": [8000, 8002]})
    assert [f.resource_id for f in findings] == [ids["r"]]


def test_empty_region_has_no_findings(ctx: CollectorContext, collector: Collector) -> None:
    # Only the default VPC's default group exists.
    calls = api_calls(ctx.client("ec2"))
    assert run_collector(collector, ctx) == []
    assert calls == ["DescribeSecurityGroups"]


def test_only_the_context_region_is_scanned(mocked_aws: None, collector: Collector, collector_context: Any) -> None:
    west = collector_context(collector, region="us-west-2").client("ec2")
    group = west.create_security_group(GroupName="w", Description="w")["GroupId"]
    west.authorize_security_group_ingress(GroupId=group, IpPermissions=[_tcp(22)])
    assert _collect(collector, collector_context) == []
    assert [f.resource_id for f in _collect(collector, collector_context, region="us-west-2")] == [group]


def _group(group_id: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"GroupId": group_id, "GroupName": group_id, "VpcId": "vpc-1", "IpPermissions": rules}


def test_follows_every_page(ctx: CollectorContext, collector: Collector) -> None:
    ec2 = ctx.client("ec2")
    calls = api_calls(ec2)
    with Stubber(ec2) as stub:
        stub.add_response("describe_security_groups",
                          {"SecurityGroups": [_group("sg-1", [_tcp(22)]), _group("sg-ok", [_tcp(443)])],
                           "NextToken": "page2"},
                          {"MaxResults": 1000})
        stub.add_response("describe_security_groups", {"SecurityGroups": [_group("sg-2", [ALL_TRAFFIC])]},
                          {"MaxResults": 1000, "NextToken": "page2"})
        findings = run_collector(collector, ctx)
        stub.assert_no_pending_responses()
    assert [f.resource_id for f in findings] == ["sg-1", "sg-2"]
    assert calls == ["DescribeSecurityGroups", "DescribeSecurityGroups"]


@pytest.mark.parametrize(
    ("permission", "severity", "protocol"),
    [
        (_tcp(22, protocol="6"), "high", "tcp"),
        (_tcp(443, protocol="17"), None, "udp"),
        (_tcp(-1, v4=False, v6=True, protocol="58"), "low", "icmpv6"),
        ({"IpProtocol": "50", "IpRanges": [{"CidrIp": V4}]}, "medium", "50"),  # ESP: a whole protocol
        (_tcp(-1, v4=False, v6=True, protocol="-1"), "high", "all"),
    ],
)
def test_protocol_numbers_and_other_protocols(permission: dict[str, Any], severity: str | None, protocol: str) -> None:
    finding = open_security_groups.group_finding(_group("sg-x", [permission]), {80, 443})
    if severity is None:
        assert finding is None
        return
    assert finding is not None
    assert finding.severity == severity
    assert [r["protocol"] for r in finding.details["rules"]] == [protocol]


def test_format_reads_a_stored_finding(collector: Collector) -> None:
    stored = {"resource_id": "sg-123", "details": {"group_name": "web", "vpc_id": "vpc-1", "rules": [
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": V4},
        {"protocol": "all", "from_port": None, "to_port": None, "cidr": V6},
    ]}}
    assert collector.format is not None
    line = collector.format(stored)
    assert line == "sg-123 web (vpc-1): tcp 22, all traffic open to the internet"
