"""How the director starts workers: threads in this process, or asynchronous Lambda invocations."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from collector_core.aws.clients import Clients
from collector_core.errors import error_of
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.results import AccountResult, Failure
from collector_core.runtime.events import WorkerEvent, relay_payload
from collector_core.runtime.worker import RunComplete, run_account
from collector_core.store import Store


class LocalInvoker:
    """Runs workers concurrently in this process: the laptop's and the tests' Lambda."""

    def __init__(
        self,
        *,
        registry: Registry,
        clients: Clients,
        store: Store,
        concurrency: int = 8,
        timeout: float | None = None,
        on_result: Callable[[AccountResult], None] | None = None,
        on_run_complete: RunComplete | None = None,
    ) -> None:
        self.registry = registry
        self.clients = clients
        self.store = store
        self.concurrency = concurrency
        self.timeout = timeout
        self.on_result = on_result
        self.on_run_complete = on_run_complete

    def invoke(self, events: list[WorkerEvent]) -> list[AccountResult]:
        """Run every event; results in event order."""
        if not events:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(events)),
                                thread_name_prefix="worker") as pool:
            return list(pool.map(self._run, events))

    def _run(self, event: WorkerEvent) -> AccountResult:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        result = run_account(event, registry=self.registry, clients=self.clients, store=self.store,
                             deadline=deadline, on_run_complete=self.on_run_complete)
        if self.on_result:
            self.on_result(result)
        return result


#: Bytes of worker events per relay invocation: Lambda takes at most 256 KB asynchronously.
RELAY_PAYLOAD_LIMIT = 240_000


@dataclass(frozen=True)
class Relay:
    """How a large run is relayed: past ``above`` accounts, the director invokes ``function`` (itself)
    once per equal batch of at most ``batch`` worker events, and each relay invokes its batch's workers.

    One instance's CPU bounds how fast it can invoke (botocore's work per Invoke); a relay's cold
    start costs more than it saves below a few hundred accounts, and smaller batches finish
    sooner. The figures behind the defaults are in docs/performance.md.
    """

    function: str
    above: int = 250
    batch: int = 100


class LambdaInvoker:
    """Invokes the worker function once per account with InvocationType=Event, concurrently;
    through relays (see Relay) when given one and the run is large enough."""

    def __init__(self, function_name: str, client: Any, *, concurrency: int = 32,
                 relay: Relay | None = None) -> None:
        self.function_name = function_name
        self.client = client  # its connection pool should be at least `concurrency`
        self.concurrency = concurrency
        self.relay = relay
        self.failures: list[Failure] = []
        self.relays = 0  # relay invocations made

    def invoke(self, events: list[WorkerEvent]) -> None:
        """Queue every event with Lambda; failures to queue are kept in ``failures``, per account."""
        payloads = [json.dumps(event.to_dict()).encode() for event in events]
        if self.relay and len(events) > self.relay.above:
            calls = [(self.relay.function, relay_payload([payloads[i] for i in batch]), [events[i] for i in batch])
                     for batch in relay_batches([len(p) for p in payloads], self.relay.batch)]
            self.relays += len(calls)
        else:
            calls = [(self.function_name, payload, [event]) for event, payload in zip(events, payloads, strict=True)]
        log = get_logger()
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(calls)))) as pool:
            for (function, _, batch), error in zip(calls, pool.map(self._invoke, calls), strict=True):
                if error:
                    # A relay that was not queued starts none of its batch's workers.
                    self.failures += [Failure(event.account.id, "-", "-", *error) for event in batch]
                    log.error("invoke_failed", function=function, accounts=[e.account.id for e in batch],
                              error=error[0])
        return None

    def _invoke(self, call: tuple[str, bytes, list[WorkerEvent]]) -> tuple[str, str] | None:
        function, payload, _ = call
        return invoke_async(self.client, function, payload)


def invoke_async(client: Any, function: str, payload: bytes) -> tuple[str, str] | None:
    """Queue one asynchronous invocation; None, or (code, message) of why Lambda would not take it."""
    try:
        response = client.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        # The (empty) streamed payload holds its connection until read to the end: unread,
        # every Invoke opened a new connection, and against AWS would pay a TLS handshake.
        response["Payload"].read()
    except Exception as exc:  # botocore already retried; the caller records it and goes on
        return error_of(exc)
    return None


def relay_batches(sizes: list[int], batch: int, limit: int = RELAY_PAYLOAD_LIMIT) -> list[list[int]]:
    """Indexes of events, in order, in batches of equal count (at most ``batch``), split
    further where a batch would pass ``limit`` bytes (``sizes``: each event's JSON length).

    Equal batches, because the run waits for the slowest relay.
    """
    count = -(-len(sizes) // batch)
    bounds = [len(sizes) * k // count for k in range(count + 1)]
    batches: list[list[int]] = []
    for first, end in zip(bounds, bounds[1:], strict=False):
        batches.append([])
        used = 0
        for index in range(first, end):
            if batches[-1] and used + sizes[index] + 2 > limit:
                batches.append([])
                used = 0
            batches[-1].append(index)
            used += sizes[index] + 2  # and its ", "
    return batches
