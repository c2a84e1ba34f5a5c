"""The user's story on moto's server: `run` with notify configured reports once at the end, a
second run reports what is new and what was resolved, and `notify` keeps its exit codes."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from loopback import Listener

from collector_core.aws.clients import Clients
from collector_core.cli import main
from collector_core.config.load import load_config
from collector_core.notify.channels import notify_run_complete
from collector_core.plugins import load_plugins
from collector_core.store import Store

pytestmark = pytest.mark.slow
REGION = "us-east-1"


def member_ec2(endpoint: str, account_id: str) -> object:
    creds = boto3.client("sts", endpoint_url=endpoint, region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.client("ec2", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def headlines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("aws-collector: ")]


def test_run_reports_once_at_the_end_then_new_and_resolved_after_a_second_run(
    server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = "210987654321"
    ec2 = member_ec2(server_env, account)
    volumes = [ec2.create_volume(  # type: ignore[attr-defined]
        AvailabilityZone=f"{REGION}a", Size=10 * (i + 1), VolumeType="gp3")["VolumeId"] for i in range(2)]
    group = ec2.create_security_group(GroupName="open-ssh", Description="ssh")["GroupId"]  # type: ignore[attr-defined]
    ec2.authorize_security_group_ingress(  # type: ignore[attr-defined]
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    config = tmp_path / "config.yaml"
    config.write_text(f"table: notify-e2e\nregions: [{REGION}]\naccounts: [{{id: '{account}', name: one}}]\n"
                      "plugins: {iam_key_age: {enabled: false}}\n"
                      "notify: {stdout: true}\nmetrics: {sink: emf, namespace: CollectorTest}\n")
    expected = 3

    assert main(["run", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert headlines(out) == [f"aws-collector: {expected} open findings ({expected} new, 0 resolved)"]
    emf = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    places = {(d["Plugin"], d["Region"]) for d in emf}
    assert places == {("unattached_ebs", REGION), ("open_security_groups", REGION)}
    assert sum(d["Findings"] for d in emf) == expected

    gone = volumes[0]
    ec2.delete_volume(VolumeId=gone)  # type: ignore[attr-defined]
    new = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=5, VolumeType="gp3")["VolumeId"]  # type: ignore[attr-defined]

    assert main(["run", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert headlines(out) == [f"aws-collector: {expected} open findings (1 new, 1 resolved)"]
    report = out[out.index("aws-collector: "):]
    assert f"NEW  low      {new} 5 GiB gp3" in report
    resolved = report[report.index("resolved since the previous run:"):].splitlines()[1]
    assert f"{account} one {REGION}: {gone} " in resolved

    # The run's report was claimed by its last worker: asking again sends nothing.
    registry = load_plugins()
    cfg = load_config(str(config), registry)
    clients = Clients()
    store = Store.open(cfg.table, clients)
    latest = store.runs(1)[0].run_seq
    assert notify_run_complete(latest, cfg.notify, mutes=cfg.mute, registry=registry, store=store,
                               clients=clients) is None

    # `notify` on its own schedule reads the same state and says the same.
    assert main(["notify", "--config", str(config), "--stdout"]) == 0
    out = capsys.readouterr().out
    assert headlines(out) == [f"aws-collector: {expected} open findings (1 new, 1 resolved)"]


def test_notify_exit_codes(server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           http_listener: Listener) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: [{id: '111111111111'}]\n"
                   "notify: {slack: {webhook_url: 'ftp://hooks.example.com/services/T/B/SECRETPART'}}\n")
    assert main(["notify", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "notify.slack.webhook_url: expected an https:// webhook URL" in err
    assert "SECRETPART" not in err

    good = tmp_path / "good.yaml"
    good.write_text("table: notify-codes\naccounts: [{id: '111111111111'}]\n")
    assert main(["notify", "--config", str(good), "--email", "ops@example.com"]) == 2
    assert "--email needs notify.email.sender" in capsys.readouterr().err

    Store.open(load_config(str(good), load_plugins()).table, Clients()).ensure_table()
    assert main(["notify", "--config", str(good), "--stdout"]) == 0
    assert capsys.readouterr().out.startswith("aws-collector: 0 open findings")

    http_listener.responses.append((410, {}, "channel_is_archived"))
    assert main(["notify", "--config", str(good), "--slack-webhook", http_listener.url]) == 1
    err = capsys.readouterr().err
    assert "the report did not reach slack" in err and "HTTP 410: channel_is_archived" in err
    assert "SECRETPART" not in err
