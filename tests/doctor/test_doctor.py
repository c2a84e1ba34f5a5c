"""`aws-collector doctor` over moto's server: before a first run, everything a run needs is tried
once, and each problem is named (where, which check, why); all well is exit 0, a problem exit 1,
a bad config exit 2."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from doctor_place import Place
from loopback import Listener
from proxy import Call, Rule

from collector_core.cli import main

pytestmark = pytest.mark.slow


def doctor(place: Place, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", "--config", str(place.config), *args])
    return code, capsys.readouterr().out.splitlines()


def problems(lines: list[str]) -> list[str]:
    """The rows of the problem table, whitespace squeezed."""
    at = next(i for i, line in enumerate(lines) if line.startswith("where"))
    return [" ".join(line.split()) for line in lines[at + 1:]]


def test_all_well_exits_0_and_says_what_it_checked(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = doctor(place, capsys)

    assert code == 0, lines
    assert lines[-1] == "aws-collector doctor: all well"
    assert "ok  table doctor-findings: reachable, keys pk and sk" in lines
    # Every permission a call can prove was proven, in both accounts; the rest are said.
    assert "ok  2 accounts checked (2 without a problem), 12 permissions proven by a call" in lines
    assert any(line.startswith("ok  not provable by a call") and "iam:GetAccessKeyLastUsed" in line
               for line in lines)
    assert place.proxy.count(service="ec2", operation="DescribeVolumes") == 2  # one cheap call per account


def test_a_missing_table_is_named(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    place.config.write_text(place.config.read_text().replace("table: doctor-findings", "table: no-such-table"))

    code, lines = doctor(place, capsys)

    assert code == 1
    assert problems(lines) == ["table no-such-table no such table in us-east-1: deploy the stack (serverless.yml "
                               "creates it), or run `aws-collector run` once, which creates it"]


def test_a_role_it_cannot_assume_is_named_and_the_other_account_still_checked(
        place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    def for_sandbox(call: Call) -> bool:
        return "::222222222222:role/" in call.form().get("RoleArn", "")

    place.proxy.add(Rule("error", service="sts", operation="AssumeRole", when=for_sandbox, code="AccessDenied",
                         status=403, message="User is not authorized to perform: sts:AssumeRole"))

    code, lines = doctor(place, capsys)

    assert code == 1
    assert problems(lines) == ["222222222222 sandbox role cannot assume arn:aws:iam::222222222222:role/"
                               "aws-collector-readonly: AccessDenied: User is not authorized to perform: "
                               "sts:AssumeRole"]
    assert "ok  2 accounts checked (1 without a problem), 6 permissions proven by a call" in lines


def test_a_region_not_enabled_in_the_account_is_named(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    place.config.write_text(place.config.read_text().replace("regions: [us-east-1]", "regions: [us-east-1, ap-east-1]"))

    code, lines = doctor(place, capsys, "--account", "111111111111")

    assert code == 1
    assert problems(lines) == ["111111111111 prod region ap-east-1 not enabled in this account (not-opted-in): "
                               "enable it in the account's settings, or leave it out of regions"]


def test_a_missing_permission_is_named_with_the_collectors_that_need_it(
        place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    place.proxy.add(Rule("error", service="ec2", operation="DescribeVolumes", code="UnauthorizedOperation",
                         status=403, message="You are not authorized to perform this operation."))

    code, lines = doctor(place, capsys, "--account", "111111111111")

    assert code == 1
    assert problems(lines) == ["111111111111 prod permission ec2:DescribeVolumes unattached_ebs cannot run: "
                               "UnauthorizedOperation: You are not authorized to perform this operation."]


def test_a_member_role_that_drifted_from_iam_policy_is_named(place: Place, capsys: pytest.CaptureFixture[str]) -> None:
    iam = place.member("222222222222", "iam")
    iam.delete_role_policy(RoleName="aws-collector-readonly", PolicyName="aws-collector-read")  # type: ignore[attr-defined]
    iam.delete_role(RoleName="aws-collector-readonly")  # type: ignore[attr-defined]
    place.deploy_member_role("222222222222", without=("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"))

    code, lines = doctor(place, capsys)

    assert code == 1
    assert problems(lines) == ["222222222222 sandbox member role drifted: lacks iam:GetAccessKeyLastUsed, "
                               "iam:ListAccessKeys; update the StackSet from `aws-collector iam-policy --format "
                               "stackset`"]


def test_channels_a_slack_webhook_that_is_gone_and_an_unverified_sender_are_named(
        place: Place, capsys: pytest.CaptureFixture[str], http_listener: Listener) -> None:
    text = place.config.read_text()
    place.config.write_text(text + f"notify:\n  slack: {{webhook_url: '{http_listener.url}/services/T0/B0/secret'}}\n"
                                   "  email: {sender: 'aws-collector <reports@example.com>', "
                                   "recipients: [a@example.com]}\n")
    http_listener.responses.append((404, {}, "no_service"))

    code, lines = doctor(place, capsys)

    assert code == 1
    assert problems(lines) == [
        "notify.slack webhook the webhook at 127.0.0.1 answered HTTP 404: no_service (removed, or its channel "
        "archived?)",
        "notify.email identity reports@example.com neither reports@example.com nor example.com is verified in SES "
        "in us-east-1: verify one (the stack's sesIdentity must name it too)"]
    [asked] = http_listener.received
    assert asked.body == b"{}" and "secret" not in "\n".join(lines)  # an empty message; the URL never shown

    # A live webhook refuses an empty message without posting it; a verified domain covers its addresses.
    http_listener.responses.append((400, {}, "no_text"))
    boto3.client("ses", endpoint_url=place.endpoint).verify_domain_identity(Domain="example.com")
    code, lines = doctor(place, capsys)
    assert code == 0, lines
    assert "ok  notify.slack: the webhook answered" in lines


def test_a_bad_config_or_an_account_it_does_not_run_is_exit_2(place: Place, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: [{id: '1234'}]\n")
    assert main(["doctor", "--config", str(bad)]) == 2
    assert "accounts[0].id" in capsys.readouterr().err

    assert main(["doctor", "--config", str(place.config), "--account", "333333333333"]) == 2
    assert "--account 333333333333: not an account this config runs" in capsys.readouterr().err
