"""Shared fixtures: fake credentials for every test, moto in-process and moto's server, a loopback
HTTP listener, and structlog reset around every test."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from loopback import Listener, serve_http

from collector_core.plugins import ALLOW_ENV

BUILT_IN_COLLECTORS = "unattached_ebs,iam_key_age,open_security_groups"
BUILT_IN_CHANNELS = "stdout,slack,email,securityhub,html,webhook,teams,s3"
BUILT_INS = f"{BUILT_IN_COLLECTORS},{BUILT_IN_CHANNELS}"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS: fake credentials, a fixed region, no profile."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # The project's own tests see only the built-ins, whatever else is installed in the venv.
    monkeypatch.setenv(ALLOW_ENV, BUILT_INS)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 for the whole session (reset it per test with `moto_reset`)."""
    from collector_core.demo.simulate import moto_server

    with moto_server(environ=False) as url:
        yield url


@pytest.fixture
def moto_reset(moto_endpoint: str) -> str:
    """A clean moto server for this test; returns its URL."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    return moto_endpoint


@pytest.fixture
def server_env(moto_reset: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process's AWS environment pointed at a clean moto server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_reset)
    return moto_reset


@pytest.fixture
def http_listener() -> Iterator[Listener]:
    """An HTTP endpoint on 127.0.0.1 that records every POST (see tests/loopback.py)."""
    with serve_http() as listener:
        yield listener


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """structlog as new: `main()` binds it to whatever stderr was, which pytest closes later."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
