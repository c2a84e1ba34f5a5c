"""Lambda entry points: thin adapters over the functions the CLI calls.

Plugins, clients and the config are loaded once per cold start; every invocation starts with
fresh structlog context so one account's names never leak into the next invocation's logs.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import structlog

from collector_core import logs
from collector_core.aws.clients import Clients, home_region
from collector_core.config.errors import ConfigError
from collector_core.errors import describe
from collector_core.metrics import heartbeat
from collector_core.metrics.sinks import MetricsSettings, emit
from collector_core.plugins import Registry, load_plugins
from collector_core.results import AccountResult
from collector_core.runtime import director as director_
from collector_core.runtime.completion import close_overdue, failed_invocation, record_lost
from collector_core.runtime.events import EventError, WorkerEvent, relayed_events, requested_subset
from collector_core.runtime.invokers import LambdaInvoker, Relay, invoke_async
from collector_core.runtime.planning import SubsetError
from collector_core.runtime.worker import run_account
from collector_core.store import Store

if TYPE_CHECKING:
    from collector_core.config.model import Config

#: Where the config is: a path inside the package, ``s3://bucket/key`` or ``ssm:/name``.
CONFIG_ENV = "AWS_COLLECTOR_CONFIG"
#: The worker function's name, for the director's invocations (set by serverless.yml).
WORKER_FUNCTION_ENV = "WORKER_FUNCTION"
#: The director's own name: with it, a run of more than DIRECTOR_RELAY_ABOVE accounts is relayed
#: through other instances of the director, DIRECTOR_RELAY_BATCH accounts each (unset: never).
DIRECTOR_FUNCTION_ENV = "DIRECTOR_FUNCTION"
RELAY_ABOVE_ENV = "DIRECTOR_RELAY_ABOVE"
RELAY_BATCH_ENV = "DIRECTOR_RELAY_BATCH"
#: The notifier function's name; when set, the worker that completes a run invokes it.
NOTIFIER_FUNCTION_ENV = "NOTIFIER_FUNCTION"
#: Seconds after its start a run may be closed by the sweep (serverless.yml sets it from the worker's
#: timeout, retries and maximum event age).
RUN_DEADLINE_ENV = "RUN_DEADLINE_SECONDS"
#: The findings table, as deployed (serverless.yml's ``table``): where a run that cannot even read its
#: config is recorded failed.
TABLE_ENV = "AWS_COLLECTOR_TABLE"
#: How long a failed run's record is kept when the config (and its ttl_days) could not be read.
FAILED_RUN_TTL_DAYS = 7
#: Seconds kept back from the worker's remaining time to flush findings and write its record.
FLUSH_MARGIN_SECONDS = 30.0
#: Concurrent invocations and connections per client: the director fans out this wide.
CONCURRENCY = 32
#: glibc's malloc arenas for a Lambda instance's process. Left alone, glibc gives threads that contend
#: an arena each, up to 8 per core; a worker's 50-odd threads (scans and writers) then leave freed
#: response buffers spread over 16 arenas: the catalog worker peaked 12 MB higher (docs/performance.md).
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # mallopt's parameter number, from glibc's malloc.h


@dataclass(frozen=True)
class Runtime:
    """What a cold start loads once: plugins and the shared clients."""

    registry: Registry
    clients: Clients


_lock = threading.Lock()
_runtime: Runtime | None = None
_config: Config | None = None
_layout_checked: set[str] = set()  # tables whose layout this instance has checked (once per cold start)


def runtime() -> Runtime:
    """The plugins and clients of this execution environment, loaded on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            limit_malloc_arenas()  # before any thread allocates
            logs.configure(level=os.environ.get("AWS_COLLECTOR_LOG_LEVEL", "info"))
            _runtime = Runtime(load_plugins(), Clients(max_pool_connections=CONCURRENCY))
        return _runtime


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (mallopt M_ARENA_MAX); False, changing nothing, where the C library
    has no mallopt or refuses, or when MALLOC_ARENA_MAX is set (the deployer's choice stands)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    return mallopt(M_ARENA_MAX, arenas) == 1


def config() -> Config:
    """The config named by AWS_COLLECTOR_CONFIG, read on first use (a failure is retried next time)."""
    global _config
    rt = runtime()
    with _lock:
        if _config is None:
            from collector_core.config.load import load_config  # the worker never reads the config

            source = os.environ.get(CONFIG_ENV)
            if not source:
                raise ConfigError(f"{CONFIG_ENV} is not set: expected a path, s3://bucket/key or ssm:/name")
            _config = load_config(source, rt.registry)
        return _config


def director(event: Any, context: Any) -> dict[str, Any]:
    """Scheduled entry point: plan the run and invoke the worker once per account.

    An event may ask for a subset, ``{"accounts": [...], "plugins": [...], "regions": [...]}``, for a
    trial run (as ``run --account/--plugin/--region``). Also the relay's entry point: an event
    {"relay": [worker events]} from another instance of this function, whose workers this one
    invokes (see runtime.invokers.Relay). A run that cannot start (no config, Organizations
    refusing) is recorded failed in the table and counted for the alarms, then the error is raised.
    """
    _begin(context, "director")
    if not isinstance(event, dict):
        raise EventError(f"director event: expected a JSON object, got {type(event).__name__}")
    rt = runtime()
    worker_function = _setting(WORKER_FUNCTION_ENV, "the director cannot find the worker")
    client = rt.clients.client("lambda", home_region())
    relayed = relayed_events(event)
    if relayed is not None:
        invoker = LambdaInvoker(worker_function, client, concurrency=CONCURRENCY)
        invoker.invoke(relayed)
        return _dispatched(relayed, invoker, Store.open(relayed[0].table, rt.clients))
    subset = requested_subset(event)
    invoker = LambdaInvoker(worker_function, client, concurrency=CONCURRENCY, relay=_relay())
    try:
        cfg = config()
        store = Store.open(cfg.table, rt.clients)
        store.check_table()  # a table of another layout would lose findings: refuse before anything is written
        result = director_.run(cfg, cfg.registry(rt.registry), invoker, clients=rt.clients, store=store, subset=subset,
                               deadline_seconds=_seconds(RUN_DEADLINE_ENV, director_.DEFAULT_DEADLINE_SECONDS))
    except SubsetError:  # a trial run's own filters: said to whoever invoked it, nothing started
        raise
    except Exception as exc:
        _not_started(exc)
        raise
    return _dispatched(result.events, invoker, store)


def _not_started(error: Exception) -> None:
    """Make a run that could not start heard: the alarms' metric, and a failed run in the table if it
    can be reached (the config's table, else the deployed one); never hides the error itself."""
    heartbeat.beat({heartbeat.RUNS_NOT_STARTED: 1})
    cfg, table = _config, os.environ.get(TABLE_ENV)
    try:
        if cfg is None and not table:
            raise ConfigError(f"{TABLE_ENV} is not set and the config was not read: no table to record it in")
        store = Store.open(cfg.table if cfg else str(table), runtime().clients)
        director_.record_not_started(store, error, now=dt.datetime.now(dt.timezone.utc),
                                     ttl_days=cfg.ttl_days if cfg else FAILED_RUN_TTL_DAYS)
    except Exception as exc:  # the table unreachable too: the log and the metric still say it
        structlog.get_logger("aws_collector").error("run_not_started", error=describe(error),
                                                    not_recorded=describe(exc))


def _dispatched(events: list[WorkerEvent], invoker: LambdaInvoker, store: Store) -> dict[str, Any]:
    """Record the accounts Lambda would not take as failed, so the run still completes; say what was sent."""
    by_id = {e.account.id: e for e in events}
    lost = [by_id[f.account_id] for f in invoker.failures]
    reasons = {f.account_id: (f.error, f.message) for f in invoker.failures}
    now = dt.datetime.now(dt.timezone.utc)
    for event in lost:
        for run in record_lost(store, [event], reasons[event.account.id], now=now):
            _notify_run_complete(run.run_id, run.run_seq)
    run_id = events[0].run_id if events else None
    structlog.get_logger("aws_collector").info(
        "run_dispatched", run=run_id, accounts=len(events), relays=invoker.relays,
        invoke_failures=len(invoker.failures),
    )
    return {
        "run_id": run_id,
        "run_seq": events[0].run_seq if events else None,
        "accounts": [e.account.id for e in events],
        "relays": invoker.relays,
        "invoke_failures": [asdict(f) for f in invoker.failures],
    }


def _setting(name: str, why: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{name} is not set: {why}")
    return value


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name) or str(int(default))
    if not (raw.isdigit() and int(raw) >= 1):
        raise ConfigError(f"{name}: expected a whole number of seconds >= 1, got {raw!r}")
    return float(raw)


def _relay() -> Relay | None:
    """How this director relays large runs, from its environment; None without DIRECTOR_FUNCTION."""
    function = os.environ.get(DIRECTOR_FUNCTION_ENV)
    if not function:
        return None
    sizes = {}
    for name, default in ((RELAY_ABOVE_ENV, Relay.above), (RELAY_BATCH_ENV, Relay.batch)):
        raw = os.environ.get(name) or str(default)
        if not (raw.isdigit() and int(raw) >= 1):
            raise ConfigError(f"{name}: expected a whole number of accounts >= 1, got {raw!r}")
        sizes[name] = int(raw)
    return Relay(function, above=sizes[RELAY_ABOVE_ENV], batch=sizes[RELAY_BATCH_ENV])


def worker(event: Any, context: Any) -> dict[str, Any]:
    """Asynchronous entry point: collect one account; returns its AccountResult as a dict."""
    _begin(context, "worker")
    parsed = WorkerEvent.from_dict(event)
    rt = runtime()
    registry = _with_event_checks(rt.registry, parsed)
    unknown = sorted(set(parsed.collectors) - set(registry.names()))
    if unknown:
        # The director planned with plugins this package lacks: say so rather than half-run.
        raise EventError(f"worker event: collectors not installed in this function: {', '.join(unknown)}; "
                         f"installed: {', '.join(registry.names()) or 'none'}")
    remaining = context.get_remaining_time_in_millis() / 1000
    # Short timeouts (tests, offline runs) keep a fifth back instead of the full margin.
    deadline = time.monotonic() + remaining - min(FLUSH_MARGIN_SECONDS, remaining / 5)
    store = Store.open(parsed.table, rt.clients)
    if parsed.table not in _layout_checked:
        # A worker of another version must not write into this layout: fail (to the failed-invocations
        # queue, which records the account failed with this reason) before anything is written.
        store.check_layout()
        _layout_checked.add(parsed.table)
    result = run_account(parsed, registry=registry, clients=rt.clients, store=store, deadline=deadline,
                         on_run_complete=_notify_run_complete)
    _emit_metrics(result, parsed.metrics, rt)
    return result.to_dict()


def _with_event_checks(registry: Registry, event: WorkerEvent) -> Registry:
    """The installed plugins plus the config's checks the event carries (validated by the director)."""
    if not event.checks:
        return registry
    from collector_core.checks.model import CheckError, parse_checks
    from collector_core.config.model import with_checks

    try:
        checks = parse_checks(event.checks, "worker event", classify=False)
    except CheckError as exc:  # a director of another version: say so rather than half-run
        raise EventError(str(exc)) from None
    return with_checks(registry, checks, "worker event")


def _emit_metrics(result: AccountResult, section: dict[str, Any], rt: Runtime) -> None:
    """Metrics per the sinks the event names (the director's config); never fails the worker."""
    try:
        settings = MetricsSettings.from_doc(section)
    except (TypeError, KeyError, ValueError) as exc:  # an event from another version of the director
        structlog.get_logger("aws_collector").warning("metrics_skipped", reason=describe(exc))
        return
    emit([result], settings, clients=rt.clients)  # never raises


def notifier(event: Any, context: Any) -> dict[str, Any]:
    """Entry point of the notifier: a run's report once (the run's last account sends ``run_seq``);
    a sweep (``{"sweep": true}``, scheduled) closing runs past their deadline; else the current report."""
    _begin(context, "notifier")
    if not isinstance(event, dict):
        raise EventError(f"notifier event: expected a JSON object, got {type(event).__name__}")
    run_seq = event.get("run_seq")
    if run_seq is not None and not (isinstance(run_seq, int) and not isinstance(run_seq, bool) and run_seq >= 1):
        raise EventError("notifier event: run_seq must be a positive whole number")
    from collector_core.notify.channels import run_notifier  # only this function renders reports

    rt = runtime()
    cfg = config()
    store = Store.open(cfg.table, rt.clients)

    def report(seq: int | None) -> dict[str, Any]:
        return run_notifier(cfg.notify, mutes=cfg.mute, registry=cfg.registry(rt.registry), store=store,
                            clients=rt.clients, run_seq=seq, history_days=cfg.history_days)

    if event.get("sweep"):
        closed = close_overdue(store, now=dt.datetime.now(dt.timezone.utc), ttl_days=cfg.ttl_days)
        reports = [report(run.run_seq) for run in closed]
        _heartbeat(reports)
        return {"swept": reports}
    out = report(run_seq)
    if run_seq is not None:
        _heartbeat([out])
    return out


def _heartbeat(reports: list[dict[str, Any]]) -> None:
    """Count the runs whose report went out now (one already sent is not counted twice), for the alarms."""
    sent = [r for r in reports if "skipped" not in r]
    if sent:
        heartbeat.beat({heartbeat.RUNS_COMPLETED: len(sent),
                        heartbeat.REPORT_FAILURES: sum(len(r["failures"]) for r in sent)})


def failed_invocations(event: Any, context: Any) -> dict[str, Any]:
    """Entry point of the failed-invocations queue (SQS): the accounts of each lost worker or relay
    event are recorded failed, with Lambda's reason, so their run still completes and reports."""
    _begin(context, "failed_invocations")
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise EventError("failed-invocations event: expected SQS Records")
    log = structlog.get_logger("aws_collector")
    rt = runtime()
    unprocessed = []
    for message in records:
        try:
            failure = failed_invocation(json.loads(message["body"]))
        except (EventError, ValueError, KeyError, TypeError) as exc:  # not a destination record, or garbled
            log.error("failed_invocation_unreadable", message_id=message.get("messageId"), reason=describe(exc))
            continue
        if not failure.events:  # the director's or the notifier's own event: nothing to record, much to say
            log.error("invocation_failed", function=failure.function, condition=failure.condition,
                      error=failure.said, attempts=failure.attempts, message_id=message.get("messageId"))
            continue
        events, reason = failure.events, failure.reason
        try:
            store = Store.open(events[0].table, rt.clients)
            for run in record_lost(store, events, reason, now=dt.datetime.now(dt.timezone.utc)):
                _notify_run_complete(run.run_id, run.run_seq)
        except Exception as exc:  # the table was unreachable: SQS redelivers this message alone
            log.error("failed_invocation_not_recorded", message_id=message.get("messageId"), error=describe(exc))
            unprocessed.append({"itemIdentifier": message.get("messageId")})
    return {"batchItemFailures": unprocessed}


def _begin(context: Any, function: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        function=function, request_id=getattr(context, "aws_request_id", None)
    )


def _notify_run_complete(run_id: str, run_seq: int) -> None:
    """Invoke the notifier asynchronously once the last account of a run is recorded."""
    function = os.environ.get(NOTIFIER_FUNCTION_ENV)
    if not function:
        return
    client = runtime().clients.client("lambda", home_region())
    error = invoke_async(client, function, json.dumps({"run_id": run_id, "run_seq": run_seq}).encode())
    if error:  # the account's findings are stored; a lost report must not fail it
        structlog.get_logger("aws_collector").error("notifier_invoke_failed", run=run_id,
                                                    error=error[0], message=error[1])
