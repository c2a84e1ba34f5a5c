"""Fixtures for the notifier tests: a loopback HTTP listener that records what a webhook would
receive and answers as scripted."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from notify_helpers import Listener, Received


@pytest.fixture
def http_listener() -> Iterator[Listener]:
    """An HTTP server on 127.0.0.1 that records every POST."""
    listener = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            listener.received.append(Received(self.path, dict(self.headers), body))
            status, headers, text = listener.responses.popleft() if listener.responses else (200, {}, "ok")
            data = text.encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    listener.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/SECRETPART"
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """structlog as new: `main()` binds it to whatever stderr was, which pytest closes later."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
