"""How the director starts workers: threads in this process, or asynchronous Lambda invocations."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from collector_core.aws import Clients
from collector_core.events import AccountResult, ScanError, WorkerEvent
from collector_core.logs import get_logger
from collector_core.plugins import Registry
from collector_core.store import Store
from collector_core.worker import error_of, run_account


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
        on_run_complete: Callable[[str], None] | None = None,
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


class LambdaInvoker:
    """Invokes the worker function once per account with InvocationType=Event, concurrently."""

    def __init__(self, function_name: str, client: Any, *, concurrency: int = 32) -> None:
        self.function_name = function_name
        self.client = client  # its connection pool should be at least `concurrency`
        self.concurrency = concurrency
        self.failures: list[ScanError] = []

    def invoke(self, events: list[WorkerEvent]) -> None:
        """Queue every event with Lambda; failures to queue are kept in ``failures``."""
        log = get_logger()
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(events)))) as pool:
            for event, error in zip(events, pool.map(self._invoke, events), strict=False):
                if error:
                    self.failures.append(ScanError(event.account.id, "-", "-", *error))
                    log.error("invoke_failed", account=event.account.id, error=error[0])
        return None

    def _invoke(self, event: WorkerEvent) -> tuple[str, str] | None:
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="Event",
                Payload=json.dumps(event.to_dict()).encode(),
            )
            # The (empty) streamed payload holds its connection until read to the end: unread,
            # every Invoke opened a new connection, and against AWS would pay a TLS handshake.
            response["Payload"].read()
        except Exception as exc:  # botocore already retried; record and go on with the others
            return error_of(exc)
        return None
