"""Fixtures for the metrics tests: a worker's result, and a loopback TCP listener that records what
a Wavefront proxy would receive (HTTP ingestion uses the shared `http_listener`)."""
from __future__ import annotations

import socketserver
from collections.abc import Iterator

import pytest
from loopback import running
from metrics_listeners import Received

from collector_core.collector import Account
from collector_core.results import AccountResult, Failure, Scan


@pytest.fixture
def account_result() -> AccountResult:
    """Two regions of unattached_ebs, a global iam_key_age, one failed scan and an account-level error."""
    account = Account("111111111111", "prod")
    result = AccountResult(
        run_id="20250602T120000Z-abc123",
        account=account,
        regions=["us-east-1", "eu-west-1"],
        scans=[
            Scan("us-east-1", "unattached_ebs", findings=3, api_calls=2, seconds=0.25, ok=True),
            Scan("eu-west-1", "unattached_ebs", findings=0, api_calls=1, seconds=0.5, ok=False),
            Scan("global", "iam_key_age", findings=2, api_calls=4, seconds=1.5, ok=True),
        ],
    )
    for failure in [Failure(account.id, "eu-west-1", "unattached_ebs", "AccessDenied", "no"),
                    Failure(account.id, "eu-west-1", "unattached_ebs", "WriteFailed", "vol-1: throttled"),
                    Failure(account.id, "ap-south-1", "-", "DeadlineExceeded", "stopped")]:
        result.add_failure(failure)
    return result


@pytest.fixture
def tcp_listener() -> Iterator[Received]:
    """A TCP server on 127.0.0.1 that keeps everything each connection sends (a proxy's port 2878)."""
    received = Received()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            received.payloads.append(self.rfile.read())

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with running(server) as port:
        received.url = f"127.0.0.1:{port}"
        yield received
