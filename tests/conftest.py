"""Shared fixtures: the plugin kit's fake credentials for every test (collector_core.testing, which
also gives `mocked_aws`, moto in-process), moto's server, a loopback HTTP listener, and structlog
reset around every test. The moto environment is set up here and in the kit, nowhere else."""
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
def aws_environment(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS: the kit's fake credentials and region for every test, plus what
    this suite adds to them."""
    # It would override the account that assumed-role credentials belong to.
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # no AMI catalogue per region: docs/performance.md
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
