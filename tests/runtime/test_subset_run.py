"""A subset run on moto's server: after a full run, a user re-runs one collector in one account and
region. What that scan no longer sees is resolved; everything it did not scan (another account,
another collector of the same account, another region) stays open, even where the resource is
gone too, until a run scans it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.demo.simulate import seed_organization
from collector_core.store import Store

pytestmark = pytest.mark.slow
REGIONS = ["us-east-1", "eu-west-1"]


def member(endpoint: str, account_id: str, service: str, region: str) -> Any:
    creds = boto3.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def current(config: Path, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, str, str, str]]:
    assert main(["findings", "--config", str(config), "--format", "json"]) == 0
    return {(f["plugin"], f["account_id"], f["region"], f["resource_id"]) for f in json.loads(capsys.readouterr().out)}


def test_a_subset_run_resolves_only_what_it_scanned(server_env: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sim = seed_organization(server_env, accounts=2, regions=REGIONS)
    one, other = (a.id for a in sim.accounts)
    config = tmp_path / "config.yaml"
    config.write_text(f"table: subset-e2e\nregions: [{', '.join(REGIONS)}]\n"
                      f"organization: {{enabled: true, exclude: ['{sim.management}']}}\n")
    assert main(["run", "--config", str(config)]) == 0
    capsys.readouterr()
    assert current(config, capsys) == sim.expected

    def seeded(plugin: str, account: str, region: str) -> str:
        return sorted(e[3] for e in sim.expected if e[:3] == (plugin, account, region))[0]

    # Gone everywhere: one volume in each account and region, and one open group in the first account.
    gone = {(plugin, account, region, seeded(plugin, account, region))
            for plugin, account, region in [("unattached_ebs", one, "us-east-1"), ("unattached_ebs", one, "eu-west-1"),
                                            ("unattached_ebs", other, "us-east-1"),
                                            ("open_security_groups", one, "us-east-1")]}
    for plugin, account, region, resource in gone:
        ec2 = member(server_env, account, "ec2", region)
        if plugin == "unattached_ebs":
            ec2.delete_volume(VolumeId=resource)
        else:
            ec2.delete_security_group(GroupId=resource)

    assert main(["run", "--config", str(config), "--account", one, "--plugin", "unattached_ebs",
                 "--region", "us-east-1"]) == 0

    summary = capsys.readouterr().out
    assert "1 accounts, 1 regions" in summary
    assert f"subset run: --account {one} --plugin unattached_ebs --region us-east-1" in summary
    resolved = {("unattached_ebs", one, "us-east-1", seeded("unattached_ebs", one, "us-east-1"))}
    assert current(config, capsys) == sim.expected - resolved  # the other three stay open: not scanned
    latest = Store.open("subset-e2e", Clients()).runs(limit=1)[0]
    assert latest.accounts == (one,)  # the run waits for, and reports on, the subset's account only

    assert main(["run", "--config", str(config)]) == 0  # a full run settles the rest
    capsys.readouterr()
    assert current(config, capsys) == sim.expected - gone


def test_a_filter_that_selects_nothing_exits_2_before_anything_runs(
        server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("table: subset-refused\nregions: [us-east-1]\n"
                      "accounts: [{id: '111111111111', name: prod, plugins: {unattached_ebs: {enabled: false}}}]\n")

    assert main(["run", "--config", str(config), "--plugin", "nope", "--region", "moon-1"]) == 2
    err = capsys.readouterr().err
    assert "--plugin nope: no such collector" in err and "--region moon-1: not a region name" in err
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []  # refused before the table

    assert main(["run", "--config", str(config), "--account", "111111111111", "--plugin", "unattached_ebs"]) == 2
    assert "--plugin unattached_ebs: not enabled for the selected accounts" in capsys.readouterr().err
    assert Store.open("subset-refused", Clients()).runs(limit=1) == []  # no run recorded
