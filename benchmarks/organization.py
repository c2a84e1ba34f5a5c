"""Figures at the size of an organization: the report over 340,000 findings, what reading the table
costs as it grows, and a local run of 30 accounts against a 16-thread script on the same org."""
from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.processes import ChildRun, run_child

ROLE = "aws-collector-readonly"


def measure_report(report: Any, *, accounts: int, regions: int, per_region: int) -> None:
    """The report of a large organization, built one account at a time (no AWS involved)."""
    run = _must(run_child("report", {"accounts": accounts, "regions": regions, "per_region": per_region}))
    findings = accounts * regions * per_region
    report.add(f"report: {accounts} accounts x {regions} regions x {per_region} findings ({findings:,})",
               f"peak RSS {run.peak_rss_mb:.0f} MB; built in {run.out['built']:.1f} s, rendered in full in "
               f"{run.out['wall']:.1f} s; CPU {run.out['cpu']:.1f} s", "<= 150 MB peak",
               f"{run.out['lines']:,} lines of text, {run.out['slack_messages']} Slack messages",
               ok=run.peak_rss_mb <= 150)


def measure_routes(report: Any, *, accounts: int, regions: int, per_region: int, routes: int) -> None:
    """The same report with ``routes`` routes, each filtered in the one pass over the findings."""
    run = _must(run_child("report", {"accounts": accounts, "regions": regions, "per_region": per_region,
                                     "routes": routes}))
    findings = accounts * regions * per_region
    report.add(f"report with {routes} routes over {findings:,} findings",
               f"peak RSS {run.peak_rss_mb:.0f} MB; built in {run.out['built']:.1f} s, the whole and every route "
               f"rendered in {run.out['wall']:.1f} s; CPU {run.out['cpu']:.1f} s", "<= 150 MB peak",
               f"{run.out['routed']:,} findings routed, {run.out['slack_messages']} Slack messages",
               ok=run.peak_rss_mb <= 150)


def measure_reading(report: Any, url: str, *, sizes: tuple[int, int], accounts: int) -> None:
    """Peak RSS of `findings --format json` and `notify --stdout` over tables of two sizes: the
    growth per 10,000 findings (the table's accounts stay the same; each holds more)."""
    peaks: dict[str, list[float]] = {"findings --format json": [], "notify --stdout": []}
    for size in sizes:
        table = f"bench-read-{size}"
        _seed_table(url, table, findings=size, accounts=accounts)
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "read.yaml"
            config.write_text(f"table: {table}\nregions: [us-east-1]\naccounts: "
                              f"[{', '.join(f'{{id: {a!r}}}' for a in _accounts(accounts))}]\n")
            for command, argv in (("findings --format json", ["findings", "--format", "json"]),
                                  ("notify --stdout", ["notify", "--stdout"])):
                run = _must(run_child("cli", {"argv": [*argv, "--config", str(config)]}))
                if run.out["exit"] != 0:
                    raise SystemExit(f"`aws-collector {command}` exited {run.out['exit']}:\n{run.stderr}")
                peaks[command].append(run.peak_rss_mb)
    low, high = sizes
    for command, (small, large) in peaks.items():
        growth = (large - small) / ((high - low) / 10_000)
        report.add(f"reading: `{command}`, {low:,} -> {high:,} findings",
                   f"peak RSS {small:.0f} -> {large:.0f} MB: {growth:+.1f} MB per 10,000 findings",
                   "<= 5 MB per 10,000", ok=growth <= 5)


def measure_local_run(report: Any, middleware: Any, url: str, *, accounts: int, regions: list[str],
                      latency_ms: int) -> None:
    """`aws-collector run` against a 16-thread script that writes nothing, same org, same run."""
    from collector_core.demo.simulate import seed_organization

    org = seed_organization(url, accounts=accounts, regions=regions)
    ids = [a.id for a in org.accounts]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "org.yaml"
        config.write_text(f"table: bench-local-run\nregions: [{', '.join(regions)}]\naccounts: "
                          f"[{', '.join(f'{{id: {i!r}}}' for i in ids)}]\n")
        middleware.latency = latency_ms / 1000
        before = middleware.requests
        started = time.perf_counter()
        ours = _must(run_child("cli", {"argv": ["run", "--config", str(config)]}))
        ours_wall, requests = time.perf_counter() - started, middleware.requests - before
        if ours.out["exit"] not in (0, 1):
            raise SystemExit(f"`aws-collector run` exited {ours.out['exit']}:\n{ours.stderr}")
        before = middleware.requests
        script = _must(run_child("threaded-script", {"accounts": ids, "regions": regions, "role_name": ROLE}))
        script_requests = middleware.requests - before
        middleware.latency = 0.0
    ratio = ours.out["wall"] / script.out["wall"]
    report.add(f"local run: {accounts} accounts x {len(regions)} regions, {latency_ms} ms per call",
               f"`aws-collector run` {ours.out['wall']:.1f} s ({requests} requests, exit {ours.out['exit']}) "
               f"= {ratio:.2f} x the script", "<= 1.3 x a 16-thread script that writes nothing",
               f"script {script.out['wall']:.1f} s ({script_requests} requests, {script.out['found']} findings)",
               ok=ratio <= 1.3)
    report.notes.append(f"local run wall including the process's start: {ours_wall:.1f} s")


def _accounts(count: int) -> list[str]:
    return [f"{800000000000 + i:012d}" for i in range(count)]


def _seed_table(url: str, table: str, *, findings: int, accounts: int) -> None:
    """A table as a run of ``accounts`` accounts leaves it, written in batches (not measured)."""
    import boto3

    from collector_core.collector import Account, Finding
    from collector_core.store import Store
    from collector_core.store.layout import attrs, finding_item

    client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")
    store = Store(table, client)
    store.ensure_table()
    now = dt.datetime.now(dt.UTC)
    ids = _accounts(accounts)
    run = store.start_run("bench-read", ids, now=now, ttl_days=7, deadline=now)
    items = []
    for i in range(findings):
        account = Account(ids[i % accounts], f"acct-{i % accounts}")
        finding = Finding(f"vol-{i:07d}", f"Unattached EBS volume vol-{i:07d}: 100 GiB gp3, ~$8.00/month", "low",
                          {"size_gib": 100, "volume_type": "gp3", "tags": {"Name": f"volume {i}"}})
        items.append(finding_item(finding, plugin="unattached_ebs", account=account, region="us-east-1",
                                  run_id="bench-read", attempt=1, now=now, ttl_days=7, first_seen=None))
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": attrs(item)}}
                                                      for item in items[start : start + 25]]})
    for i, account_id in enumerate(ids):
        result = {"run_id": "bench-read", "run_seq": run.run_seq, "account": {"id": account_id, "name": f"acct-{i}"},
                  "attempt": 1, "attempt_end": 2, "scans": [["us-east-1", "unattached_ebs", 0, 1, 0.1, True]],
                  "errors": [], "error_counts": {}, "complete": True, "status": "ok"}
        store.record_attempt(result, collectors=["unattached_ebs"], now=now, ttl_days=7)


def _must(run: ChildRun) -> ChildRun:
    if not run.ok:
        raise SystemExit(f"benchmark child {run.mode} failed (exit {run.returncode}):\n{run.stderr}")
    return run
