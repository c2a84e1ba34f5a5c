"""A simulated AWS over real HTTP on 127.0.0.1: moto's server app behind a middleware that sleeps.

Every request waits ``latency`` seconds before moto handles it, so the collector pays a fixed
round trip per call as it would against AWS. Lambda's asynchronous Invoke (``InvocationType=Event``)
is answered on a listener of its own (``AWS_ENDPOINT_URL_LAMBDA``), as AWS does, with 202 after
``invoke_latency``; the payload is handed to ``on_invoke`` so a benchmark can start the worker the
way Lambda would. That listener keeps connections alive, as AWS's endpoints do: werkzeug closes
every connection, and a new TCP connection and server thread per Invoke cost this machine about
as much CPU as the director's own work, charging the harness's overhead to the director.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from collector_core.demo.simulate import FAKE_CREDENTIALS

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
Invoked = Callable[[str, bytes], None]
WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class LatencyMiddleware:
    """WSGI middleware: a fixed delay per AWS request; Lambda's async Invoke is `invoke`."""

    def __init__(self, app: Any, *, latency: float = 0.0, invoke_latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency
        self.invoke_latency = invoke_latency
        self.on_invoke: Invoked | None = None
        self.requests = 0
        self.dynamodb: Counter[str] = Counter()  # DynamoDB requests by action (X-Amz-Target)
        self.invocations = 0
        self.served: list[tuple[float, float]] = []  # (arrival, CPU seconds) of each request served
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):  # the harness's own control calls: no AWS round trip
            return self.app(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        with self._lock:
            self.requests += 1
            if target.startswith("DynamoDB_"):
                self.dynamodb[target.split(".", 1)[-1]] += 1
        time.sleep(self.latency)
        arrived, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.app(environ, start_response)
        finally:  # what serving it cost this process, to tell the simulator's CPU from the client's
            with self._lock:
                self.served.append((arrived, time.thread_time() - cpu))

    def writes(self) -> int:
        """DynamoDB write requests served so far (each a request, whatever it holds)."""
        with self._lock:
            return sum(n for action, n in self.dynamodb.items() if action in WRITE_ACTIONS)

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds moto spent on requests that arrived between two time.perf_counter() values
        (the same clock in every process on this machine)."""
        with self._lock:
            return sum(cpu for arrived, cpu in self.served if start <= arrived <= end)

    def invoke(self, function: str, payload: bytes) -> None:
        """Lambda's async Invoke: queued after ``invoke_latency``, the worker started by ``on_invoke``."""
        time.sleep(self.invoke_latency)
        with self._lock:
            self.invocations += 1
        if self.on_invoke is not None:
            self.on_invoke(function, payload)


def invoke_server(middleware: LatencyMiddleware) -> ThreadingHTTPServer:
    """Lambda's Invoke endpoint on 127.0.0.1, HTTP/1.1 with keep-alive; anything else is a 404."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = INVOKE_PATH.match(self.path)
            if match and self.headers.get("X-Amz-Invocation-Type") == "Event":
                middleware.invoke(match["name"], body)
                self.send_response(202)
            else:
                self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@contextmanager
def simulated_aws(*, latency: float = 0.0) -> Iterator[tuple[str, LatencyMiddleware]]:
    """Start moto behind the latency middleware on a free port; point this process's AWS env at it."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no AMI catalogue per region: docs/performance.md
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it logs every request otherwise
    middleware = LatencyMiddleware(DomainDispatcherApplication(create_backend_app), latency=latency)
    # werkzeug closes every connection after its response: each call pays a new TCP connection,
    # which AWS (keep-alive) would not charge. The bias is against the code measured; the Invoke
    # listener, which the fan-out's thousand calls hit, keeps its connections.
    server = make_server("127.0.0.1", 0, middleware, threaded=True, request_handler=MotoRequestHandler)
    invokes = invoke_server(middleware)
    threads = [threading.Thread(target=s.serve_forever, daemon=True, name=f"simulated-{name}")
               for s, name in ((server, "aws"), (invokes, "lambda"))]
    for thread in threads:
        thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    names = (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_DEFAULT_REGION",
             "AWS_REGION")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{invokes.server_address[1]}")
    os.environ.pop("AWS_REGION", None)
    try:
        yield url, middleware
    finally:
        for each, thread in zip((server, invokes), threads, strict=True):
            each.shutdown()
            each.server_close()
            thread.join()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
