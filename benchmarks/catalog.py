"""The catalog group: one worker running every check installed, the built-ins' and the catalog's,
over the regions of the worker figure, against its bound and the Lambda memory it is given.

The representative account holds the catalog's seeded problems too (seed_organization seeds every
installed plugin's). Without the catalog installed, the group says so and measures nothing.
"""
from __future__ import annotations

import os
from typing import Any

#: The catalog's checks and their options (defaults), as the director would plan them.
CATALOG_DISTRIBUTION = "aws-collector-catalog"


def catalog_collectors() -> dict[str, dict[str, Any]]:
    """Every collector the catalog registers, with its default options; empty when not installed."""
    from collector_core.plugins import load_plugins

    registry = load_plugins()
    return {name: dict(registry[name].options) for name in registry.names()
            if registry.collectors[name].plugin.distribution == CATALOG_DISTRIBUTION}


def measure_catalog(bench: Any) -> None:
    """One worker, every check, every region of the worker figure: wall against bound, peak RSS."""
    from benchmarks.figures import critical_path
    from benchmarks.processes import run_child
    from benchmarks.run import COLLECTORS, ms, must

    report = bench.report
    catalog = catalog_collectors()
    if not catalog:
        report.notes.append(f"catalog group: {CATALOG_DISTRIBUTION} is not installed (pip install -e "
                            "plugins/catalog), nothing measured")
        return
    regions = bench.regions(bench.args.regions)
    bench.set_latency(bench.args.latency_ms)
    collectors = {**COLLECTORS, **catalog}
    event = bench.event(bench.representative, regions, "catalog")
    event["collectors"] = collectors
    # The harness points Lambda at its Invoke listener; a worker never invokes, and the catalog's
    # ListFunctions belongs to the simulated AWS.
    invoke_endpoint = os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)
    try:
        worker = must(run_child("worker", {"event": event}))
    finally:
        if invoke_endpoint is not None:
            os.environ["AWS_ENDPOINT_URL_LAMBDA"] = invoke_endpoint
    wall, per_call = worker.out["wall"], worker.out["per_call"]
    critical, chain = critical_path(worker.out["calls"], per_call)
    moto = bench.middleware.cpu_between(worker.out["started"], worker.out["started"] + wall)
    bound = max(critical, moto)
    result = worker.out["result"]
    report.add(f"one worker, all {len(collectors)} checks ({len(COLLECTORS)} built-in + {len(catalog)} catalog) x "
               f"{len(regions)} regions, {bench.args.latency_ms} ms/call",
               f"{ms(wall)} = {wall / bound:.2f} x its bound (critical path {ms(critical)}, longest: {chain}; "
               f"moto's CPU for its requests {ms(moto)}); {len(worker.out['calls'])} calls, "
               f"{result['written']} findings, status {result['status']}",
               "<= 1.3 x the bound", ok=wall <= 1.3 * bound and result["status"] == "ok")
    if result["errors"]:
        failed = {f"{e.get('plugin')} {e.get('error')}: {str(e.get('message', ''))[:120]}" for e in result["errors"]}
        report.notes.append("catalog group: scans that failed: " + "; ".join(sorted(failed)))
    report.add(f"one worker, all {len(collectors)} checks: peak RSS", f"{worker.peak_rss_mb:.0f} MB", "<= 128 MB",
               ok=worker.peak_rss_mb <= 128)
