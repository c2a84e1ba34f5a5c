"""Figures at the size of an organization: the report over 340,000 findings, what reading the table
costs as it grows, and a local run of 30 accounts against a 16-thread script on the same org."""
from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.endpoint import WRITE_ACTIONS
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
    """`aws-collector run` three times (a first run, a second that finds the same, a third after 10 %
    of findings changed), against a 16-thread script that writes nothing, same org, same process."""
    from collector_core.demo.simulate import seed_organization

    org = seed_organization(url, accounts=accounts, regions=regions)
    ids = [a.id for a in org.accounts]
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "org.yaml"
        config.write_text(f"table: bench-local-run\nregions: [{', '.join(regions)}]\naccounts: "
                          f"[{', '.join(f'{{id: {i!r}}}' for i in ids)}]\n")
        middleware.latency = latency_ms / 1000
        runs = {"first run": _local_run(middleware, config)}
        runs["steady state (nothing changed)"] = _local_run(middleware, config)
        changed = _change_findings(url, org, fraction=0.10)
        runs[f"{changed} findings ({changed / len(org.expected):.0%}) changed"] = _local_run(middleware, config)
        before = middleware.requests
        script = _must(run_child("threaded-script", {"accounts": ids, "regions": regions, "role_name": ROLE}))
        script_requests = middleware.requests - before
        middleware.latency = 0.0
    name = f"local run: {accounts} accounts x {len(regions)} regions, {len(org.expected)} findings, " \
        f"{latency_ms} ms/call"
    steady = runs["steady state (nothing changed)"]
    ratio = steady.wall / script.out["wall"]
    report.add(f"{name}, steady state", f"`aws-collector run` {steady.wall:.1f} s ({steady.requests} requests, exit "
               f"{steady.exit}) = {ratio:.2f} x the script", "<= 1.25 x a 16-thread script that writes nothing",
               f"script {script.out['wall']:.1f} s ({script_requests} requests, {script.out['found']} findings)",
               ok=ratio <= 1.25)
    for label, run in runs.items():
        per_account = run.writes / accounts
        report.add(f"DynamoDB writes per account, {label}",
                   f"{per_account:.1f} write requests per account ({run.writes} in all: {run.describe()}); "
                   f"{run.wall:.1f} s = {run.wall / script.out['wall']:.2f} x the script",
                   "<= 10 per account" if run is steady else "printed (0.3.0: one per finding, plus ~7)",
                   ok=per_account <= 10 if run is steady else None)


@dataclass
class _LocalRun:
    wall: float
    requests: int
    writes: int
    actions: dict[str, int]
    exit: int

    def describe(self) -> str:
        return ", ".join(f"{action} {n}" for action, n in sorted(self.actions.items()) if action in WRITE_ACTIONS)


def _local_run(middleware: Any, config: Path) -> _LocalRun:
    before, writes, actions = middleware.requests, middleware.writes(), dict(middleware.dynamodb)
    run = _must(run_child("cli", {"argv": ["run", "--config", str(config)]}))
    if run.out["exit"] not in (0, 1):
        raise SystemExit(f"`aws-collector run` exited {run.out['exit']}:\n{run.stderr}")
    after = {a: n - actions.get(a, 0) for a, n in middleware.dynamodb.items() if n - actions.get(a, 0)}
    return _LocalRun(run.out["wall"], middleware.requests - before, middleware.writes() - writes, after,
                     run.out["exit"])


def _change_findings(url: str, org: Any, *, fraction: float) -> int:
    """Tag a ``fraction`` of the organization's findings' volumes (their details change), spread over
    accounts; returns how many changed."""
    import boto3

    wanted = round(len(org.expected) * fraction)
    volumes = sorted(e for e in org.expected if e[0] == "unattached_ebs")
    chosen = volumes[:: max(1, len(volumes) // wanted)][:wanted]
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    for account_id, group in itertools.groupby(chosen, key=lambda e: e[1]):
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}",
                                RoleSessionName="change")["Credentials"]
        session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                        aws_secret_access_key=creds["SecretAccessKey"],
                                        aws_session_token=creds["SessionToken"])
        for _, _, region, volume in group:
            session.client("ec2", endpoint_url=url, region_name=region).create_tags(
                Resources=[volume], Tags=[{"Key": "Name", "Value": "changed"}])
    return len(chosen)


def _accounts(count: int) -> list[str]:
    return [f"{800000000000 + i:012d}" for i in range(count)]


def _seed_table(url: str, table: str, *, findings: int, accounts: int) -> None:
    """A table as a run of ``accounts`` accounts leaves it, written in batches (not measured)."""
    import boto3

    from collector_core.collector import Account, Finding
    from collector_core.results import AccountResult, Scan
    from collector_core.store import Store
    from collector_core.store.layout import finding_item

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
    store.put_batch(items)
    for i, account_id in enumerate(ids):
        result = AccountResult("bench-read", Account(account_id, f"acct-{i}"), run.run_seq, attempt=1, attempt_end=2,
                               scans=[Scan("us-east-1", "unattached_ebs", 0, 1, 0.1, True)])
        store.record_attempt(result, collectors=["unattached_ebs"], now=now, ttl_days=7)


def _must(run: ChildRun) -> ChildRun:
    if not run.ok:
        raise SystemExit(f"benchmark child {run.mode} failed (exit {run.returncode}):\n{run.stderr}")
    return run
