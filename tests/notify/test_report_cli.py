"""The user's story on moto's server: two runs over a simulated organization, a volume deleted and
another created between them, then `aws-collector report --html`, whose numbers must be the ones
`aws-collector findings --format json` prints; and the command's exit codes."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import boto3
import pytest
from notify_helpers import page_data

from collector_core.cli import main
from collector_core.demo.simulate import seed_organization

pytestmark = pytest.mark.slow
REGION = "us-east-1"


def member_ec2(endpoint: str, account_id: str) -> object:
    creds = boto3.client("sts", endpoint_url=endpoint, region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.client("ec2", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def test_the_page_after_two_runs_says_what_findings_says(
    server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = seed_organization(server_env, accounts=2, regions=[REGION])
    config = tmp_path / "config.yaml"
    config.write_text(f"table: report-e2e\nregions: [{REGION}]\n"
                      f"organization: {{enabled: true, exclude: ['{sim.management}']}}\n")
    assert main(["run", "--config", str(config)]) == 0
    account = sim.accounts[0].id
    ec2 = member_ec2(server_env, account)
    gone = next(e[3] for e in sorted(sim.expected) if e[0] == "unattached_ebs" and e[1] == account)
    ec2.delete_volume(VolumeId=gone)  # type: ignore[attr-defined]
    new = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=5, VolumeType="gp3")["VolumeId"]  # type: ignore[attr-defined]
    assert main(["run", "--config", str(config)]) == 0
    capsys.readouterr()

    page = tmp_path / "report.html"
    assert main(["report", "--config", str(config), "--html", str(page)]) == 0
    said = capsys.readouterr().out
    assert main(["findings", "--config", str(config), "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)

    text = page.read_text()
    data = page_data(text)
    assert said.startswith(f"{page}: aws-collector: {len(findings)} open findings (1 new, 1 resolved); "
                           "2 runs of history; ")
    assert data["totals"] == {"open": len(findings), "new": 1, "resolved": 1, "muted": 0, "incomplete_accounts": 0}
    assert {s["plugin"]: s["open"] for s in data["sections"]} == Counter(f["plugin"] for f in findings)
    shown = {(s["plugin"], data["accounts"][r[0]][0], r[1], r[2]) for s in data["sections"] for r in s["rows"]}
    assert shown == {(f["plugin"], f["account_id"], f["region"], f["resource_id"]) for f in findings}
    assert [r[2] for s in data["sections"] for r in s["rows"] if r[6]] == [new]
    ebs = next(s for s in data["sections"] if s["plugin"] == "unattached_ebs")
    assert ebs["resolved"] == 1 and gone in text[text.index("Resolved since the previous run"):]
    # Both runs are in the history, which no notify section was needed for.
    assert "The last 2 runs" in text
    history_rows = re.findall(r'<tr><th scope="row">[^<]*<span class="id">run ([^<]+)</span>', text)
    assert len(history_rows) == 2 and all(f["run_id"] in history_rows for f in findings)


def test_exit_codes(server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: [{id: '111111111111'}]\nhistory_days: 0\n")
    assert main(["report", "--config", str(bad), "--html", str(tmp_path / "r.html")]) == 2
    assert "history_days: expected whole days, 1 to 3650, got the number 0" in capsys.readouterr().err

    good = tmp_path / "good.yaml"
    good.write_text("table: never-created\naccounts: [{id: '111111111111'}]\n")
    assert main(["report", "--config", str(good), "--html", str(tmp_path / "no" / "such" / "r.html")]) == 2
    assert "expected a file in a folder this user can write to" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["report", "--config", str(good), "--html", str(tmp_path / "r.html"), "--runs", "0"])
    assert usage.value.code == 2

    assert main(["report", "--config", str(good), "--html", str(tmp_path / "r.html")]) == 1
    assert "cannot read the table 'never-created'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*r.html*"))  # nothing half-written is left behind
