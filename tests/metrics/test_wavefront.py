"""Wavefront: the proxy line protocol over TCP and HTTP, and direct ingestion with a token, as
listeners on 127.0.0.1 receive them; a sink that fails never fails the run."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import structlog
from loopback import Listener
from metrics_listeners import Received, emit

from collector_core import logs
from collector_core.results import AccountResult

NOW = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
LINE = re.compile(r'^(?P<name>[\w.\-/,]+) (?P<value>-?[0-9.]+(e-?[0-9]+)?) (?P<ts>[0-9]+) '
                  r'source=(?P<source>[\w.\-]+)'
                  r'(?P<tags>( [\w.\-]+="(?:[^"\\]|\\.)*")*)$')


def parse(payload: bytes) -> list[dict[str, str]]:
    rows = []
    for line in payload.decode().splitlines():
        match = LINE.match(line)
        assert match, f"not a Wavefront line: {line!r}"
        tags = dict(re.findall(r'([\w.\-]+)="((?:[^"\\]|\\.)*)"', match["tags"]))
        rows.append({**match.groupdict(), **tags})
    return rows


def test_a_proxy_over_tcp_receives_one_line_per_metric(
    account_result: AccountResult, tcp_listener: Received
) -> None:
    settings = {"sink": "wavefront", "wavefront": {"proxy": tcp_listener.url}}
    failures = emit([account_result], settings, now=NOW)
    assert failures == []
    (payload,) = tcp_listener.wait_for_payloads(1)
    rows = parse(payload)
    assert len(rows) == 4 * 4  # four places, four metrics each
    assert {r["ts"] for r in rows} == {str(int(NOW.timestamp()))}
    assert {r["source"] for r in rows} == {"aws-collector"}
    place = ("unattached_ebs", "us-east-1")
    ebs = {r["name"]: r["value"] for r in rows if (r["plugin"], r["region"]) == place}
    assert ebs == {"aws_collector.findings": "3", "aws_collector.errors": "0",
                   "aws_collector.duration": "0.25", "aws_collector.api_calls": "2"}
    assert {r["account"] for r in rows} == {"111111111111"}


def test_direct_ingestion_posts_with_the_token_from_the_environment(
    account_result: AccountResult, http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WF_TOKEN", "s3cr3t-token")
    settings = {"sink": "wavefront",
                "wavefront": {"url": http_listener.url, "token_env": "WF_TOKEN", "source": "collector prod"}}
    assert emit([account_result], settings, now=NOW) == []

    (request,) = http_listener.received
    assert request.path == "/report?f=wavefront"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    rows = parse(request.body)
    assert len(rows) == 16 and {r["source"] for r in rows} == {"collector_prod"}


def test_a_proxy_over_http_needs_no_token(account_result: AccountResult, http_listener: Listener) -> None:
    settings = {"sink": "wavefront", "wavefront": {"url": http_listener.url}}
    assert emit([account_result], settings, now=NOW) == []
    (request,) = http_listener.received
    assert "Authorization" not in request.headers
    assert len(parse(request.body)) == 16


def test_a_failing_sink_is_reported_and_the_others_still_send(
    account_result: AccountResult, http_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WF_TOKEN", "s3cr3t-token")
    http_listener.responses.append((401, {}, ""))
    emf = io.StringIO()
    log = io.StringIO()
    logs.configure(json_output=True, stream=log)
    try:
        failures = emit([account_result],
                        {"sink": ["wavefront", "emf"],
                         "wavefront": {"url": http_listener.url, "token_env": "WF_TOKEN"}},
                        stream=emf, now=NOW)
    finally:
        structlog.reset_defaults()
    (failure,) = failures
    assert failure.startswith("wavefront: RuntimeError: Wavefront at 127.0.0.1 answered HTTP 401")
    assert len(emf.getvalue().splitlines()) == 4
    assert "metrics_failed" in log.getvalue() and "s3cr3t-token" not in log.getvalue()


def test_an_unreachable_proxy_or_a_missing_token_never_raises(
    account_result: AccountResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    assert emit([account_result], {"sink": "wavefront", "wavefront": {"proxy": "127.0.0.1:9"}}, now=NOW)[0] \
        .startswith("wavefront: ConnectionRefusedError")
    (failure,) = emit([account_result], {"sink": "wavefront", "wavefront": {
        "url": "http://127.0.0.1:9", "token_env": "NO_SUCH_TOKEN"}}, now=NOW)
    assert "environment variable NO_SUCH_TOKEN is not set" in failure
