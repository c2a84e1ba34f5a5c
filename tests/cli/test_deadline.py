"""A stalled endpoint ends a command within its --deadline, naming the endpoint: one that accepts
connections and never answers, and one that sends a byte every second (no read ever times out)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import stalled_endpoint

pytestmark = pytest.mark.slow  # each case runs the CLI in a fresh interpreter for a few seconds
#: The command's own start (imports, config, plugins: about 1 s here, three times that on a loaded CI
#: machine) and a real table read must fit in it before the stalled endpoint is reached.
DEADLINE = 5


@pytest.fixture(params=["silent", "trickling"])
def stalled(request: pytest.FixtureRequest) -> Iterator[str]:
    with stalled_endpoint(trickle=None if request.param == "silent" else 1.0) as url:
        yield url


def aws_collector(*args: str, endpoint: str, deadline: float = DEADLINE) -> tuple[subprocess.CompletedProcess[str],
                                                                                   float]:
    """The CLI pointed at ``endpoint`` with a small deadline, and how long it took."""
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "collector_core.cli", *args, "--deadline", f"{deadline:g}"],
                          env=env, capture_output=True, text=True, timeout=120)
    return done, time.monotonic() - started


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text("table: stalled\nregions: [us-east-1]\naccounts: [{id: '111111111111'}]\n")
    return str(path)


@pytest.mark.parametrize(("command", "service"), [
    (["findings"], "dynamodb"),
    (["findings", "--format", "csv"], "dynamodb"),
    (["notify", "--stdout"], "dynamodb"),
    (["run"], "dynamodb"),  # the table check before any account runs
])
def test_a_command_reading_the_table_ends_at_its_deadline_naming_the_endpoint(
    command: list[str], service: str, stalled: str, config: str
) -> None:
    done, seconds = aws_collector(*command, "--config", config, endpoint=stalled)

    assert done.returncode == 1, done.stderr
    assert seconds < DEADLINE + 10
    assert f"aws-collector: gave up after {DEADLINE} s (--deadline) waiting for {service} at {stalled}" \
        in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("source", ["ssm:/collector/config", "s3://configs/config.yaml"])
def test_reading_the_config_from_aws_ends_at_the_deadline(source: str, stalled: str) -> None:
    done, seconds = aws_collector("iam-policy", "--config", source, endpoint=stalled)

    assert done.returncode == 1, done.stderr
    assert seconds < DEADLINE + 10
    assert f"waiting for {source.split(':')[0]} at {stalled}" in done.stderr


def test_a_stalled_slack_webhook_ends_notify_at_its_deadline(server_env: str, config: str) -> None:
    from collector_core.aws.clients import Clients
    from collector_core.store import Store

    Store.open("stalled", Clients()).ensure_table()
    with stalled_endpoint(trickle=1.0) as webhook:
        done, seconds = aws_collector("notify", "--config", config, "--slack-webhook",
                                      f"{webhook}/services/T0/B0/SECRET", endpoint=server_env)

    assert done.returncode == 1, done.stderr
    assert seconds < DEADLINE + 10
    assert f"gave up after {DEADLINE} s (--deadline) waiting for the Slack webhook at 127.0.0.1" in done.stderr
    assert "SECRET" not in done.stderr


def test_a_healthy_endpoint_finishes_well_within_the_deadline(server_env: str, config: str) -> None:
    done, _ = aws_collector("run", "--config", config, endpoint=server_env, deadline=60)
    assert done.returncode == 0, done.stderr
    assert "gave up" not in done.stderr
