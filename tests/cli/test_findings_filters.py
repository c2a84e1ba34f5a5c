"""`findings --region` and `--severity`: a user narrows the current findings to one region (reading
only that region's part of each account) or to a severity and above."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.collector import SEVERITIES
from collector_core.demo.simulate import seed_organization
from collector_core.store import Store
from collector_core.testing import fake_aws_environment

pytestmark = pytest.mark.slow
REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture(scope="module")
def seeded(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run over two seeded accounts in two regions, for every test here: (the config, the endpoint)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST"))
    config = tmp_path_factory.mktemp("filters") / "config.yaml"
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(io.StringIO()):
        fake_aws_environment(env)  # the suite's own is set per test, after this module's fixture
        env.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        sim = seed_organization(moto_endpoint, accounts=2, regions=REGIONS)
        config.write_text(f"table: filters-e2e\nregions: [{', '.join(REGIONS)}]\n"
                          f"organization: {{enabled: true, exclude: ['{sim.management}']}}\n")
        assert main(["run", "--config", str(config)]) == 0
    return config, moto_endpoint


@pytest.fixture
def collected(seeded: tuple[Path, str], monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[dict]]:
    """(the config, every current finding), with this test's AWS environment on the seeded server."""
    config, endpoint = seeded
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    return config, findings(config, capsys)


def findings(config: Path, capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, Any]]:
    assert main(["findings", "--config", str(config), "--format", "json", *options]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("region", ["eu-west-1", "global"])
def test_region_shows_that_region_only(region: str, collected: tuple[Path, list[dict]],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config, everything = collected

    shown = findings(config, capsys, "--region", region)

    assert shown and shown == [f for f in everything if f["region"] == region]


@pytest.mark.parametrize("severity", ["low", "medium", "high"])
def test_severity_shows_that_level_and_above(severity: str, collected: tuple[Path, list[dict]],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config, everything = collected
    assert {f["severity"] for f in everything} >= {"low", "medium", "high"}  # the seed has each

    shown = findings(config, capsys, "--severity", severity)

    at_least = SEVERITIES[SEVERITIES.index(severity):]
    assert shown and shown == [f for f in everything if f["severity"] in at_least]


def test_filters_combine(collected: tuple[Path, list[dict]], capsys: pytest.CaptureFixture[str]) -> None:
    config, everything = collected
    account = everything[0]["account_id"]

    shown = findings(config, capsys, "--account", account, "--region", "us-east-1", "--severity", "high",
                     "--plugin", "open_security_groups")

    assert shown and shown == [f for f in everything if f["account_id"] == account and f["region"] == "us-east-1"
                               and f["severity"] in ("high", "critical") and f["plugin"] == "open_security_groups"]


def test_a_region_filter_reads_only_that_regions_range(collected: tuple[Path, list[dict]]) -> None:
    _, everything = collected
    account = everything[0]["account_id"]
    clients = Clients()
    store = Store.open("filters-e2e", clients)
    asked: list[str] = []
    store._client.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: asked.append(params["ExpressionAttributeValues"][":prefix"]["S"]))

    state = store.account_state(account, region="eu-west-1")
    read = list(state.findings)

    assert asked == ["R#", "F#eu-west-1#"]  # the attempts and the region's findings, nothing else
    assert {s.finding["region"] for s in read} == {"eu-west-1"}
    assert len(read) == len([f for f in everything if f["account_id"] == account
                                       and f["region"] == "eu-west-1"])
