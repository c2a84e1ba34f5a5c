"""Built-in collector: security groups with ingress open to the whole internet.

A rule is reported when it admits ``0.0.0.0/0`` or ``::/0`` and is not confined to
``allowed_ports``: confined means protocol tcp or udp with every port of FromPort..ToPort in
``allowed_ports`` (so 80 and 443 are confined to ``[80, 443]``, the range 80-443 is not).

Severity of a group is that of its worst offending rule:
- ``high``: all protocols (``-1``), or a tcp/udp range containing 22 or 3389 (which includes
  0-65535, "all ports");
- ``medium``: any other tcp/udp range, or a whole other IP protocol (GRE, ESP, ...);
- ``low``: ICMP / ICMPv6 only (ping and path-MTU discovery: reachable, not a service).

API calls: one ``ec2:DescribeSecurityGroups`` per page of up to 1000 groups, with no server-side
filter. Filtering on ``ip-permission.cidr`` and ``ip-permission.ipv6-cidr`` would take two calls
(filters with different names are ANDed), and every rule must be checked here anyway.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from collector_core import Collector, CollectorContext, Finding, Scope, hookimpl, tags_from

#: DescribeSecurityGroups accepts at most 1000 results a page.
PAGE_SIZE = 1000
WORLD_CIDRS = ("0.0.0.0/0", "::/0")
#: SSH and RDP: the ports scanners try first.
HIGH_RISK_PORTS = (22, 3389)
#: IpProtocol may be a name or a number; numbers AWS accepts for the protocols handled by name.
PROTOCOL_NAMES = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
SEVERITY_ORDER = ("low", "medium", "high")


def collect(ctx: CollectorContext) -> Iterator[Finding]:
    """Yield one finding per security group in ctx.region with a world-open ingress rule."""
    allowed = {int(p) for p in ctx.options.get("allowed_ports", [])}
    ec2 = ctx.client("ec2")
    pages = ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        for group in page.get("SecurityGroups", []):
            finding = group_finding(group, allowed)
            if finding is not None:
                yield finding


def group_finding(group: Mapping[str, Any], allowed_ports: set[int]) -> Finding | None:
    """The finding for one DescribeSecurityGroups entry, or None when nothing is open."""
    rules: list[dict[str, Any]] = []
    severities: list[str] = []
    for permission in group.get("IpPermissions", []):
        cidrs = [r.get("CidrIp") for r in permission.get("IpRanges", [])]
        cidrs += [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
        world = [c for c in cidrs if c in WORLD_CIDRS]
        if not world:
            continue
        protocol = _protocol(permission.get("IpProtocol", "-1"))
        from_port, to_port = permission.get("FromPort"), permission.get("ToPort")
        if protocol == "all":
            from_port = to_port = None  # ports mean nothing when every protocol is open
        if _confined(protocol, from_port, to_port, allowed_ports):
            continue
        severities.append(_rule_severity(protocol, from_port, to_port))
        rules += [
            {"protocol": protocol, "from_port": from_port, "to_port": to_port, "cidr": cidr} for cidr in world
        ]
    if not rules:
        return None
    group_id, name = group["GroupId"], group.get("GroupName", "")
    return Finding(
        resource_id=group_id,
        summary=f"Security group {group_id} ({name}) open to the internet on {_rules_text(rules)}",
        severity=max(severities, key=SEVERITY_ORDER.index),
        details={"group_name": name, "vpc_id": group.get("VpcId"), "rules": rules},
        tags=tags_from(group),
    )


def format_finding(finding: Mapping[str, Any]) -> str:
    """One report line, e.g. ``sg-123 web (vpc-1): tcp 22, all traffic open to the internet``."""
    details = finding.get("details") or {}
    name, vpc = details.get("group_name", ""), details.get("vpc_id") or "no VPC"
    rules = _rules_text(details.get("rules") or [])
    return f"{finding.get('resource_id')} {name} ({vpc}): {rules} open to the internet"


def _protocol(raw: Any) -> str:
    text = str(raw).lower()
    return PROTOCOL_NAMES.get(text, text)


def _port_range(from_port: Any, to_port: Any) -> tuple[int, int]:
    # tcp/udp always carry ports; a missing or negative one can only mean "every port".
    if from_port is None or to_port is None or int(from_port) < 0:
        return 0, 65535
    return int(from_port), int(to_port)


def _confined(protocol: str, from_port: Any, to_port: Any, allowed: set[int]) -> bool:
    if protocol not in ("tcp", "udp") or not allowed:
        return False
    low, high = _port_range(from_port, to_port)
    # The size check first keeps a 0-65535 rule from walking 65536 ports.
    return high - low + 1 <= len(allowed) and all(p in allowed for p in range(low, high + 1))


def _rule_severity(protocol: str, from_port: Any, to_port: Any) -> str:
    if protocol == "all":
        return "high"
    if protocol in ("tcp", "udp"):
        low, high = _port_range(from_port, to_port)
        return "high" if any(low <= p <= high for p in HIGH_RISK_PORTS) else "medium"
    if protocol in ("icmp", "icmpv6"):
        return "low"
    return "medium"  # another IP protocol (GRE, ESP, ...) open in full


def _rule_text(rule: Mapping[str, Any]) -> str:
    protocol = rule.get("protocol")
    if protocol == "all":
        return "all traffic"
    if protocol in ("tcp", "udp"):
        low, high = _port_range(rule.get("from_port"), rule.get("to_port"))
        if (low, high) == (0, 65535):
            return f"{protocol} all ports"
        return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"
    if protocol in ("icmp", "icmpv6"):
        return str(protocol)
    return f"protocol {protocol}"


def _rules_text(rules: Iterable[Mapping[str, Any]], limit: int = 4) -> str:
    # One entry per distinct rule, whatever its CIDR: IPv4 and IPv6 twins read as one.
    texts = list(dict.fromkeys(_rule_text(r) for r in rules))
    more = f" and {len(texts) - limit} more" if len(texts) > limit else ""
    return ", ".join(texts[:limit]) + more


@hookimpl
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the open_security_groups collector."""
    register(
        Collector(
            name="open_security_groups",
            scope=Scope.REGIONAL,
            summary="Security groups with ingress open to 0.0.0.0/0 or ::/0 beyond the allowed ports",
            permissions=["ec2:DescribeSecurityGroups"],
            options={"allowed_ports": [80, 443]},
            collect=collect,
            format=format_finding,
            resource_type="AwsEc2SecurityGroup",
        )
    )
