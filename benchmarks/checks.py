"""A declarative check against the same check written as a plugin: the same call, the same
filter, the same findings, timed alternately in one run over the simulated AWS (with latency)."""
from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterator
from typing import Any

CHECK = {
    "summary": "Elastic IPs that are not associated with anything", "call": "ec2.describe_addresses",
    "select": "Addresses[?AssociationId == null]", "id": "AllocationId",
    "message": "Elastic IP {PublicIp} is not associated", "severity": "low",
}


def _plugin_collect(ctx: Any) -> Iterator[Any]:
    """What a plugin author writes for the same check (as plugins/template's example does)."""
    from collector_core import Finding

    for address in ctx.client("ec2").describe_addresses()["Addresses"]:
        if address.get("AssociationId") is None:
            yield Finding(resource_id=address["AllocationId"], severity="low",
                          summary=f"Elastic IP {address['PublicIp']} is not associated", details=address)


def measure_checks(report: Any, middleware: Any, *, regions: list[str], per_region: int, latency_ms: float,
                   rounds: int) -> None:
    """Median time to collect every region with each, and their ratio."""
    import boto3
    import structlog

    from collector_core.aws.clients import Clients
    from collector_core.checks.collect import as_collector
    from collector_core.checks.model import parse_checks
    from collector_core.collector import Account, Collector, CollectorContext, Scope
    from collector_core.findings import normalise

    for region in regions:
        ec2 = boto3.client("ec2", region_name=region)
        for _ in range(per_region):
            ec2.allocate_address(Domain="vpc")
    [check] = parse_checks({"free_eips": CHECK}, "benchmark")
    declarative = as_collector(check)
    plugin = Collector(name="free_eips", scope=Scope.REGIONAL, summary=CHECK["summary"], collect=_plugin_collect,
                       permissions=["ec2:DescribeAddresses"])
    clients = Clients()

    def collect(collector: Collector) -> tuple[float, int]:
        started, found = time.perf_counter(), 0
        for region in regions:
            ctx = CollectorContext(account=Account("123456789012", "bench"), region=region,
                                   options=dict(collector.options), log=structlog.get_logger(),
                                   now=dt.datetime.now(dt.UTC), clients=clients.client)
            found += sum(1 for raw in collector.collect(ctx) if normalise(raw))  # as the worker checks them
        return time.perf_counter() - started, found

    saved, middleware.latency = middleware.latency, latency_ms / 1000
    try:
        collect(declarative), collect(plugin)  # warm: clients and models
        times: dict[str, list[float]] = {"check": [], "plugin": []}
        counts = set()
        for _ in range(rounds):  # alternate, so drift in the machine's load falls on both
            for name, collector in (("check", declarative), ("plugin", plugin)):
                seconds, found = collect(collector)
                times[name].append(seconds)
                counts.add((name, found))
    finally:
        middleware.latency = saved
    check_s, plugin_s = statistics.median(times["check"]), statistics.median(times["plugin"])
    same = len({found for _, found in counts}) == 1
    ratio = check_s / plugin_s
    report.add(f"declarative check vs plugin: {len(regions)} regions x {per_region} EIPs, {latency_ms:g} ms per call",
               f"{check_s * 1000:.1f} ms, {ratio:.2f}x the plugin" + ("" if same else " (FINDINGS DIFFER)"),
               "<= 1.05x the plugin", f"plugin {plugin_s * 1000:.1f} ms (median of {rounds})",
               ok=same and ratio <= 1.05)
