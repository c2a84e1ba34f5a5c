"""The Lambda handlers against moto's server: same functions as the CLI, thin adapters around them."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from collector_core import handlers
from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.collector import Account
from collector_core.config.errors import ConfigError
from collector_core.demo.simulate import seed_organization
from collector_core.findings import current_findings
from collector_core.metrics import heartbeat
from collector_core.runtime import director
from collector_core.runtime.events import EventError, WorkerEvent
from collector_core.runtime.planning import SubsetError, plan_accounts
from collector_core.store import Store

REGIONS = ["us-east-1"]


class Context:
    """What the handlers read of Lambda's context object."""

    aws_request_id = "req-1"

    def __init__(self, seconds: float = 120) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


class RecordingLambda:
    """A Lambda client that records invocations instead of running them."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}  # as botocore's


class LambdaAwareClients(Clients):
    """Real clients (moto via AWS_ENDPOINT_URL), except Lambda, which is recorded."""

    def __init__(self, lambda_client: RecordingLambda) -> None:
        super().__init__(max_pool_connections=handlers.CONCURRENCY)
        self.lambda_client = lambda_client

    def client(self, service: str, region: str, credentials: Any = None, **kwargs: Any) -> Any:
        if service == "lambda":
            return self.lambda_client
        return super().client(service, region, credentials, **kwargs)


def plan_events(config, registry, accounts, run_id: str, run_seq: int) -> list[WorkerEvent]:
    """The director's events for these accounts, as its run would hand them to the invoker."""
    return director.worker_events(config, plan_accounts(config, registry, accounts), run_id, run_seq)


@pytest.fixture
def lambda_env(server_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RecordingLambda:
    """A fresh execution environment: moto behind AWS_ENDPOINT_URL, a config file, Lambda recorded."""
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"organization": {"enabled": True}, "regions": REGIONS, "table": "findings"}))
    monkeypatch.setenv(handlers.CONFIG_ENV, str(config))
    monkeypatch.setenv(handlers.WORKER_FUNCTION_ENV, "aws-collector-test-worker")
    monkeypatch.setenv(handlers.NOTIFIER_FUNCTION_ENV, "aws-collector-test-notifier")
    recorder = RecordingLambda()
    rt = handlers.Runtime(handlers.load_plugins(), LambdaAwareClients(recorder))
    monkeypatch.setattr(handlers, "_runtime", rt)
    monkeypatch.setattr(handlers, "_config", None)
    Store("findings", rt.clients.client("dynamodb", "us-east-1")).ensure_table()
    return recorder


def test_director_invokes_the_worker_once_per_account_asynchronously(lambda_env: RecordingLambda,
                                                                      server_env: str) -> None:
    sim = seed_organization(server_env, accounts=2, regions=REGIONS)
    out = handlers.director({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    accounts = sorted(a.id for a in sim.accounts)  # the management account is left out unless listed
    assert sorted(out["accounts"]) == accounts and out["invoke_failures"] == []
    assert {c["FunctionName"] for c in lambda_env.calls} == {"aws-collector-test-worker"}
    assert {c["InvocationType"] for c in lambda_env.calls} == {"Event"}
    events = [WorkerEvent.from_dict(json.loads(c["Payload"])) for c in lambda_env.calls]
    # The same events the local invoker would get from the same plan.
    cfg = handlers.config()
    planned = plan_events(cfg, handlers.runtime().registry, [e.account for e in events], out["run_id"],
                                out["run_seq"])
    assert sorted(events, key=lambda e: e.account.id) == sorted(planned, key=lambda e: e.account.id)


def test_a_run_past_relay_above_is_relayed_and_every_account_gets_one_worker(
        lambda_env: RecordingLambda, server_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handlers.DIRECTOR_FUNCTION_ENV, "aws-collector-test-director")
    monkeypatch.setenv(handlers.RELAY_ABOVE_ENV, "3")
    monkeypatch.setenv(handlers.RELAY_BATCH_ENV, "2")
    sim = seed_organization(server_env, accounts=4, regions=REGIONS)

    out = handlers.director({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())

    accounts = sorted(a.id for a in sim.accounts)  # the management account is left out unless listed
    assert sorted(out["accounts"]) == accounts and out["relays"] == 2 and out["invoke_failures"] == []
    relays = list(lambda_env.calls)
    assert {(c["FunctionName"], c["InvocationType"]) for c in relays} == {("aws-collector-test-director", "Event")}
    lambda_env.calls.clear()
    for relay in relays:  # what Lambda does with each: another director instance
        relayed = handlers.director(json.loads(relay["Payload"]), Context())
        assert relayed["run_id"] == out["run_id"] and relayed["relays"] == 0 and relayed["invoke_failures"] == []
    assert {(c["FunctionName"], c["InvocationType"]) for c in lambda_env.calls} == {("aws-collector-test-worker",
                                                                                     "Event")}
    events = sorted((WorkerEvent.from_dict(json.loads(c["Payload"])) for c in lambda_env.calls),
                    key=lambda e: e.account.id)
    planned = plan_events(handlers.config(), handlers.runtime().registry, [e.account for e in events],
                                out["run_id"], out["run_seq"])
    assert [e.account.id for e in events] == accounts  # each exactly once
    assert events == sorted(planned, key=lambda e: e.account.id)


@pytest.mark.parametrize("event, message", [
    ({"relay": []}, "relay must be a non-empty list of worker events"),
    ({"relay": [{"run_id": "r"}]}, "worker event: missing run_seq, account"),
    ({"relay": [{}], "extra": 1}, "relay event: unknown fields"),
])
def test_a_malformed_relay_event_is_a_clear_error(lambda_env: RecordingLambda, event: Any, message: str) -> None:
    with pytest.raises(EventError, match=message):
        handlers.director(event, Context())
    assert lambda_env.calls == []


def test_a_bad_relay_setting_is_a_clear_error(lambda_env: RecordingLambda, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handlers.DIRECTOR_FUNCTION_ENV, "aws-collector-test-director")
    monkeypatch.setenv(handlers.RELAY_BATCH_ENV, "0")
    with pytest.raises(ConfigError, match="DIRECTOR_RELAY_BATCH: expected a whole number of accounts >= 1, got '0'"):
        handlers.director({}, Context())
    monkeypatch.setenv(handlers.RELAY_BATCH_ENV, "100")
    monkeypatch.setenv(handlers.RELAY_ABOVE_ENV, "many")
    with pytest.raises(ConfigError, match="DIRECTOR_RELAY_ABOVE: expected a whole number of accounts >= 1, got 'many'"):
        handlers.director({}, Context())
    assert lambda_env.calls == []


def test_worker_collects_its_account_and_the_last_one_triggers_the_notifier(
        lambda_env: RecordingLambda, server_env: str) -> None:
    sim = seed_organization(server_env, accounts=1, regions=REGIONS)
    rt = handlers.runtime()
    store = Store("findings", rt.clients.client("dynamodb", "us-east-1"))
    cfg = handlers.config()
    account = sim.accounts[0]
    now = dt.datetime.now(dt.timezone.utc)
    run = store.start_run("run-1", [account.id], now=now, ttl_days=7, deadline=now + dt.timedelta(hours=1))
    [event] = plan_events(cfg, rt.registry, [account], "run-1", run.run_seq)

    result = handlers.worker(event.to_dict(), Context())

    assert result["status"] == "ok" and result["account"]["id"] == account.id
    seen = {(f["plugin"], f["account_id"], f["region"], f["resource_id"])
            for f in current_findings(store.account_state(account.id), dt.datetime.now(dt.timezone.utc))}
    assert seen == sim.expected
    assert lambda_env.calls == [{"FunctionName": "aws-collector-test-notifier", "InvocationType": "Event",
                                 "Payload": json.dumps({"run_id": "run-1", "run_seq": run.run_seq}).encode()}]


def test_a_worker_refuses_a_table_of_another_layout_before_writing_anything(
        lambda_env: RecordingLambda, server_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector_core.store import TableError
    from collector_core.store.layout import layout_item

    sim = seed_organization(server_env, accounts=1, regions=REGIONS)
    rt = handlers.runtime()
    store = Store("findings", rt.clients.client("dynamodb", "us-east-1"))
    now = dt.datetime.now(dt.timezone.utc)
    run = store.start_run("run-1", [sim.accounts[0].id], now=now, ttl_days=7, deadline=now + dt.timedelta(hours=1))
    [event] = plan_events(handlers.config(), rt.registry, [sim.accounts[0]], "run-1", run.run_seq)
    store.put_batch([layout_item("0.3")])
    monkeypatch.setattr(handlers, "_layout_checked", set())

    with pytest.raises(TableError, match="holds aws-collector 0.3's layout"):
        handlers.worker(event.to_dict(), Context())
    assert store.account_state(sim.accounts[0].id).attempts == [] and lambda_env.calls == []


def test_the_worker_never_reads_the_config_its_metrics_settings_travel_in_the_event(
        lambda_env: RecordingLambda, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # 1,000 cold workers each reading the config from SSM at once would pass SSM's throughput.
    event = {"run_id": "r", "run_seq": 1, "account": {"id": "111111111111", "name": "a"}, "regions": REGIONS,
             "collectors": {"unattached_ebs": {}}, "table": "findings", "role_name": "role",
             "metrics": {"sink": "emf", "namespace": "FromTheEvent"}}
    monkeypatch.delenv(handlers.CONFIG_ENV)  # reading it now would fail the worker
    handlers.worker(event, Context())
    assert handlers._config is None
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert emf and {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in emf} == {"FromTheEvent"}


def test_worker_deadline_comes_from_the_remaining_time(lambda_env: RecordingLambda,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, float] = {}

    def fake_run_account(event: WorkerEvent, *, deadline: float, **_: Any) -> Any:
        seen["left"] = deadline - time.monotonic()
        from collector_core.results import AccountResult

        return AccountResult(run_id=event.run_id, account=event.account)

    monkeypatch.setattr(handlers, "run_account", fake_run_account)
    event = {"run_id": "r", "run_seq": 1, "account": {"id": "111111111111", "name": "a"}, "regions": REGIONS,
             "collectors": {}, "table": "findings", "role_name": "role"}
    handlers.worker(event, Context(seconds=900))
    assert 900 - handlers.FLUSH_MARGIN_SECONDS - 2 < seen["left"] <= 900 - handlers.FLUSH_MARGIN_SECONDS
    handlers.worker(event, Context(seconds=10))  # a short timeout keeps a fifth back, not 30 s
    assert 7 < seen["left"] <= 8


@pytest.mark.parametrize("event, message", [
    (["not", "an", "object"], "expected a JSON object, got list"),
    ({"run_id": "r"}, "missing run_seq, account, regions, collectors, table, role_name"),
    ({"run_id": "r", "run_seq": 1, "account": {"id": "111111111111"}, "regions": ["us-east-1"], "table": "t",
      "role_name": "x", "collectors": {"no_such_collector": {}}}, "not installed in this function: no_such_collector"),
])
def test_a_malformed_worker_event_is_a_clear_error(lambda_env: RecordingLambda, event: Any, message: str) -> None:
    with pytest.raises(EventError, match=message):
        handlers.worker(event, Context())
    assert lambda_env.calls == []


def test_context_is_cleared_per_invocation(lambda_env: RecordingLambda) -> None:
    structlog.contextvars.bind_contextvars(account="999999999999", run="stale")
    with pytest.raises(EventError):
        handlers.worker([], Context())
    assert structlog.contextvars.get_contextvars() == {"function": "worker", "request_id": "req-1"}


def test_config_is_read_once_per_cold_start(lambda_env: RecordingLambda, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    from collector_core.config import load

    real = load.load_config
    monkeypatch.setattr(load, "load_config",
                        lambda source, registry: reads.append(source) or real(source, registry))
    seed_organization(os.environ["AWS_ENDPOINT_URL"], accounts=0)
    handlers.director({}, Context())
    handlers.director({}, Context())
    assert len(reads) == 1


def test_missing_settings_are_clear_errors(lambda_env: RecordingLambda, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(handlers.WORKER_FUNCTION_ENV)
    with pytest.raises(ConfigError, match="WORKER_FUNCTION is not set"):
        handlers.director({}, Context())
    monkeypatch.setattr(handlers, "_config", None)
    monkeypatch.delenv(handlers.CONFIG_ENV)
    with pytest.raises(ConfigError, match="AWS_COLLECTOR_CONFIG is not set"):
        handlers.notifier({}, Context())
    with pytest.raises(EventError, match="run_seq must be a positive whole number"):
        handlers.notifier({"run_seq": "5"}, Context())


def test_notifier_sends_a_runs_report_once(lambda_env: RecordingLambda, server_env: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rt = handlers.runtime()
    now = dt.datetime.now(dt.timezone.utc)
    run = Store("findings", rt.clients.client("dynamodb", "us-east-1")).start_run(
        "run-9", [], now=now, ttl_days=7, deadline=now)
    first = handlers.notifier({"run_id": "run-9", "run_seq": run.run_seq}, Context())
    second = handlers.notifier({"run_id": "run-9", "run_seq": run.run_seq}, Context())
    assert first["sent"] == ["stdout"] and first["failures"] == []
    assert second["sent"] == [] and second["skipped"]


@contextmanager
def nothing_invokable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ids: list[str],
                      **env: str) -> Iterator[tuple[handlers.Runtime, Store]]:
    """A fresh execution environment on in-process moto (use inside `mocked_aws`), which has no
    Lambda functions: every Invoke fails. Config-listed accounts ``ids``; ``env`` adds to the
    handlers' settings."""
    config = tmp_path / "config.yaml"
    config.write_text("table: tbl\naccounts: [" + ", ".join(f'{{id: "{i}"}}' for i in ids) + "]\n")
    monkeypatch.setenv("AWS_COLLECTOR_CONFIG", str(config))
    for name, value in {"WORKER_FUNCTION": "no-such-worker", **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handlers, "_runtime", None)
    monkeypatch.setattr(handlers, "_config", None)
    rt = handlers.runtime()
    store = Store("tbl", rt.clients.client("dynamodb", "us-east-1"))
    store.ensure_table()
    yield rt, store


def test_an_account_lambda_would_not_take_is_recorded_failed_and_the_run_completes(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A failed async invoke must not leave the run waiting forever for that account."""
    with nothing_invokable(monkeypatch, tmp_path, ["111111111111", "222222222222"]) as (_, store):
        out = handlers.director({}, None)
        assert len(out["invoke_failures"]) == 2
        assert store.run(out["run_seq"]).done == 2  # type: ignore[union-attr]
        assert [a.status for a in store.account_state("222222222222").attempts] == ["failed"]


def test_accounts_of_a_relay_lambda_would_not_take_are_recorded_failed_and_the_run_completes(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The director cannot invoke itself (say its role lacks the permission): the batch's accounts
    fail by name; a relay that cannot invoke its workers records them the same way."""
    ids = ["111111111111", "222222222222", "333333333333"]
    relaying = {"DIRECTOR_FUNCTION": "no-such-director", "DIRECTOR_RELAY_ABOVE": "2", "DIRECTOR_RELAY_BATCH": "2"}
    with nothing_invokable(monkeypatch, tmp_path, ids, **relaying) as (rt, store):
        out = handlers.director({}, None)
        assert out["relays"] == 2 and sorted(f["account_id"] for f in out["invoke_failures"]) == ids
        assert [a.status for i in ids for a in store.account_state(i).attempts] == ["failed"] * 3
        assert store.run(out["run_seq"]).done == 3  # type: ignore[union-attr]  # the run is complete

        cfg = handlers.config()
        now = dt.datetime.now(dt.timezone.utc)
        run = store.start_run("run-2", ids, now=now, ttl_days=7, deadline=now)
        events = plan_events(cfg, rt.registry, cfg.configured_accounts(), "run-2", run.run_seq)
        relayed = handlers.director({"relay": [e.to_dict() for e in events]}, None)
        assert relayed["run_id"] == "run-2" and len(relayed["invoke_failures"]) == 3
        assert store.run(run.run_seq).done == 3  # type: ignore[union-attr]


def destination_record(payload: Any, condition: str = "RetriesExhausted", attempts: int = 2) -> dict[str, Any]:
    """What Lambda puts on the failed-invocations queue for an asynchronous invocation that failed."""
    return {"version": "1.0", "timestamp": "2026-11-30T06:00:00.000Z",
            "requestContext": {"requestId": "req", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:w",
                               "condition": condition, "approximateInvokeCount": attempts},
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "Task timed out after 900.00 seconds"}}


def test_a_lost_worker_from_the_queue_is_recorded_failed_and_its_run_reported_once(
        lambda_env: RecordingLambda, server_env: str) -> None:
    rt = handlers.runtime()
    store = Store("findings", rt.clients.client("dynamodb", "us-east-1"))
    now = dt.datetime.now(dt.timezone.utc)
    accounts = [Account("111111111111", "prod"), Account("222222222222", "sandbox")]
    run = store.start_run("run-lost", [a.id for a in accounts], now=now, ttl_days=7, deadline=now)
    events = plan_events(handlers.config(), rt.registry, accounts, run.run_id, run.run_seq)
    message = {"Records": [
        {"messageId": "m1", "body": json.dumps(destination_record(events[0].to_dict()))},
        {"messageId": "m2", "body": json.dumps(destination_record({"relay": [events[1].to_dict()]},
                                                                  condition="EventAgeExceeded"))},
        {"messageId": "m3", "body": json.dumps(destination_record({"source": "schedule"}))},  # the director's own
    ]}

    assert handlers.failed_invocations(message, Context()) == {"batchItemFailures": []}
    assert handlers.failed_invocations(message, Context()) == {"batchItemFailures": []}  # SQS delivers twice

    assert lambda_env.calls == [{"FunctionName": "aws-collector-test-notifier", "InvocationType": "Event",
                                 "Payload": json.dumps({"run_id": "run-lost", "run_seq": run.run_seq}).encode()}]
    recorded = {a.id: store.account_state(a.id).attempts for a in accounts}
    assert [a.status for a in recorded["111111111111"]] == ["failed"]
    reason = recorded["111111111111"][0].result["errors"][0]
    assert reason["error"] == "RetriesExhausted" and "Task timed out after 900.00 seconds" in reason["message"]
    assert recorded["222222222222"][0].result["errors"][0]["error"] == "EventAgeExceeded"
    assert store.run(run.run_seq).done == 2  # type: ignore[union-attr]


def test_a_queue_message_the_table_cannot_take_is_returned_alone(
        lambda_env: RecordingLambda, server_env: str) -> None:
    event = {"run_id": "r", "run_seq": 1, "account": {"id": "111111111111", "name": "a"}, "regions": REGIONS,
             "collectors": {}, "table": "no-such-table", "role_name": "role"}
    message = {"Records": [{"messageId": "m1", "body": json.dumps(destination_record(event))}]}
    assert handlers.failed_invocations(message, Context()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


# -- a run that never starts is heard ---------------------------------------------------------
DEPLOYMENT = "aws-collector-test"


def heartbeats(out: str) -> list[dict[str, Any]]:
    """The EMF documents of the deployment's heartbeat in a function's stdout."""
    docs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [d for d in docs if d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Deployment"]]]


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def deny(client: Any, operation: str, code: str = "AccessDeniedException") -> None:
    """Make AWS refuse one operation of this client, as it answers a caller without the permission."""
    from botocore.awsrequest import AWSResponse

    def refuse(request: Any, **_: Any) -> AWSResponse:
        body = json.dumps({"__type": code, "Message": f"You don't have permissions to call {operation}"}).encode()
        return AWSResponse(request.url, 400, {"content-type": "application/x-amz-json-1.1"}, _Raw(body))

    client.meta.events.register(f"before-send.{client.meta.service_model.service_name}.{operation}", refuse)


@pytest.fixture
def deployed(lambda_env: RecordingLambda, monkeypatch: pytest.MonkeyPatch) -> RecordingLambda:
    """The handlers as serverless.yml deploys them: the table and the deployment's name in the environment."""
    monkeypatch.setenv(handlers.TABLE_ENV, "findings")
    monkeypatch.setenv(heartbeat.DEPLOYMENT_ENV, DEPLOYMENT)
    return lambda_env


def test_a_run_whose_config_is_missing_is_recorded_failed_named_in_the_report_and_counted_for_the_alarms(
        deployed: RecordingLambda, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    config = os.environ[handlers.CONFIG_ENV]
    monkeypatch.setenv(handlers.CONFIG_ENV, "ssm:/collector/config")  # never put

    with pytest.raises(ConfigError, match="ssm:/collector/config: cannot read it: ParameterNotFound"):
        handlers.director({"source": "schedule"}, Context())

    assert deployed.calls == []
    [beat] = heartbeats(capsys.readouterr().out)
    assert (beat["Deployment"], beat["RunsNotStarted"]) == (DEPLOYMENT, 1)
    store = Store("findings", handlers.runtime().clients.client("dynamodb", "us-east-1"))
    [run] = store.runs(limit=5)
    assert run.failed is not None and run.failed.startswith("ConfigError: ssm:/collector/config: cannot read it")
    assert run.notified and run.accounts == ()  # nothing to wait for, nothing for the sweep to report

    # The next report, and the HTML page, say so.
    assert main(["notify", "--config", config, "--stdout"]) == 0
    out = capsys.readouterr().out
    assert "1 run never started" in out.splitlines()[0]
    assert f"(run {run.run_id}): ConfigError: ssm:/collector/config: cannot read it" in out
    page = tmp_path / "report.html"
    assert main(["report", "--config", config, "--html", str(page)]) == 0
    assert "Runs that never started" in page.read_text() and run.run_id in page.read_text()


def test_a_run_whose_accounts_cannot_be_listed_is_recorded_failed_and_counted_for_the_alarms(
        deployed: RecordingLambda, capsys: pytest.CaptureFixture[str]) -> None:
    seed_organization(os.environ["AWS_ENDPOINT_URL"], accounts=1)
    deny(handlers.runtime().clients.client("organizations", "us-east-1"), "DescribeOrganization")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        handlers.director({"source": "schedule"}, Context())

    assert deployed.calls == []
    assert [b["RunsNotStarted"] for b in heartbeats(capsys.readouterr().out)] == [1]
    [run] = Store("findings", handlers.runtime().clients.client("dynamodb", "us-east-1")).runs(limit=5)
    assert run.failed == "AccessDeniedException: You don't have permissions to call DescribeOrganization"


def test_the_queue_consumer_says_why_the_director_failed(deployed: RecordingLambda) -> None:
    record = destination_record({"source": "schedule"}, attempts=1)
    record["requestContext"]["functionArn"] = ("arn:aws:lambda:us-east-1:123456789012:function:"
                                               "aws-collector-test-director")
    record["responsePayload"] = {"errorType": "ConfigError",
                                 "errorMessage": "ssm:/collector/config: cannot read it: ParameterNotFound"}
    message = {"Records": [{"messageId": "m1", "body": json.dumps(record)}]}

    with structlog.testing.capture_logs() as logged:
        assert handlers.failed_invocations(message, Context()) == {"batchItemFailures": []}

    [said] = [e for e in logged if e["log_level"] == "error"]
    assert said["event"] == "invocation_failed" and said["function"] == "aws-collector-test-director"
    assert said["error"] == "ConfigError: ssm:/collector/config: cannot read it: ParameterNotFound"
    assert said["condition"] == "RetriesExhausted" and "run_id" not in json.dumps(logged)


def test_the_notifier_beats_once_per_run_reported(deployed: RecordingLambda, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    run = Store("findings", handlers.runtime().clients.client("dynamodb", "us-east-1")).start_run(
        "run-beat", [], now=now, ttl_days=7, deadline=now)

    handlers.notifier({"run_id": run.run_id, "run_seq": run.run_seq}, Context())
    handlers.notifier({"run_id": run.run_id, "run_seq": run.run_seq}, Context())  # a retry: already sent
    handlers.notifier({}, Context())  # the current report, of no particular run

    [beat] = heartbeats(capsys.readouterr().out)
    assert (beat["RunsCompleted"], beat["ReportFailures"], beat["Deployment"]) == (1, 0, DEPLOYMENT)
    assert beat["_aws"]["CloudWatchMetrics"][0]["Namespace"] == heartbeat.NAMESPACE

    monkeypatch.delenv(heartbeat.DEPLOYMENT_ENV)  # outside a deployment (a laptop): nothing to feed
    second = Store("findings", handlers.runtime().clients.client("dynamodb", "us-east-1")).start_run(
        "run-quiet", [], now=now, ttl_days=7, deadline=now)
    handlers.notifier({"run_id": second.run_id, "run_seq": second.run_seq}, Context())
    assert heartbeats(capsys.readouterr().out) == []


def test_a_director_event_may_ask_for_a_subset_for_a_trial_run(deployed: RecordingLambda,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sim = seed_organization(os.environ["AWS_ENDPOINT_URL"], accounts=2, regions=REGIONS)
    one = sim.accounts[0].id

    out = handlers.director({"accounts": [one], "plugins": ["unattached_ebs"], "regions": ["us-east-1"]}, Context())

    [event] = [WorkerEvent.from_dict(json.loads(c["Payload"])) for c in deployed.calls]
    assert (event.account.id, event.regions, event.collectors) == (one, ["us-east-1"], {"unattached_ebs": {}})
    store = Store("findings", handlers.runtime().clients.client("dynamodb", "us-east-1"))
    assert out["accounts"] == [one] and store.run(out["run_seq"]).accounts == (one,)  # type: ignore[union-attr]

    deployed.calls.clear()
    with pytest.raises(EventError, match="director event: plugins must be a list of names"):
        handlers.director({"plugins": "unattached_ebs"}, Context())
    with pytest.raises(SubsetError, match="--account 999999999999: not an account this config runs"):
        handlers.director({"accounts": ["999999999999"]}, Context())
    # A trial's own mistakes are said to whoever invoked it: no failed run, no alarm.
    assert deployed.calls == [] and [r.run_seq for r in store.runs(limit=5)] == [out["run_seq"]]
    assert heartbeats(capsys.readouterr().out) == []


def test_a_lambda_process_caps_glibc_s_malloc_arenas_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker's scan and writer threads each took a glibc arena of their own: 12 MB more peak RSS.
    import platform

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    capped = handlers.limit_malloc_arenas()
    assert capped is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # the deployer's setting stands
    assert handlers.limit_malloc_arenas() is False
