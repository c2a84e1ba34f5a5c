"""The director's Lambda invoker against a loopback Lambda endpoint over real HTTP."""
from __future__ import annotations

import pytest
from loopback import Listener

from collector_core.aws.clients import Clients
from collector_core.collector import Account
from collector_core.runtime.events import WorkerEvent, relayed_events
from collector_core.runtime.invokers import LambdaInvoker, Relay, relay_batches


def events(count: int) -> list[WorkerEvent]:
    return [WorkerEvent(run_id="run-1", run_seq=1, account=Account(f"{100000000000 + i}", f"acct-{i}"),
                        regions=["us-east-1"], collectors={"unattached_ebs": {}}, table="t",
                        role_name="r") for i in range(count)]


def test_every_event_is_queued_asynchronously_over_reused_connections(
    http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", http_listener.url)
    http_listener.responses.extend([(202, {}, "")] * 40)  # Lambda's answer to InvocationType=Event
    invoker = LambdaInvoker("aws-collector-worker", Clients(max_pool_connections=4).client("lambda", "us-east-1"),
                            concurrency=4)
    sent = events(40)

    invoker.invoke(sent)

    assert invoker.failures == []
    assert {r.path for r in http_listener.received} == {"/2015-03-31/functions/aws-collector-worker/invocations"}
    assert {r.headers["X-Amz-Invocation-Type"] for r in http_listener.received} == {"Event"}
    assert sorted(WorkerEvent.from_dict(r.json()).account.id for r in http_listener.received) == \
        sorted(e.account.id for e in sent)
    # An Invoke's response must be read to the end, or its connection is never reused: a thousand
    # accounts would then open a thousand connections (and TLS handshakes, against AWS).
    assert http_listener.connections <= 4


def test_an_invoke_that_fails_is_recorded_and_the_others_still_go(
    http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", http_listener.url)
    denied = (403, {"x-amzn-ErrorType": "AccessDeniedException"}, '{"Message": "not allowed"}')
    http_listener.responses.extend([denied, *[(202, {}, "")] * 4])
    invoker = LambdaInvoker("aws-collector-worker", Clients().client("lambda", "us-east-1"), concurrency=1)

    invoker.invoke(events(5))

    assert len(http_listener.received) == 5
    assert [(f.account_id, f.error) for f in invoker.failures] == [("100000000000", "AccessDeniedException")]


@pytest.mark.parametrize("count, batch, batches", [
    (101, 100, [50, 51]),  # equal halves, not 100 and a straggler of 1: the run waits for the slowest
    (1000, 100, [100] * 10),
    (250, 100, [83, 83, 84]),
])
def test_relay_batches_are_equal_and_keep_the_order(count: int, batch: int, batches: list[int]) -> None:
    out = relay_batches([300] * count, batch)
    assert [len(b) for b in out] == batches
    assert [i for b in out for i in b] == list(range(count))


def test_a_relay_batch_stays_under_lambdas_payload_limit() -> None:
    out = relay_batches([100_000, 100_000, 100_000, 10], 100, limit=240_000)
    assert out == [[0, 1], [2, 3]]


def test_past_relay_above_the_director_invokes_itself_with_batches(
    http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", http_listener.url)
    http_listener.responses.extend([(202, {}, "")] * 3)
    invoker = LambdaInvoker("aws-collector-worker", Clients().client("lambda", "us-east-1"),
                            relay=Relay("aws-collector-director", above=4, batch=4))
    sent = events(10)

    invoker.invoke(sent)

    assert invoker.failures == [] and invoker.relays == 3
    assert {r.path for r in http_listener.received} == {"/2015-03-31/functions/aws-collector-director/invocations"}
    assert {r.headers["X-Amz-Invocation-Type"] for r in http_listener.received} == {"Event"}
    relayed = [relayed_events(r.json()) or [] for r in http_listener.received]
    assert sorted(len(batch) for batch in relayed) == [3, 3, 4]
    assert sorted((e for batch in relayed for e in batch), key=lambda e: e.account.id) == sent


def test_a_relay_that_fails_fails_every_account_of_its_batch(
    http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", http_listener.url)
    # As when the director's role may not invoke the director itself.
    denied = (403, {"x-amzn-ErrorType": "AccessDeniedException"}, '{"Message": "not allowed"}')
    http_listener.responses.extend([denied, (202, {}, "")])
    invoker = LambdaInvoker("aws-collector-worker", Clients().client("lambda", "us-east-1"), concurrency=1,
                            relay=Relay("aws-collector-director", above=3, batch=3))

    invoker.invoke(events(6))

    assert len(http_listener.received) == 2
    assert [(f.account_id, f.error) for f in invoker.failures] == [
        (f"{100000000000 + i}", "AccessDeniedException") for i in range(3)]


def test_up_to_relay_above_the_director_invokes_the_workers_itself(
    http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", http_listener.url)
    http_listener.responses.extend([(202, {}, "")] * 3)
    invoker = LambdaInvoker("aws-collector-worker", Clients().client("lambda", "us-east-1"),
                            relay=Relay("aws-collector-director", above=3, batch=2))
    invoker.invoke(events(3))
    assert invoker.relays == 0
    assert {r.path for r in http_listener.received} == {"/2015-03-31/functions/aws-collector-worker/invocations"}
