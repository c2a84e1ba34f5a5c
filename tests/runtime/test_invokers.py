"""The director's Lambda invoker against a loopback Lambda endpoint over real HTTP."""
from __future__ import annotations

import pytest
from loopback import Listener

from collector_core.aws import Clients
from collector_core.collector import Account
from collector_core.events import WorkerEvent
from collector_core.invokers import LambdaInvoker


def events(count: int) -> list[WorkerEvent]:
    return [WorkerEvent(run_id="run-1", account=Account(f"{100000000000 + i}", f"acct-{i}"),
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
