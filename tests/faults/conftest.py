"""Fixtures for fault injection: a seeded organization on moto's server behind the fault proxy.

Every test here also runs under a leak check: the process's credentials, the external id and a
webhook URL are set to distinctive fake secrets, every structlog line goes to a buffer at debug
level, and after the test none of those secrets, nor any credentials STS handed out through the
proxy, may appear in the logs, in captured output or in a subprocess's output.
"""
from __future__ import annotations

import io
import logging
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import structlog
from botocore.retries.standard import ExponentialBackoff

# The proxy and harness modules live beside this file; tests import them by these unique names.
sys.path.insert(0, str(Path(__file__).parent))

from fault_harness import (  # noqa: E402
    FIGURES,
    REGIONS,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    Faults,
    Leaks,
    direct_client,
)
from proxy import FaultProxy  # noqa: E402

from collector_core import logs  # noqa: E402
from collector_core.demo.simulate import SimulatedOrg, seed_organization  # noqa: E402


@pytest.fixture(autouse=True)
def leaks(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
          capsys: pytest.CaptureFixture[str]) -> Iterator[Leaks]:
    """Distinctive fake secrets for this test, and a check that none of them was logged."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    caplog.set_level(logging.INFO)
    saved = structlog.get_config()
    buffer = io.StringIO()
    logs.configure(json_output=True, level="debug", stream=buffer)
    found = Leaks()
    try:
        yield found
    finally:
        structlog.configure(**saved)
    out, err = capsys.readouterr()
    leaked = found.found("\n".join([buffer.getvalue(), caplog.text, out, err]))
    assert not leaked, f"secrets appeared in logs or output: {leaked}"
    assert buffer.getvalue() or any(found.texts), "no log line was captured: the leak check saw nothing"


_seeded: list[SimulatedOrg] = []


@pytest.fixture
def org(moto_endpoint: str) -> SimulatedOrg:
    """A seeded organization shared by the fault tests (each uses its own table).

    Seeding costs seconds, so it is done once and done again only when another test has reset
    moto since (moto's state is per process, whichever server or mock touched it last).
    """
    if _seeded and _still_seeded(_seeded[0]):
        return _seeded[0]
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    _seeded[:] = [seed_organization(moto_endpoint, accounts=3, regions=REGIONS)]
    return _seeded[0]


def _still_seeded(sim: SimulatedOrg) -> bool:
    volume = next(e for e in sorted(sim.expected) if e[0] == "unattached_ebs")
    sts = direct_client("sts", sim.endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{volume[1]}:role/check",
                            RoleSessionName="check")["Credentials"]
    ec2 = boto3.client("ec2", endpoint_url=sim.endpoint, region_name=volume[2],
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    return bool(ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [volume[3]]}])["Volumes"])


@pytest.fixture
def faults(org: SimulatedOrg, moto_endpoint: str, leaks: Leaks, monkeypatch: pytest.MonkeyPatch,
           request: pytest.FixtureRequest) -> Iterator[Faults]:
    """The proxy in front of moto, with this process's AWS_ENDPOINT_URL pointed at it."""
    # Throttling backoff scaled from 1 s to 50 ms (botocore's own for other errors): the same
    # retries, decided the same way, in a test that takes seconds instead of minutes.
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.05)
    with FaultProxy(moto_endpoint) as proxy:
        leaks.proxies.append(proxy)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield Faults(proxy=proxy, org=org, table=f"faults-{request.node.name[:40]}".replace("[", "-")
                     .replace("]", ""))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, Any]:
    """A place for a test to put what it measured (calls throttled, retries, findings...)."""
    return FIGURES.setdefault(request.node.name, {})


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("fault injection: measured")
        for name, values in FIGURES.items():
            terminalreporter.write_line(f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
