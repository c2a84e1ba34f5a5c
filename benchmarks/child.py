"""One account in its own process, as one Lambda would run it: the real worker, or a baseline.

``python -m benchmarks.child MODE`` imports and initialises what MODE needs, prints a "ready" JSON
line (so the parent can time the cold start), reads one job JSON line from stdin, runs it, and
prints a result JSON line. Modes:

- ``worker``: the runtime's worker, set up as a Lambda handler would be (plugins, shared clients,
  store, logging), then ``run_account``.
- ``session-per-thread``: the real collectors, one thread per region, each with its own boto3
  Session and clients (the pattern the shared ``Clients`` replaced).
- ``laptop``: a careful hand-written script: accounts and regions one after another.
- ``director``: the director with the Lambda invoker, set up as its handler is, over N accounts
  (relaying batches past the relay size, as the deployed director does).
- ``relay``: the director's handler given one relay event: it invokes that batch's workers.
- ``report``: the report built over synthetic account states (no AWS), then rendered.
- ``cli``: one `aws-collector` command, its output thrown away (what reading costs).
- ``threaded-script``: a careful script, 16 threads over every (account, region), writing nothing.

Every API call is logged (thread, service, operation, start, end) through botocore's events.
"""
from __future__ import annotations

import time

STARTED = time.time()  # before the heavy imports, to split interpreter start from imports

import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from typing import Any  # noqa: E402

#: What a careful script asks per account-region: findings from these calls only.
WORLD = ("0.0.0.0/0", "::/0")


class CallLog:
    """Every API call made through the sessions it is attached to, with its thread and timing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, float, float]] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def attach(self, events: Any) -> None:
        """Listen on a botocore session's (or client's) event system."""
        events.register("before-call", self._before)
        events.register("after-call", self._after)
        events.register("after-call-error", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self._local.call = (model.service_model.service_name, model.name, time.perf_counter())

    def _after(self, **_: Any) -> None:
        service, operation, start = self._local.call
        entry = (threading.current_thread().name, service, operation, start, time.perf_counter())
        with self._lock:
            self.calls.append(entry)


def emit(data: dict[str, Any]) -> None:
    """One JSON line on stdout (logs go to stderr)."""
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- the runtime's worker --------------------------------------------------------------------
class LambdaContext:
    """The part of Lambda's context object the worker handler reads."""

    aws_request_id = "benchmark"

    def __init__(self, seconds: float = 900.0) -> None:
        self._until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self._until - time.monotonic()) * 1000)


def setup_worker(calls: CallLog) -> Any:
    """What the worker Lambda does once per cold start: import the handler, load its runtime."""
    os.environ.setdefault("AWS_COLLECTOR_LOG_LEVEL", "error")
    from collector_core import handlers

    imported = time.time()
    runtime = handlers.runtime()
    calls.attach(runtime.clients._botocore)  # before any client exists: clients copy its hooks
    return imported, handlers


def run_worker(handlers: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    from collector_core.aws.clients import home_region

    started, cpu = time.perf_counter(), time.process_time()
    result = handlers.worker(job["event"], LambdaContext())
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = time.time()
    first_calls = list(calls.calls)
    warm = warm_started = warm_cpu = None
    if job.get("warm"):  # the same account in the next run, in this process: a warm Lambda's invocation
        warm_started = again = time.perf_counter()
        warm_cpu = time.process_time()
        handlers.worker(job["warm"], LambdaContext())  # the next run's event
        warm, warm_cpu = time.perf_counter() - again, time.process_time() - warm_cpu
    warm_calls = calls.calls[len(first_calls):]
    sts = handlers.runtime().clients.client("sts", home_region())
    idle = []
    for _ in range(5):  # one unloaded round trip, for the critical path
        t = time.perf_counter()
        sts.get_caller_identity()
        idle.append(time.perf_counter() - t)
    return {"wall": wall, "cpu": cpu, "warm_wall": warm, "started": started, "done": done,
            "result": result, "per_call": statistics.median(idle), "calls": first_calls,
            "warm_started": warm_started, "warm_calls": warm_calls, "warm_cpu": warm_cpu}


# -- the director ----------------------------------------------------------------------------
def setup_director(calls: CallLog) -> Any:
    """What the director Lambda loads once per cold start."""
    os.environ.setdefault("AWS_COLLECTOR_LOG_LEVEL", "error")
    from collector_core import handlers

    imported = time.time()
    runtime = handlers.runtime()
    calls.attach(runtime.clients._botocore)
    return imported, runtime


def run_director(runtime: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """director.run over config-listed accounts, invoking the worker as the handler does."""
    from collector_core import handlers
    from collector_core.aws.clients import home_region
    from collector_core.config.load import parse_config
    from collector_core.runtime import director
    from collector_core.runtime.invokers import LambdaInvoker, Relay
    from collector_core.store import Store

    ids = [f"{900000000000 + i:012d}" for i in range(job["accounts"])]
    config = parse_config({"table": job["table"], "regions": ["us-east-1"], "role_name": job["role_name"],
                           "accounts": [{"id": i, "name": f"acct-{i[-4:]}"} for i in ids]}, "bench",
                          runtime.registry)
    invoker = LambdaInvoker(job["function"], runtime.clients.client("lambda", home_region()),
                            concurrency=job.get("concurrency") or handlers.CONCURRENCY,
                            relay=Relay(**job["relay"]) if job.get("relay") else None)
    store = Store(job["table"], runtime.clients.client("dynamodb", home_region()))
    started, cpu = time.perf_counter(), time.process_time()
    result = director.run(config, runtime.registry, invoker, clients=runtime.clients, store=store,
                          run_id=job["run_id"])
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "started": started,
            "invoked": len(result.events), "relays": invoker.relays, "failures": len(invoker.failures),
            "calls": list(calls.calls)}


def run_relay(runtime: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """The director's handler with one relay event, as Lambda would call it."""
    from collector_core import handlers

    os.environ[handlers.WORKER_FUNCTION_ENV] = job["function"]
    started, cpu = time.perf_counter(), time.process_time()
    out = handlers.director(job["event"], LambdaContext())
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "invoked": len(out["accounts"]), "failures": len(out["invoke_failures"])}


# -- baseline: one boto3 Session per region thread -----------------------------------------------
def setup_session_per_thread(calls: CallLog) -> Any:
    import boto3  # noqa: F401

    from collector_core import logs
    from collector_core.plugins import load_plugins

    imported = time.time()
    logs.configure(level="error", json_output=True, stream=sys.stderr)
    return imported, load_plugins()


def run_session_per_thread(registry: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    import datetime as dt

    import boto3

    from collector_core.collector import Account, CollectorContext, Scope
    from collector_core.findings import normalise
    from collector_core.logs import get_logger
    from collector_core.store import Store

    event = job["event"]
    account = Account(**event["account"])
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    main = boto3.session.Session()
    calls.attach(main.events)
    creds = main.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account.id}:role/{event['role_name']}", RoleSessionName="bench"
    )["Credentials"]
    written = [0]

    def place(region: str, scope: Any) -> None:
        session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                        aws_secret_access_key=creds["SecretAccessKey"],
                                        aws_session_token=creds["SessionToken"])
        calls.attach(session.events)
        cache: dict[tuple[str, str], Any] = {}

        def client(service: str, where: str) -> Any:
            if (service, where) not in cache:
                cache[(service, where)] = session.client(service, region_name=where)
            return cache[(service, where)]

        items = []
        for name in event["collectors"]:
            collector = registry[name]
            if collector.scope is not scope:
                continue
            ctx = CollectorContext(account=account, region=region, options=event["collectors"][name],
                                   log=get_logger(), now=now, clients=client,
                                   client_region="us-east-1" if region == "global" else region)
            for raw in collector.collect(ctx) or ():
                items.append(Store.finding_item(normalise(raw), plugin=name, account=account, region=region,
                                                run_id=event["run_id"], attempt=1, now=now, ttl_days=7,
                                                first_seen=None))
        own = boto3.session.Session()  # the table is the collector's, not the member account's
        calls.attach(own.events)
        store = Store(event["table"], own.client("dynamodb", region_name="us-east-1"))
        for item in items:  # the worker's own writes, one after another
            store.put_finding(item)
        written[0] += len(items)

    threads = [threading.Thread(target=place, args=(r, Scope.REGIONAL), name=f"{account.id}-{r}")
               for r in event["regions"]]
    threads.append(threading.Thread(target=place, args=("global", Scope.GLOBAL), name=f"{account.id}-global"))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"wall": time.perf_counter() - started, "written": written[0]}


# -- baseline: the laptop script ------------------------------------------------------------------
def setup_laptop(calls: CallLog) -> Any:
    import boto3  # noqa: F401

    return time.time(), None


def run_laptop(_: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """Accounts, then regions, one after another; what a careful person would write first."""
    import datetime as dt

    import boto3

    event = job["event"]
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    home = boto3.session.Session()
    calls.attach(home.events)
    dynamodb = home.client("dynamodb")
    found = 0
    for account in job.get("accounts") or [event["account"]]:
        creds = home.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account['id']}:role/{event['role_name']}", RoleSessionName="laptop"
        )["Credentials"]
        member = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                       aws_secret_access_key=creds["SecretAccessKey"],
                                       aws_session_token=creds["SessionToken"])
        calls.attach(member.events)
        rows: list[tuple[str, str, str]] = []
        for region in event["regions"]:
            ec2 = member.client("ec2", region_name=region)
            unattached = [{"Name": "status", "Values": ["available"]}]
            for volume in ec2.describe_volumes(Filters=unattached)["Volumes"]:
                rows.append(("unattached_ebs", region, volume["VolumeId"]))
            for group in ec2.describe_security_groups()["SecurityGroups"]:
                for rule in group["IpPermissions"]:
                    cidrs = [r["CidrIp"] for r in rule.get("IpRanges", [])]
                    cidrs += [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])]
                    web = rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == rule.get("ToPort") \
                        and rule.get("FromPort") in (80, 443)
                    if any(c in WORLD for c in cidrs) and not web:
                        rows.append(("open_security_groups", region, group["GroupId"]))
                        break
        iam = member.client("iam", region_name="us-east-1")
        for user in iam.list_users()["Users"]:
            old = [key["AccessKeyId"] for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
                   if key["Status"] == "Active" and (now - key["CreateDate"]).days > 90]
            if old:  # the same work as the collector: the owner's tags, which routes match
                iam.list_user_tags(UserName=user["UserName"])
            rows += [("iam_key_age", "global", key) for key in old]
        found += len(rows)
        for i in range(0, len(rows), 25):
            dynamodb.batch_write_item(RequestItems={event["table"]: [
                {"PutRequest": {"Item": {"pk": {"S": f"{account['id']}#{region}"},
                                         "sk": {"S": f"{plugin}#{resource}"},
                                         "last_seen": {"S": now.isoformat()}}}}
                for plugin, region, resource in rows[i:i + 25]
            ]})
    return {"wall": time.perf_counter() - started, "written": found}


# -- the read side and the local run ------------------------------------------------------------
def setup_report(calls: CallLog) -> Any:
    from collector_core.notify import build  # noqa: F401

    return time.time(), None


def run_report(_: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """The report over N accounts x R regions x F findings, fed one synthetic account state at a
    time as the store hands them out, then rendered in full as `notify --stdout` would."""
    import datetime as dt

    from collector_core.findings import AccountState, Attempt, RunRecord, StoredFinding, order
    from collector_core.notify import slack, text
    from collector_core.notify.build import build_reports
    from collector_core.notify.routes import Match, Route

    now = dt.datetime.now(dt.UTC)
    regions = [f"region-{r:02d}" for r in range(job["regions"])]
    ids = [f"{700000000000 + a:012d}" for a in range(job["accounts"])]
    run = RunRecord("bench", 2, now.isoformat(), tuple(ids))

    def states() -> Any:
        for a, account_id in enumerate(ids):
            ok = frozenset((r, p) for r in regions for p in ("unattached_ebs", "open_security_groups"))
            attempts = [Attempt(account_id, "bench", 2, 3, 4, "ok", ok, {"account": {"name": f"acct-{a}"}})]
            findings = [
                StoredFinding({"plugin": ("unattached_ebs", "open_security_groups")[f % 2], "account_id": account_id,
                               "account_name": f"acct-{a}", "region": region, "resource_id": f"res-{a}-{r}-{f:03d}",
                               "severity": ("low", "medium", "high")[f % 3],
                               "summary": f"Unattached EBS volume res-{a}-{r}-{f:03d}: 100 GiB gp3, ~$8.00/month",
                               "details": {"size_gib": 100, "volume_type": "gp3", "tags": {"Name": "x" * 20}},
                               "tags": {"Name": "x" * 20, "team": f"team-{(a + f) % 10}"},
                               "run_id": "bench", "first_seen": "2026-01-01T00:00:00Z",
                               "last_seen": now.isoformat(), "ttl": int(now.timestamp()) + 86400},
                              seen_seq=3, first_seq=1 if f % 5 else 3)
                for r, region in enumerate(regions) for f in range(job["per_region"])]
            yield AccountState(account_id, sorted(findings, key=lambda s: order(s.finding)), attempts)  # key order

    # ``routes``: that many teams, half by tag (team=team-N), half by account (a tenth of the ids each).
    routes = [Route(f"team-{i}", Match(tags={"team": f"team-{i}"}) if i % 2 else Match(accounts=tuple(
        ids[j] for j in range(i, len(ids), max(1, job.get("routes", 0)))))) for i in range(job.get("routes", 0))]
    started, cpu = time.perf_counter(), time.process_time()
    reports = build_reports(states(), now=now, run=run, routes=routes)
    built = time.perf_counter() - started
    lines = messages = 0
    with open(os.devnull, "w") as devnull:
        for report in [reports.full, *reports.routes.values()]:  # each message rendered in full
            lines += sum(devnull.write(line) >= 0 for line in text.lines(report))
            messages += len(slack.build_messages(report))
    return {"wall": time.perf_counter() - started, "built": built, "cpu": time.process_time() - cpu,
            "findings": reports.full.open, "lines": lines, "slack_messages": messages, "calls": [],
            "routed": sum(r.open for r in reports.routes.values())}


def setup_cli(calls: CallLog) -> Any:
    from collector_core import cli  # noqa: F401

    return time.time(), None


def run_cli(_: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """One `aws-collector` command, its output thrown away: what it costs to read the table."""
    from collector_core.cli import main

    started, cpu = time.perf_counter(), time.process_time()
    saved = sys.stdout
    with open(os.devnull, "w") as devnull:
        sys.stdout = devnull
        try:
            code = main(job["argv"])
        finally:
            sys.stdout = saved
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "exit": code, "calls": []}


def setup_threaded_script(calls: CallLog) -> Any:
    import boto3  # noqa: F401

    return time.time(), None


def run_threaded_script(_: Any, job: dict[str, Any], calls: CallLog) -> dict[str, Any]:
    """A careful script with a 16-thread pool over every (account, region), writing nothing:
    the floor any collector of the same findings could reach."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    home = boto3.session.Session()
    lock = threading.Lock()
    clients: dict[tuple[str, str, str], Any] = {}
    sessions: dict[str, Any] = {}

    def client(account_id: str, service: str, region: str) -> Any:
        with lock:  # one session per account, its clients made under a lock
            if account_id not in sessions:
                creds = home.client("sts").assume_role(
                    RoleArn=f"arn:aws:iam::{account_id}:role/{job['role_name']}", RoleSessionName="script"
                )["Credentials"]
                sessions[account_id] = boto3.session.Session(
                    aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"])
            if (account_id, service, region) not in clients:
                clients[(account_id, service, region)] = sessions[account_id].client(service, region_name=region)
            return clients[(account_id, service, region)]

    def region_task(account_id: str, region: str) -> int:
        ec2 = client(account_id, "ec2", region)
        found = len(ec2.describe_volumes(Filters=[{"Name": "status", "Values": ["available"]}])["Volumes"])
        for group in ec2.describe_security_groups()["SecurityGroups"]:
            cidrs = [r.get("CidrIp") for p in group["IpPermissions"] for r in p.get("IpRanges", [])]
            cidrs += [r.get("CidrIpv6") for p in group["IpPermissions"] for r in p.get("Ipv6Ranges", [])]
            found += any(c in WORLD for c in cidrs)
        return found

    def iam_task(account_id: str) -> int:
        iam = client(account_id, "iam", "us-east-1")
        found = 0
        for user in iam.list_users()["Users"]:
            old = sum(1 for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
                      if key["Status"] == "Active" and (now - key["CreateDate"]).days > 90)
            if old:  # the same work as the collector: the owner's tags, which routes match
                iam.list_user_tags(UserName=user["UserName"])
            found += old
        return found

    with ThreadPoolExecutor(max_workers=16) as pool:
        tasks = [pool.submit(iam_task, a) for a in job["accounts"]]
        tasks += [pool.submit(region_task, a, r) for a in job["accounts"] for r in job["regions"]]
        found = sum(t.result() for t in tasks)
    return {"wall": time.perf_counter() - started, "found": found, "calls": []}


MODES = {
    "report": (setup_report, run_report),
    "cli": (setup_cli, run_cli),
    "threaded-script": (setup_threaded_script, run_threaded_script),
    "worker": (setup_worker, run_worker),
    "session-per-thread": (setup_session_per_thread, run_session_per_thread),
    "laptop": (setup_laptop, run_laptop),
    "director": (setup_director, run_director),
    "relay": (setup_director, run_relay),
}


def main() -> None:
    mode = sys.argv[1]
    setup, run = MODES[mode]
    calls = CallLog()
    imported, state = setup(calls)
    emit({"ready": time.time(), "started": STARTED, "imported": imported, "pid": os.getpid()})
    job = json.loads(sys.stdin.readline())
    received = time.time()
    if job.get("stack_size"):
        threading.stack_size(int(job["stack_size"]))
    out = run(state, job, calls)
    out["received"] = received
    out.setdefault("done", time.time())
    out.setdefault("calls", calls.calls)
    out["peak_rss_mb"] = peak_rss_mb()
    emit(out)


if __name__ == "__main__":
    main()
