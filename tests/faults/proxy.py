"""A fault-injecting reverse proxy for AWS calls: real HTTP on 127.0.0.1, forwarding to moto.

Point ``AWS_ENDPOINT_URL`` at it and it sees every call the runtime makes. Each request is
identified as (service, region, operation) the way AWS would: the service and region from the
SigV4 credential scope in the Authorization header, the operation from ``X-Amz-Target`` (JSON
protocols: DynamoDB, Organizations) or ``Action=`` in the form body (query protocols: EC2, IAM,
STS). Rules, first match wins, then decide what happens to it:

- ``error``: answer with an AWS error in the service's own wire shape (throttling, denial, ...);
- ``drop``: close the connection without an answer (an endpoint that does not answer);
- ``hang``: hold the request without answering until ``seconds`` pass or the proxy stops;
- ``unprocessed``: forward only part of a BatchWriteItem and return the rest as UnprocessedItems.

Everything the proxy did is counted, and the temporary credentials STS handed out are kept, so
tests can check they never reach a log.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import math
import random
import re
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_STS_SECRETS = re.compile(r"<(SecretAccessKey|SessionToken)>([^<]+)</")
_DYNAMODB_PREFIX = "com.amazonaws.dynamodb.v20120810#"
# Hop-by-hop headers the proxy must not copy; the body length is set anew.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


@dataclass(frozen=True)
class Call:
    """One request as AWS would name it."""

    service: str
    region: str
    operation: str
    access_key: str
    body: bytes

    @property
    def protocol(self) -> str:
        """json, ec2 or query: decides the shape of an error response."""
        if self.service == "ec2":
            return "ec2"
        return "query" if self.service in ("iam", "sts") else "json"

    def form(self) -> dict[str, str]:
        """The query-protocol parameters of the request."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode(errors="replace")).items()}


@dataclass
class Rule:
    """What to do with the requests a rule matches; None in a filter matches anything."""

    action: str  # error | drop | hang | unprocessed
    service: str | None = None
    region: str | None = None
    operation: str | None = None
    when: Callable[[Call], bool] | None = None
    rate: float = 1.0  # fraction of matching requests the rule applies to (seeded, repeatable)
    # One request (same caller, same body) is refused at most this often in a row.
    max_in_a_row: int | None = None
    after: int = 0  # let this many matching requests through first
    code: str | None = None  # for "error": the AWS error code, else a throttling code for the service
    status: int | None = None
    message: str = "injected by the fault proxy"
    seconds: float = 60.0  # for "hang"
    keep: float = 0.5  # for "unprocessed": the fraction of each batch forwarded (rounded up)
    hold: Callable[[dict[str, Any]], bool] | None = None  # for "unprocessed": items never forwarded
    seed: int = 7
    matched: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _streaks: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def applies(self, call: Call) -> bool:
        """Whether this rule takes the call (updates its counters; call under the proxy's lock)."""
        if (self.service not in (None, call.service) or self.region not in (None, call.region)
                or self.operation not in (None, call.operation)
                or (self.when is not None and not self.when(call))):
            return False
        self.matched += 1
        if self.matched <= self.after or self._rng.random() >= self.rate:
            return False
        if self.max_in_a_row is not None:
            key = hashlib.sha1(b"|".join([call.access_key.encode(), call.region.encode(),
                                          call.operation.encode(), call.body])).hexdigest()
            if self._streaks.get(key, 0) >= self.max_in_a_row:
                self._streaks.pop(key)
                return False
            self._streaks[key] = self._streaks.get(key, 0) + 1
        return True


class FaultProxy:
    """The proxy server; use as a context manager or call start() and stop()."""

    def __init__(self, upstream: str) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.rules: list[Rule] = []
        self.counts: Counter[tuple[str, str, str, str]] = Counter()  # (service, region, operation, outcome)
        self.secrets: set[str] = set()  # credentials STS handed out through the proxy
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="fault-proxy")

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Release hung requests and stop serving."""
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, rule: Rule) -> Rule:
        """Add a rule (after those already there) and return it."""
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule; counts stay."""
        with self.lock:
            self.rules.clear()

    def count(self, *, service: str | None = None, region: str | None = None,
              operation: str | None = None, outcome: str | None = None) -> int:
        """How many requests matched the given names and outcome."""
        with self.lock:
            return sum(n for (s, r, o, out), n in self.counts.items()
                       if service in (None, s) and region in (None, r)
                       and operation in (None, o) and outcome in (None, out))

    @contextmanager
    def rules_off(self) -> Iterator[None]:
        """Let everything through for a while (e.g. to verify the table directly)."""
        with self.lock:
            saved, self.rules = self.rules, []
        try:
            yield
        finally:
            with self.lock:
                self.rules = saved + self.rules

    # -- serving ----------------------------------------------------------------------------
    def decide(self, call: Call) -> Rule | None:
        """The first rule that takes the call, if any."""
        with self.lock:
            return next((rule for rule in self.rules if rule.applies(call)), None)

    def record(self, call: Call, outcome: str) -> None:
        """Count a request's outcome."""
        with self.lock:
            self.counts[(call.service, call.region, call.operation, outcome)] += 1

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request to moto and return (status, headers, body)."""
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP], resp.read()
        finally:
            conn.close()


def error_response(call: Call, code: str, status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    """An AWS error in the wire shape of the call's protocol."""
    request_id = str(uuid.uuid4())
    if call.protocol == "json":
        typ = f"{_DYNAMODB_PREFIX}{code}" if call.service == "dynamodb" else code
        body = json.dumps({"__type": typ, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": request_id}, body
    if call.protocol == "ec2":
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
               f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    else:
        xml = (f'<ErrorResponse xmlns="https://{call.service}.amazonaws.com/doc/"><Error><Type>Sender</Type>'
               f"<Code>{code}</Code><Message>{message}</Message></Error>"
               f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()


def throttling(call: Call) -> tuple[str, int]:
    """The throttling error code and status each protocol really uses."""
    if call.service == "dynamodb":
        return "ThrottlingException", 400
    if call.protocol == "ec2":
        return "RequestLimitExceeded", 503
    if call.protocol == "query":
        return "Throttling", 400
    return "TooManyRequestsException", 400


def parse_call(headers: Any, body: bytes) -> Call:
    """Name a request by its SigV4 credential scope and its operation."""
    scope = _SCOPE.search(headers.get("Authorization", ""))
    access_key, region, service = scope.groups() if scope else ("", "-", "-")
    target = headers.get("X-Amz-Target")
    if target:
        operation = target.rpartition(".")[2]
    else:
        action = urllib.parse.parse_qs(body.decode(errors="replace")).get("Action")
        operation = action[0] if action else "-"
    return Call(service, region, operation, access_key, body)


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

        def log_message(self, *_: Any) -> None:  # silent: tests read the counts instead
            pass

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            call = parse_call(self.headers, body)
            rule = proxy.decide(call)
            action = rule.action if rule else "forward"
            if action == "drop":
                proxy.record(call, "dropped")
                self.close_connection = True
                return
            if action == "hang":
                proxy.record(call, "hung")
                proxy.stopping.wait(rule.seconds if rule else 0)
                self.close_connection = True
                return
            if action == "error" and rule is not None:
                code, status = (rule.code, rule.status or 400) if rule.code else throttling(call)
                outcome = "throttled" if rule.code is None else f"error:{code}"
                proxy.record(call, outcome)
                self._reply(*error_response(call, code, status, rule.message))
                return
            if action == "unprocessed" and rule is not None and call.operation == "BatchWriteItem":
                self._unprocessed(call, rule, body)
                return
            self._forward(call, body)

        def _forward(self, call: Call, body: bytes, outcome: str = "forwarded") -> bytes:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            status, resp_headers, resp_body = proxy.forward(self.command, self.path, headers, body)
            if call.operation == "AssumeRole":
                with proxy.lock:
                    handed_out = _STS_SECRETS.findall(resp_body.decode(errors="replace"))
                    proxy.secrets.update(v for _, v in handed_out)
            proxy.record(call, outcome)
            self._reply(status, dict(resp_headers), resp_body)
            return resp_body

        def _unprocessed(self, call: Call, rule: Rule, body: bytes) -> None:
            request = json.loads(body)
            forwarded: dict[str, list[Any]] = {}
            unprocessed: dict[str, list[Any]] = {}
            for table, writes in request["RequestItems"].items():
                held = [w for w in writes if rule.hold and rule.hold(_item_of(w))]
                rest = [w for w in writes if w not in held]
                cut = math.ceil(len(rest) * rule.keep)
                if rest[:cut]:
                    forwarded[table] = rest[:cut]
                if held or rest[cut:]:
                    unprocessed[table] = held + rest[cut:]
            if not forwarded:  # DynamoDB refuses an empty batch: answer for it
                proxy.record(call, "unprocessed")
                self._reply(200, {"Content-Type": "application/x-amz-json-1.0"},
                            json.dumps({"UnprocessedItems": unprocessed}).encode())
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            new_body = json.dumps({**request, "RequestItems": forwarded}).encode()
            status, resp_headers, resp_body = proxy.forward(self.command, self.path, headers, new_body)
            if status == 200:
                answer = json.loads(resp_body)
                for table, writes in unprocessed.items():
                    answer.setdefault("UnprocessedItems", {}).setdefault(table, []).extend(writes)
                resp_body = json.dumps(answer).encode()
            proxy.record(call, "partial" if unprocessed else "forwarded")
            self._reply(status, {k: v for k, v in resp_headers if k.lower() != "x-amz-crc32"}, resp_body)

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("server", "date"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def _item_of(write: dict[str, Any]) -> dict[str, Any]:
    """The plain string attributes of a PutRequest (enough to match on keys)."""
    item = write.get("PutRequest", {}).get("Item", {})
    return {k: next(iter(v.values())) for k, v in item.items()}
