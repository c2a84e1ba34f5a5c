"""A simulated AWS over real HTTP on 127.0.0.1: moto's server app behind a middleware that sleeps.

Every request waits ``latency`` seconds before moto handles it, so the collector pays a fixed
round trip per call as it would against AWS. Lambda's asynchronous Invoke (``InvocationType=Event``)
is answered here, as AWS does, with 202 after ``invoke_latency``; the payload is handed to
``on_invoke`` so a benchmark can start the worker the way Lambda would.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from collector_core.simulate import FAKE_CREDENTIALS

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
Invoked = Callable[[str, bytes], None]


class LatencyMiddleware:
    """WSGI middleware: a fixed delay per AWS request, and Lambda's async Invoke answered here."""

    def __init__(self, app: Any, *, latency: float = 0.0, invoke_latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency
        self.invoke_latency = invoke_latency
        self.on_invoke: Invoked | None = None
        self.requests = 0
        self.invocations = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):  # the harness's own control calls: no AWS round trip
            return self.app(environ, start_response)
        match = INVOKE_PATH.match(path)
        if match and environ.get("REQUEST_METHOD") == "POST" \
                and environ.get("HTTP_X_AMZ_INVOCATION_TYPE") == "Event":
            time.sleep(self.invoke_latency)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            with self._lock:
                self.invocations += 1
            if self.on_invoke is not None:
                self.on_invoke(match["name"], body)
            start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", "0")])
            return [b""]
        with self._lock:
            self.requests += 1
        time.sleep(self.latency)
        return self.app(environ, start_response)


@contextmanager
def simulated_aws(*, latency: float = 0.0) -> Iterator[tuple[str, LatencyMiddleware]]:
    """Start moto behind the latency middleware on a free port; point this process's AWS env at it."""
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # halves first-touch time
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it logs every request otherwise
    middleware = LatencyMiddleware(DomainDispatcherApplication(create_backend_app), latency=latency)
    # werkzeug closes every connection after its response: each call pays a new TCP connection,
    # which AWS (keep-alive) would not charge. The bias is against the code measured.
    server = make_server("127.0.0.1", 0, middleware, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="simulated-aws")
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    names = (*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(FAKE_CREDENTIALS, AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_REGION", None)
    try:
        yield url, middleware
    finally:
        server.shutdown()
        thread.join()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
