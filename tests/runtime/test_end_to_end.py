"""The user's story over real HTTP: a simulated organization, `aws-collector run` as a subprocess,
the findings checked against what was seeded; then a re-run that must not duplicate anything."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector_core.demo.simulate import seed_organization

pytestmark = pytest.mark.slow
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def cli(*args: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run([sys.executable, "-m", "collector_core.cli", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def findings(config: Path, endpoint: str) -> list[dict]:
    out = cli("findings", "--config", str(config), "--format", "json", endpoint=endpoint)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_run_finds_exactly_what_was_seeded_and_reruns_overwrite(moto_reset: str, tmp_path: Path) -> None:
    sim = seed_organization(moto_reset, accounts=3, regions=REGIONS)
    config = tmp_path / "config.yaml"
    config.write_text(
        "table: e2e-findings\n"
        f"regions: [{', '.join(REGIONS)}]\n"
        "organization: {enabled: true, exclude: ['%s']}\n" % sim.management
    )

    first = cli("run", "--config", str(config), endpoint=moto_reset)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 accounts, 3 regions" in first.stdout
    found = findings(config, moto_reset)
    seen = {(f["plugin"], f["account_id"], f["region"], f["resource_id"]) for f in found}
    assert seen == sim.expected  # nothing missing, nothing extra
    assert len(found) == len(seen)
    names = {a.id: a.name for a in sim.accounts}
    for f in found:
        assert f["account_name"] == names[f["account_id"]]
        assert set(f) == {"plugin", "account_id", "account_name", "region", "resource_id", "severity",
                          "summary", "details", "tags", "run_id", "first_seen", "last_seen", "ttl"}
    first_seen = {f["resource_id"]: f["first_seen"] for f in found}
    first_run = found[0]["run_id"]

    second = cli("run", "--config", str(config), endpoint=moto_reset)
    assert second.returncode == 0, second.stdout + second.stderr
    again = findings(config, moto_reset)
    assert len(again) == len(found)
    assert {f["resource_id"]: f["first_seen"] for f in again} == first_seen
    assert {f["run_id"] for f in again} != {first_run}


def test_findings_filters_and_formats(moto_reset: str, tmp_path: Path) -> None:
    sim = seed_organization(moto_reset, accounts=2, regions=REGIONS[:1])
    config = tmp_path / "config.yaml"
    account = sim.accounts[0].id
    config.write_text(f'table: e2e-formats\nregions: [us-east-1]\naccounts: [{{id: "{account}", name: one}}]\n')
    assert cli("run", "--config", str(config), endpoint=moto_reset).returncode == 0

    only_sg = cli("findings", "--config", str(config), "--plugin", "open_security_groups",
                  "--format", "json", endpoint=moto_reset)
    rows = json.loads(only_sg.stdout)
    assert rows and {r["plugin"] for r in rows} == {"open_security_groups"}
    expected_sg = {e[3] for e in sim.expected if e[0] == "open_security_groups" and e[1] == account}
    assert {r["resource_id"] for r in rows} == expected_sg

    csv_out = cli("findings", "--config", str(config), "--format", "csv", endpoint=moto_reset).stdout
    header, *lines = csv_out.strip().splitlines()
    assert header.split(",")[:3] == ["plugin", "account_id", "account_name"]
    assert len(lines) == len([e for e in sim.expected if e[1] == account])

    table = cli("findings", "--config", str(config), "--account", "000000000000", endpoint=moto_reset).stdout
    assert table.strip().endswith("0 findings")


def test_a_deleted_volume_is_resolved_and_leaves_the_findings(moto_reset: str, tmp_path: Path) -> None:
    import boto3

    sim = seed_organization(moto_reset, accounts=1, regions=REGIONS[:1])
    account = sim.accounts[0].id
    config = tmp_path / "config.yaml"
    config.write_text(f'table: e2e-resolve\nregions: [us-east-1]\naccounts: [{{id: "{account}", name: one}}]\n')
    assert cli("run", "--config", str(config), endpoint=moto_reset).returncode == 0
    volumes = sorted(e[3] for e in sim.expected if e[0] == "unattached_ebs")

    creds = boto3.client("sts", endpoint_url=moto_reset).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="test")["Credentials"]
    ec2 = boto3.client("ec2", endpoint_url=moto_reset, region_name="us-east-1",
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    ec2.delete_volume(VolumeId=volumes[0])
    assert cli("run", "--config", str(config), endpoint=moto_reset).returncode == 0
    left = {f["resource_id"] for f in findings(config, moto_reset) if f["plugin"] == "unattached_ebs"}
    assert left == set(volumes[1:])  # the deleted volume is resolved, the others stay


def test_bad_config_exits_2_and_runs_nothing(moto_reset: str, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text('accounts: [{id: "12345", name: x}]\nplugins: {nope: {}}\n')
    out = cli("run", "--config", str(config), endpoint=moto_reset)
    assert out.returncode == 2
    assert f"{config}: accounts[0].id: expected a 12-digit account id" in out.stderr
    assert f"{config}: plugins.nope: unknown plugin 'nope'" in out.stderr
    import boto3

    assert boto3.client("dynamodb", endpoint_url=moto_reset).list_tables()["TableNames"] == []
