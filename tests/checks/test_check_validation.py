"""Every problem with a check stops the run before anything runs (exit 2), naming the file, the
check and the key: in a config (`run`), and in a file of checks (`checks validate`)."""
from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from collector_core.cli import main

GOOD = {"summary": "Elastic IPs", "call": "ec2.describe_addresses", "select": "Addresses[?AssociationId == null]",
        "id": "AllocationId", "message": "Elastic IP {PublicIp} is free"}


def body(**changes: object) -> str:
    fields = {**GOOD, **changes}
    # params as YAML (a flow mapping), everything else as a quoted string
    return "".join(f"    {k}: {v}\n" if k == "params" else f"    {k}: {v!r}\n" for k, v in fields.items()
                   if v is not None)


#: (what is wrong, the check's body, the key the error names, words the error says)
BAD = [
    ("unknown service", body(call="ec3.describe_addresses"), "call", "no service 'ec3'"),
    ("unknown operation", body(call="ec2.describe_adresses"), "call", "no operation 'describe_adresses'"),
    ("not service.operation", body(call="DescribeAddresses"), "call", "not service.operation"),
    ("a parameter the model does not take", body(params="{Bogus: 1}"), "params", 'Unknown parameter in input: "Bogus"'),
    ("a parameter of the wrong type", body(params="{PublicIps: '1.2.3.4'}"), "params", "Invalid type for parameter"),
    ("a select that does not compile", body(select="Addresses[?"), "select", "not a JMESPath expression"),
    ("an id that does not compile", body(id="Allocation Id"), "id", "not a JMESPath expression"),
    ("a message field that is an expression", body(message="IP {Tags[0].Value}"), "message", "not a plain field"),
    ("a message field with a format", body(message="IP {PublicIp:>20}"), "message", "not a plain field"),
    ("a message with an unbalanced brace", body(message="IP {PublicIp"), "message", "write {{ and }}"),
    ("an unknown severity", body(severity="urgent"), "severity", "'urgent' is not a severity"),
    ("an unknown scope", body(scope="everywhere"), "scope", "'everywhere' is not a scope"),
    ("an unknown key", body(filter="x"), "", "unknown key 'filter'"),
    ("a missing key", body(id=None), "", "missing 'id'"),
    ("a write action", body(call="ec2.release_address", params="{AllocationId: eipalloc-1}"), "call",
     "ec2:ReleaseAddress is filed by IAM under 'Write'"),
    ("a data read", body(call="secretsmanager.get_secret_value", params="{SecretId: x}"), "call",
     "'data or secret read'"),
]


@pytest.mark.parametrize(("why", "check", "key", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_check_in_a_config_stops_the_run(why: str, check: str, key: str, says: str, server_env: str,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"table: never-made\naccounts: [{{id: '111111111111'}}]\nregions: [us-east-1]\n"
                    f"checks:\n  free_eips:\n{check}")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: checks.free_eips{'.' + key if key else ''}: " in err, err
    assert says in err, err
    assert boto3.client("dynamodb", endpoint_url=server_env).list_tables()["TableNames"] == []  # nothing ran


@pytest.mark.parametrize(("why", "check", "key", "says"), BAD, ids=[b[0] for b in BAD])
def test_checks_validate_names_the_same_problem_offline(why: str, check: str, key: str, says: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(f"checks:\n  free_eips:\n{check}")
    assert main(["checks", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: checks.free_eips{'.' + key if key else ''}: " in err and says in err, err


def test_a_valid_file_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.yaml"
    users = body(call="iam.list_users", select="Users", id="UserName", message="{UserName}", scope="global")
    path.write_text(f"checks:\n  free_eips:\n{body()}  old_users:\n{users}")
    assert main(["checks", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "free_eips: ec2.describe_addresses (ec2:DescribeAddresses, regional, medium)" in out
    assert "old_users: iam.list_users (iam:ListUsers, global, medium)" in out
    assert f"{path}: 2 checks, valid" in out


@pytest.mark.parametrize(("text", "says"), [
    ("checks: [a, b]\n", "checks: expected a mapping of check name to definition"),
    ("plugins: {}\n", "expected a mapping with one key, checks:"),
    ("checks: {a: [\n", "not valid YAML"),
])
def test_a_file_that_is_not_a_checks_map(text: str, says: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    assert main(["checks", "validate", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_a_check_named_like_a_plugins_collector_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"accounts: [{{id: '111111111111'}}]\nchecks:\n  unattached_ebs:\n{body()}")
    assert main(["plan", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: checks.unattached_ebs: the name is taken by a collector of plugin 'unattached_ebs'" in err


@pytest.mark.parametrize(("settings", "says"), [
    ("{severity: urgent}", "accounts[0].plugins.free_eips.severity: 'urgent' is not a severity"),
    ("{params: {Bogus: 1}}", 'accounts[0].plugins.free_eips.params: Unknown parameter in input: "Bogus"'),
    ("{max_age: 3}", "accounts[0].plugins.free_eips"),  # a check has no such option
])
def test_per_account_options_of_a_check_are_checked(settings: str, says: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"accounts: [{{id: '111111111111', plugins: {{free_eips: {settings}}}}}]\n"
                    f"checks:\n  free_eips:\n{body()}")
    assert main(["plan", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {says}" in err, err
