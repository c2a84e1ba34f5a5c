"""A loopback HTTP endpoint for the tests of Slack, Teams, the signed webhook, Wavefront and Lambda's
Invoke: it records every POST and answers as scripted (or as its ``receiver`` decides, as a real
receiver checking signatures would), so the tests see exactly what would have left the machine. It
speaks HTTP/1.1 and keeps connections alive, as AWS's endpoints do, and counts the connections it got."""
from __future__ import annotations

import json
import socketserver
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    """One request the listener got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], str]


@dataclass
class Listener:
    """Records requests, answers from `responses` (status, headers, body) then 200 "ok"; a
    `receiver` may answer a request first (None: let `responses` answer)."""

    url: str = ""
    connections: int = 0
    received: list[Request] = field(default_factory=list)
    responses: deque[Answer] = field(default_factory=deque)
    receiver: Callable[[Request], Answer | None] | None = None


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[int]:
    """Serve on a daemon thread for the length of the block; yields the port."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server.server_address[1]  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_http() -> Iterator[Listener]:
    """A listener on 127.0.0.1 at a free port, for the length of the block."""
    listener = Listener()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            listener.connections += 1

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Request(self.path, dict(self.headers), body)
            listener.received.append(request)
            answer = listener.receiver(request) if listener.receiver else None
            if answer is None:
                answer = listener.responses.popleft() if listener.responses else (200, {}, "ok")
            status, headers, text = answer
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
    server.daemon_threads = True  # a client's idle kept-alive connection must not block shutdown
    with running(server) as port:
        listener.url = f"http://127.0.0.1:{port}"
        yield listener


@contextmanager
def stalled_endpoint(trickle: float | None = None) -> Iterator[str]:
    """A TCP endpoint on 127.0.0.1 that accepts connections and never completes an answer: silent,
    or (``trickle`` seconds) sending one byte of an HTTP response at a time, so that no read ever
    times out. Yields its URL."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n" * 1000
            for byte in answer:
                if stop.wait(trickle if trickle else 3600):
                    return
                try:
                    self.request.sendall(bytes([byte]))
                except OSError:  # the client gave up
                    return

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    try:
        with running(server) as port:
            yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
