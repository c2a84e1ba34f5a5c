"""The benchmark harness: a simulated organization behind a latency endpoint, the real worker and
director, two naive baselines measured in the same run, and every figure beside its target.

Run it with ``python -m benchmarks`` (``--quick`` for a small, fast configuration). What each
figure means and how the whole-run model works is in docs/performance.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.catalog import measure_catalog
from benchmarks.checks import measure_checks
from benchmarks.endpoint import LatencyMiddleware, simulated_aws
from benchmarks.figures import calls_per_place, critical_path, script_calls_per_place, write_calls
from benchmarks.organization import measure_local_run, measure_reading, measure_report, measure_routes
from benchmarks.processes import Child, ChildRun, run_child
from benchmarks.report_page import measure as measure_report_page
from collector_core.runtime.invokers import Relay

#: The groups of figures, in the order they are measured (--only picks some).
GROUPS = ("worker", "catalog", "fan-out", "whole-run", "report", "local-run", "checks", "page")
#: 17 commercial regions enabled by default in every account.
REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ca-central-1", "sa-east-1",
)
COLLECTORS: dict[str, dict[str, Any]] = {
    "unattached_ebs": {},
    "iam_key_age": {"max_age_days": 90},
    "open_security_groups": {"allowed_ports": [80, 443]},
}
REGIONAL = ("unattached_ebs", "open_security_groups")
TABLE = "aws-collector-bench"
ROLE = "aws-collector-readonly"
FUNCTION = "aws-collector-worker"
DIRECTOR = "aws-collector-director"  # the relays' function: the director itself
#: Lambda's own delay from an accepted asynchronous Invoke to the handler running: an assumption
#: (AWS publishes no figure; an internal queue poller picks the event up, typically well under a
#: second). It is a parameter, printed with the result.
LAMBDA_ASYNC_START = 0.2


@dataclass
class Row:
    """One figure: measured, its target, the baselines and how far they are from it."""

    figure: str
    measured: str
    target: str
    baseline: str = ""
    verdict: str = ""


@dataclass
class Report:
    """What the harness prints."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: str, measured: str, target: str, baseline: str = "",
            ok: bool | None = None) -> None:
        verdict = "" if ok is None else "ok" if ok else "MISSED"
        self.rows.append(Row(figure, measured, target, baseline, verdict))

    def render(self) -> str:
        rows = [("figure", "measured", "target", "baseline (same run)", "")]
        rows += [(r.figure, r.measured, r.target, r.baseline, r.verdict) for r in self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [" | ".join(c.ljust(widths[i]) if i < 4 else c for i, c in enumerate(r)) for r in rows]
        lines.insert(1, "-+-".join("-" * w for w in widths) + "-+-")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])


def event(account: Any, regions: Sequence[str], run_id: str, run_seq: int) -> dict[str, Any]:
    """A worker event as the director plans it."""
    return {"run_id": run_id, "run_seq": run_seq, "account": {"id": account.id, "name": account.name},
            "regions": list(regions), "collectors": COLLECTORS, "table": TABLE, "role_name": ROLE,
            "external_id": None, "ttl_days": 7}


def must(run: ChildRun) -> ChildRun:
    """A child that failed stops the benchmark: a figure from a broken run means nothing."""
    if not run.ok:
        raise SystemExit(f"benchmark child {run.mode} failed (exit {run.returncode}):\n{run.stderr}")
    return run


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# -- the director's fan-out ---------------------------------------------------------------------
@dataclass
class FanOut:
    """The director's fan-out: the director's own run, then its relays', each as Lambda runs them."""

    director: ChildRun
    relays: list[ChildRun]

    @property
    def wall(self) -> float:
        """Until the last worker's Invoke was accepted: the director, then (if it relayed) Lambda's
        async start and the slowest relay's cold start and run; each relay alone, as each runs on
        a Lambda instance of its own."""
        relayed = max((r.cold_start + r.out["wall"] for r in self.relays), default=None)
        return self.director.out["wall"] + (0.0 if relayed is None else LAMBDA_ASYNC_START + relayed)

    @property
    def invoked(self) -> int:
        return int(self.director.out["invoked"])

    @property
    def cpu_per_invoke(self) -> float:
        """CPU seconds per worker invoked, the director's and the relays' together."""
        return (self.director.out["cpu"] + sum(r.out["cpu"] for r in self.relays)) / self.invoked

    def describe(self) -> str:
        if not self.relays:
            return f"one director {ms(self.wall)}"
        slowest = max(self.relays, key=lambda r: r.cold_start + r.out["wall"])
        return (f"director {ms(self.director.out['wall'])} + async start {ms(LAMBDA_ASYNC_START)} + slowest of "
                f"{len(self.relays)} relays {ms(slowest.cold_start)} cold start + {ms(slowest.out['wall'])}")


def fan_out(bench: Bench, accounts: int, *, run_id: str, concurrency: int | None = None,
            relay: bool = True) -> FanOut:
    """The director over ``accounts`` config-listed accounts in its own process; then, one after
    another, a process per relay it invoked (relaying past the relay size, as deployed)."""
    relayed: list[bytes] = []

    def on_invoke(function: str, payload: bytes) -> None:
        if function == DIRECTOR:
            relayed.append(payload)

    middleware = bench.middleware
    invocations = middleware.invocations
    middleware.on_invoke = on_invoke
    try:
        director = must(run_child("director", {"accounts": accounts, "concurrency": concurrency, "run_id": run_id,
                                               "table": TABLE, "role_name": ROLE, "function": FUNCTION,
                                               "relay": {"function": DIRECTOR, "above": bench.args.relay_above,
                                                         "batch": bench.args.relay_batch} if relay else None}))
    finally:
        middleware.on_invoke = None
    relays = [must(run_child("relay", {"event": json.loads(p), "function": FUNCTION})) for p in relayed]
    failures = director.out["failures"] + sum(r.out["failures"] for r in relays)
    workers = middleware.invocations - invocations - len(relays)
    if failures or workers != accounts:
        raise SystemExit(f"fan-out: {failures} invocations failed, {workers} of {accounts} workers invoked")
    return FanOut(director, relays)


# -- the validation slice: workers as processes, started by the director's invocations ----------
def run_slice(middleware: LatencyMiddleware, sim_accounts: list[Any], regions: Sequence[str],
              run_id: str) -> tuple[float, float, list[ChildRun]]:
    """Director -> Lambda Invoke -> one warm worker process per account, all at once.

    Returns (wall, CPU seconds this process spent meanwhile, the workers' runs).
    """
    from collector_core import handlers
    from collector_core.aws.clients import Clients, home_region
    from collector_core.config.load import parse_config
    from collector_core.plugins import load_plugins
    from collector_core.runtime import director
    from collector_core.runtime.invokers import LambdaInvoker
    from collector_core.store import Store

    children = [Child("worker") for _ in sim_accounts]  # warm Lambdas: imported, waiting
    for child in children:
        if not child.wait_ready():
            raise SystemExit(f"a slice worker died at start:\n{child.finish().stderr}")
    idle = list(children)
    lock = threading.Lock()

    def on_invoke(_function: str, payload: bytes) -> None:
        with lock:
            child = idle.pop()
        child.start({"event": json.loads(payload)})

    registry = load_plugins()
    config = parse_config({"table": TABLE, "regions": list(regions), "role_name": ROLE,
                           "plugins": {k: {"enabled": True, **v} for k, v in COLLECTORS.items()},
                           "accounts": [{"id": a.id, "name": a.name} for a in sim_accounts]},
                          "slice", registry)
    clients = Clients(max_pool_connections=handlers.CONCURRENCY)
    invoker = LambdaInvoker(FUNCTION, clients.client("lambda", home_region()),
                            concurrency=handlers.CONCURRENCY)
    store = Store(TABLE, clients.client("dynamodb", home_region()))
    middleware.on_invoke = on_invoke
    t0, cpu0 = time.time(), time.process_time()
    try:
        director.run(config, registry, invoker, clients=clients, store=store, run_id=run_id)
        runs = [must(child.finish()) for child in children]
    finally:
        middleware.on_invoke = None
    # Each child timed its own run_account; it started when its invocation arrived.
    # Each child says when its handler returned (same clock): reading results one by one would
    # add the earlier children's exit time to the later ones.
    harness_cpu = time.process_time() - cpu0  # moto's server and the director, in this process
    return max(r.out["done"] for r in runs) - t0, harness_cpu, runs


# -- the whole benchmark --------------------------------------------------------------------------
@dataclass
class Bench:
    """The simulated organization and the settings every measurement shares."""

    args: argparse.Namespace
    middleware: LatencyMiddleware
    stamp: str
    representative: Any
    seeded: int  # problems seeded in the representative account
    slice_accounts: list[Any]
    report: Report = field(default_factory=Report)

    def regions(self, count: int) -> list[str]:
        return list(REGIONS[:count])

    def event(self, account: Any, regions: Sequence[str], name: str) -> dict[str, Any]:
        """A worker event of a run recorded as the director records it (not measured)."""
        from collector_core.aws.clients import Clients, home_region
        from collector_core.store import Store

        now = dt.datetime.now(dt.UTC)
        run = Store(TABLE, Clients().client("dynamodb", home_region())).start_run(
            f"{self.stamp}-{name}", [account.id], now=now, ttl_days=7, deadline=now + dt.timedelta(hours=1))
        return event(account, regions, run.run_id, run.run_seq)

    def set_latency(self, latency_ms: int) -> None:
        self.middleware.latency = latency_ms / 1000
        self.middleware.invoke_latency = self.args.invoke_latency_ms / 1000


def measure_worker(bench: Bench) -> tuple[ChildRun, ChildRun]:
    """Figure 1 (wall against critical path, peak RSS), 4 (API calls) and 5 (cold start)."""
    args, report = bench.args, bench.report
    regions = bench.regions(args.regions)
    bench.set_latency(args.latency_ms)
    worker = must(run_child("worker", {"event": bench.event(bench.representative, regions, "worker"),
                                       "warm": bench.event(bench.representative, regions, "worker-next")}))
    laptop = must(run_child("laptop", {"event": bench.event(bench.representative, regions, "laptop")}))
    threaded = must(run_child("session-per-thread",
                              {"event": bench.event(bench.representative, regions, "threads")}))
    wall, warm, per_call = worker.out["wall"], worker.out["warm_wall"], worker.out["per_call"]
    # The bound a worker cannot beat here: its critical path, or the simulator's own CPU for its
    # requests when that is longer (moto serves them under one GIL; AWS would not be the limit).
    critical, chain = critical_path(worker.out["calls"], per_call)
    moto = bench.middleware.cpu_between(worker.out["started"], worker.out["started"] + wall)
    bound = max(critical, moto)
    report.add(f"one worker: 1 account x {len(regions)} regions x 3 collectors, {args.latency_ms} ms/call",
               f"{ms(wall)} = {wall / bound:.2f} x its bound (critical path {ms(critical)}, longest: {chain}; "
               f"moto's CPU for its requests {ms(moto)})",
               "<= 1.3 x the bound (first call after a cold start)",
               f"laptop script {ms(laptop.out['wall'])} ({laptop.out['wall'] / wall:.1f}x the worker's); "
               f"session per thread {ms(threaded.out['wall'])} ({threaded.out['wall'] / wall:.1f}x)",
               ok=wall <= 1.3 * bound)
    # The next run's calls differ (IAM's credential report is ready at once): its own bound.
    warm_critical, warm_chain = critical_path(worker.out["warm_calls"], per_call)
    warm_moto = bench.middleware.cpu_between(worker.out["warm_started"], worker.out["warm_started"] + warm)
    warm_bound = max(warm_critical, warm_moto)
    report.add("one worker, warm (the next run's invocation in the same process)",
               f"{ms(warm)} = {warm / warm_bound:.2f} x its bound (critical path {ms(warm_critical)}, longest: "
               f"{warm_chain}; moto's CPU {ms(warm_moto)})", "<= 1.3 x the bound",
               f"laptop script {laptop.out['wall'] / warm:.1f}x the warm worker's", ok=warm <= 1.3 * warm_bound)
    report.add("one worker: peak RSS of the worker process", f"{worker.peak_rss_mb:.0f} MB", "<= 128 MB",
               f"laptop script {laptop.peak_rss_mb:.0f} MB; session per thread {threaded.peak_rss_mb:.0f} MB "
               f"({threaded.peak_rss_mb / worker.peak_rss_mb:.1f}x)", ok=worker.peak_rss_mb <= 128)

    ours = calls_per_place(worker.out["result"], REGIONAL)
    script = script_calls_per_place(laptop.out["calls"], len(regions), REGIONAL)
    report.add("API calls per account-region (global: per account)",
               ", ".join(f"{p} {ours[p]:.1f}" for p in ours), "<= the hand-written script",
               "script: " + ", ".join(f"{p} {script.get(p, 0):.1f}" for p in ours),
               ok=all(ours[p] <= script.get(p, 0) + 1e-9 for p in ours))
    report.add("DynamoDB calls per account (worker)", _counts(write_calls(worker.out["calls"])),
               "one read per account; a conditional write per new or changed finding",
               "script: " + _counts(write_calls(laptop.out["calls"])))
    report.add("worker cold start (spawn -> handler ready)",
               f"{ms(worker.cold_start)} (imports {ms(worker.imports)})", "printed; small",
               f"laptop script {ms(laptop.cold_start)} (imports boto3 only)")
    found = (worker.out["result"]["written"], laptop.out["written"], threaded.out["written"])
    report.notes.append(f"findings written: worker {found[0]}, laptop script {found[1]}, session per thread "
                        f"{found[2]}; problems seeded in that account: {bench.seeded}")
    report.notes.append(f"one unloaded round trip at {args.latency_ms} ms latency: {ms(per_call)}")
    return worker, laptop


def measure_memory_limit(bench: Bench, wall: float) -> None:
    """Figure 2: the worker runs under the limit, and a limit too small makes it fail."""
    args = bench.args
    job = {"event": bench.event(bench.representative, bench.regions(args.regions), "limited"),
           "stack_size": args.stack_kb * 1024}
    limited = run_child("worker", job, data_limit_mb=args.memory_limit_mb, timeout=60 + 5 * wall)
    too_small = run_child("worker", job, data_limit_mb=args.too_small_mb, timeout=30 + 5 * wall)
    bites = _status(too_small) != "ok"
    bench.report.add(
        f"worker under RLIMIT_DATA={args.memory_limit_mb} MB (thread stacks {args.stack_kb} KB)",
        f"status {_status(limited)}, peak RSS {limited.peak_rss_mb:.0f} MB", "runs without failing",
        f"limit {args.too_small_mb} MB: {_status(too_small)}"
        + (", as it must" if bites else " (the limit does not bite!)"),
        ok=_status(limited) == "ok" and bites)


def measure_fan_out(bench: Bench) -> None:
    """Figure 3a: the director invoking the worker once per account (through relays past 100)."""
    args = bench.args
    bench.set_latency(args.invoke_latency_ms)
    relayed = fan_out(bench, args.fanout_accounts, run_id=f"{bench.stamp}-fanout")
    alone = fan_out(bench, args.fanout_accounts, run_id=f"{bench.stamp}-alone", relay=False)
    sample = min(args.fanout_accounts, 50)
    serial = fan_out(bench, sample, run_id=f"{bench.stamp}-serial", concurrency=1, relay=False)
    serial_wall = serial.wall * args.fanout_accounts / sample
    bench.report.add(f"director fan-out: {relayed.invoked} accounts, {args.invoke_latency_ms} ms per call",
                     f"{ms(relayed.wall)} = {relayed.describe()}", "<= 2 s",
                     f"one director invoking every worker: {ms(alone.wall)} ({alone.wall / relayed.wall:.1f}x); "
                     f"one invoke after another: {ms(serial_wall)} (measured on {sample}, scaled; "
                     f"{serial_wall / relayed.wall:.0f}x); CPU {relayed.cpu_per_invoke * 1000:.1f} ms per invoke",
                     ok=relayed.wall <= 2.0)


def measure_whole_run(bench: Bench) -> None:
    """Figure 3b: the whole run, modelled; then the model checked against a slice run for real."""
    args, report = bench.args, bench.report
    bench.set_latency(args.latency_ms)
    whole_fanout = fan_out(bench, args.whole_accounts, run_id=f"{bench.stamp}-whole").wall
    regions = bench.regions(args.whole_regions)
    rep = must(run_child("worker", {"event": bench.event(bench.representative, regions, "rep")}))
    rep_laptop = must(run_child("laptop", {"event": bench.event(bench.representative, regions, "rep-l")}))
    start = LAMBDA_ASYNC_START + rep.cold_start
    modelled = whole_fanout + start + rep.out["wall"]
    laptop = args.whole_accounts * rep_laptop.out["wall"]
    report.add(f"whole run: {args.whole_accounts} accounts x {len(regions)} regions (modelled)",
               f"{ms(modelled)} = fan-out {ms(whole_fanout)} + start {ms(start)} "
               f"+ worker {ms(rep.out['wall'])}", "<= 5 s",
               f"laptop script, accounts one after another: {ms(laptop)} ({laptop / modelled:.0f}x)",
               ok=modelled <= 5.0)

    regions = bench.regions(args.slice_regions)
    one = must(run_child("worker", {"event": bench.event(bench.slice_accounts[0], regions, "one")}))
    slice_fanout = fan_out(bench, len(bench.slice_accounts), run_id=f"{bench.stamp}-sf").wall
    measured, harness_cpu, runs = run_slice(bench.middleware, bench.slice_accounts, regions,
                                            f"{bench.stamp}-slice")
    model = slice_fanout + one.out["wall"]
    # The best this machine can do: all the CPU the run needed, spread over its cores.
    floor = slice_fanout + (harness_cpu + sum(r.out["cpu"] for r in runs)) / _cores()
    slowest = max(r.out["wall"] for r in runs)
    report.add(f"model check: {len(runs)} accounts x {len(regions)} regions run for real",
               f"measured {ms(measured)}; modelled {ms(model)} ({measured / model:.2f}x); "
               f"CPU floor here {ms(floor)}", "measured ~ max(modelled, CPU floor)",
               f"slowest concurrent worker {ms(slowest)} vs one alone {ms(one.out['wall'])}",
               ok=measured <= 1.3 * max(model, floor))
    report.notes.append(
        f"Lambda's async start is assumed {ms(LAMBDA_ASYNC_START)}, plus the measured cold start; the "
        f"slice's workers were warm processes, sharing this machine's {_cores()} cores with moto's server")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every benchmark and print the figures beside their targets and baselines."""
    args = _parser().parse_args(argv)
    only = set(args.only or GROUPS)
    if args.quick:
        args.latency_ms, args.regions, args.whole_regions = 5, 1, 1
        args.fanout_accounts, args.whole_accounts, args.slice_accounts, args.slice_regions = 20, 6, 2, 1
        args.relay_above, args.relay_batch = 8, 8  # so the quick run relays too
        args.report_accounts, args.read_findings, args.local_accounts, args.local_regions = 10, 500, 2, 1
        args.local_latency_ms = 5
    from collector_core import logs
    from collector_core.aws.clients import Clients, home_region
    from collector_core.demo.simulate import seed_organization
    from collector_core.store import Store

    logs.configure(level="warning", json_output=True, stream=sys.stderr)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    print("Seeding a simulated organization on 127.0.0.1 (not measured)...", file=sys.stderr)
    with simulated_aws(latency=0.0) as (url, middleware):
        regions = list(REGIONS[: max(args.regions, args.whole_regions)])
        sim = seed_organization(url, accounts=1, regions=regions)
        account = sim.accounts[0]
        slice_org = seed_organization(url, accounts=args.slice_accounts,
                                      regions=REGIONS[: args.slice_regions])
        Store(TABLE, Clients().client("dynamodb", home_region())).ensure_table()
        seeded = sum(1 for e in sim.expected if e[1] == account.id and e[0] in COLLECTORS
                     and (e[2] == "global" or e[2] in REGIONS[: args.regions]))
        bench = Bench(args, middleware, stamp, account, seeded, slice_org.accounts)
        if "worker" in only:
            print("Measuring one worker and the two baselines...", file=sys.stderr)
            with built_ins_only():
                worker, _ = measure_worker(bench)
                measure_memory_limit(bench, worker.out["wall"])
        if "catalog" in only:
            print("Measuring one worker running every check of the catalog too...", file=sys.stderr)
            measure_catalog(bench)
        if "fan-out" in only:
            print("Measuring the director's fan-out...", file=sys.stderr)
            with built_ins_only():
                measure_fan_out(bench)
        if "whole-run" in only:
            print("Measuring the whole-run model and checking it on a slice...", file=sys.stderr)
            with built_ins_only():
                measure_whole_run(bench)
        if "report" in only:
            print("Measuring the report and the read side at an organization's size...", file=sys.stderr)
            measure_report(bench.report, accounts=args.report_accounts, regions=17 if not args.quick else 2,
                           per_region=20 if not args.quick else 5)
            measure_routes(bench.report, accounts=args.report_accounts, regions=17 if not args.quick else 2,
                           per_region=20 if not args.quick else 5, routes=10)
            measure_reading(bench.report, url, sizes=(args.read_findings // 5, args.read_findings), accounts=20)
        if "local-run" in only:
            print("Measuring a local run against a 16-thread script...", file=sys.stderr)
            with built_ins_only():
                measure_local_run(bench.report, middleware, url, accounts=args.local_accounts,
                                  regions=list(REGIONS[: args.local_regions]), latency_ms=args.local_latency_ms)
        if "checks" in only:
            print("Measuring a declarative check against the same check as a plugin...", file=sys.stderr)
            measure_checks(bench.report, middleware, regions=list(REGIONS[: args.regions]),
                           per_region=5 if args.quick else 50, latency_ms=args.latency_ms,
                           rounds=3 if args.quick else 15)
    if "page" in only:
        print("Measuring the HTML report: built from synthetic findings, loaded in chromium...", file=sys.stderr)
        measure_report_page(bench.report, (20_000,) if args.quick else (20_000, 100_000))
    bench.report.notes.append(f"latency {args.latency_ms} ms per AWS call, {args.invoke_latency_ms} ms "
                              "per Lambda Invoke")
    print(bench.report.render())
    return 0


@contextmanager
def built_ins_only() -> Iterator[None]:
    """Children that load only the built-in collectors, whatever else is installed: the work the
    scripts they are measured against do (the organization holds every installed plugin's problems)."""
    from collector_core.plugins import ALLOW_ENV

    previous = os.environ.get(ALLOW_ENV)
    os.environ[ALLOW_ENV] = "aws-collector"  # the distribution: the built-in collectors and channels
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ALLOW_ENV, None)
        else:
            os.environ[ALLOW_ENV] = previous


def _counts(counter: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))


def _status(run: ChildRun) -> str:
    """ok, or how a worker under a memory limit failed (a crash, or errors it recorded)."""
    if not run.ok:
        if run.returncode == -9:
            return "hung (killed)"
        last = run.stderr.strip().splitlines()[-1:] or [f"exit {run.returncode}"]
        return f"crashed ({last[0][:60]})"
    result = run.out["result"]
    if result["status"] == "ok":
        return "ok"
    return f"{result['status']} ({', '.join(sorted({e['error'] for e in result['errors']}))})"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny, fast configuration (checks it runs)")
    p.add_argument("--only", action="append", choices=GROUPS,
                   help="measure only this group of figures (repeatable; default: all)")
    p.add_argument("--latency-ms", type=int, default=50, help="delay per AWS call (default 50)")
    p.add_argument("--regions", type=int, default=17, choices=range(1, len(REGIONS) + 1), metavar="N",
                   help="regions for the one-worker figure (default 17)")
    p.add_argument("--invoke-latency-ms", type=int, default=30, help="delay per Lambda Invoke (default 30)")
    p.add_argument("--fanout-accounts", type=int, default=1000, help="accounts in the fan-out (default 1000)")
    p.add_argument("--relay-above", type=int, default=Relay.above,
                   help=f"runs of more accounts are relayed, as deployed (default {Relay.above})")
    p.add_argument("--relay-batch", type=int, default=Relay.batch,
                   help=f"accounts per relay, as deployed (default {Relay.batch})")
    p.add_argument("--whole-accounts", type=int, default=120, help="accounts in the whole run (default 120)")
    p.add_argument("--whole-regions", type=int, default=16, help="regions in the whole run (default 16)")
    p.add_argument("--slice-accounts", type=int, default=10, help="accounts run for real (default 10)")
    p.add_argument("--slice-regions", type=int, default=2, help="regions in that slice (default 2)")
    p.add_argument("--report-accounts", type=int, default=1000,
                   help="accounts in the report figure, 17 regions x 20 findings each (default 1000)")
    p.add_argument("--read-findings", type=int, default=20_000,
                   help="findings in the larger table read by the CLI; the smaller holds a fifth (default 20000)")
    p.add_argument("--local-accounts", type=int, default=30, help="accounts in the local run (default 30)")
    p.add_argument("--local-regions", type=int, default=16, help="regions in the local run (default 16)")
    p.add_argument("--local-latency-ms", type=int, default=30, help="delay per call in the local run (default 30)")
    p.add_argument("--memory-limit-mb", type=int, default=128, help="RLIMIT_DATA of the worker (MB)")
    p.add_argument("--too-small-mb", type=int, default=48, help="a limit the worker must fail under")
    p.add_argument("--stack-kb", type=int, default=512, help="thread stack size under the limit (KB)")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
