"""The member role stays read-only whatever a plugin declares: `iam-policy` refuses any permission
that is not a List or Read of configuration (wildcards, writes, role passing, data and secret
reads), naming the collector, its plugin and the action, unless the config allows that action for
that collector; `plugins` shows every permission's access level."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector_core.plugins import load_plugins

pytestmark = pytest.mark.slow  # each CLI test starts a fresh interpreter with the plugin installed

PACKAGE = Path(__file__).resolve().parents[1] / "collector_core"
#: What the greedy plugin declares, and what `iam-policy` must say of each action that is refused.
GREEDY = {
    "ec2:DescribeVolumes": "List",
    "*": "wildcard",
    "ec2:Describe*": "wildcard",
    "iam:CreateAccessKey": "Write",
    "iam:PassRole": "Write",
    "sts:AssumeRole": "Write",
    "iam:AttachRolePolicy": "Permissions management",
    "ec2:CreateTags": "Tagging",
    "s3:GetObject": "data or secret read",
    "secretsmanager:GetSecretValue": "data or secret read",
    "ec2:DescribeVolumez": "unknown action",
}
REFUSED = {action: level for action, level in GREEDY.items() if level not in ("List", "Read")}


def install(tmp_path: Path, module: str, permissions: list[str], options: str = "{}") -> Path:
    """A directory holding an installed distribution aws-collector-<module> with one collector."""
    info = tmp_path / f"aws_collector_{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: aws-collector-{module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[aws_collector.plugins]\n{module} = {module}_plugin\n")
    (tmp_path / f"{module}_plugin.py").write_text(
        "from collector_core import Collector, Scope, hookimpl\n\n"
        "@hookimpl\n"
        "def register_collectors(register):\n"
        f"    register(Collector(name={module!r}, scope=Scope.REGIONAL, summary='asks for a lot',\n"
        f"                       permissions={permissions!r}, options={options}, collect=lambda ctx: []))\n")
    return tmp_path


@pytest.fixture
def greedy(tmp_path: Path) -> Path:
    return install(tmp_path, "greedy", list(GREEDY))


def aws_collector(*args: str, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter, as a user runs it, with the plugins in ``pythonpath`` installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}
    env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, "-m", "collector_core.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def config(tmp_path: Path, text: str = "") -> str:
    path = tmp_path / "config.yaml"
    path.write_text("accounts: [{id: '111111111111', name: prod}]\n" + text)
    return str(path)


@pytest.mark.parametrize("fmt", ["json", "cloudformation"])
def test_iam_policy_refuses_what_is_not_read_only_naming_the_plugin_and_the_action(
    fmt: str, greedy: Path
) -> None:
    done = aws_collector("iam-policy", "--config", config(greedy), "--format", fmt, pythonpath=greedy)

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "the member role is read-only; these declared permissions are not:" in done.stderr
    for action, level in REFUSED.items():
        assert (f"collector greedy (plugin greedy, distribution aws-collector-greedy) declares {action}: {level}"
                in done.stderr)
    assert "declares ec2:DescribeVolumes" not in done.stderr
    assert "plugins.greedy.allow_actions: [" in done.stderr


def test_the_config_may_allow_an_action_for_that_collector_and_only_that(greedy: Path) -> None:
    allowed = [a for a in REFUSED if a != "iam:PassRole"]
    partly = config(greedy, f"plugins: {{greedy: {{allow_actions: {json.dumps(allowed)}}}}}\n")
    done = aws_collector("iam-policy", "--config", partly, pythonpath=greedy)
    assert done.returncode == 2
    assert [line for line in done.stderr.splitlines() if " declares " in line] == [
        "  collector greedy (plugin greedy, distribution aws-collector-greedy) declares iam:PassRole: Write"]

    everything = config(greedy, f"plugins: {{greedy: {{allow_actions: {json.dumps(list(REFUSED))}}}}}\n")
    done = aws_collector("iam-policy", "--config", everything, pythonpath=greedy)
    assert done.returncode == 0, done.stderr
    granted = {a for s in json.loads(done.stdout)["Statement"] for a in s["Action"]}
    assert granted >= set(GREEDY)


def test_a_disabled_collector_needs_no_allowance(greedy: Path) -> None:
    done = aws_collector("iam-policy", "--config", config(greedy, "plugins: {greedy: {enabled: false}}\n"),
                         pythonpath=greedy)
    assert done.returncode == 0, done.stderr
    assert "iam:PassRole" not in done.stdout


def test_allow_actions_belongs_to_the_top_level_plugins_section(greedy: Path) -> None:
    per_account = greedy / "per-account.yaml"
    per_account.write_text("accounts: [{id: '111111111111', plugins: {greedy: {allow_actions: ['*']}}}]\n")
    done = aws_collector("iam-policy", "--config", str(per_account), pythonpath=greedy)
    assert done.returncode == 2
    assert ("accounts[0].plugins.greedy.allow_actions: expected allow_actions only in the top-level plugins "
            "section (one member role serves every account)") in done.stderr

    malformed = config(greedy, "plugins: {greedy: {allow_actions: [iam PassRole]}}\n")
    done = aws_collector("iam-policy", "--config", malformed, pythonpath=greedy)
    assert done.returncode == 2
    assert "plugins.greedy.allow_actions[0]: expected an IAM action, got the string 'iam PassRole'" in done.stderr


def test_plugins_shows_each_permissions_access_level(greedy: Path) -> None:
    listing = json.loads(aws_collector("plugins", "--json", pythonpath=greedy).stdout)
    [plugin] = [p for p in listing["plugins"] if p["name"] == "greedy"]
    assert plugin["collectors"][0]["access_levels"] == GREEDY

    text = aws_collector("plugins", pythonpath=greedy).stdout
    assert "ec2:DescribeVolumes (List)" in text
    assert "iam:PassRole (Write, not read-only)" in text
    assert "s3:GetObject (data or secret read, not read-only)" in text


def test_a_collector_may_not_take_an_option_named_allow_actions(tmp_path: Path) -> None:
    sneaky = install(tmp_path, "sneaky", ["ec2:DescribeVolumes"], options="{'allow_actions': ['*']}")
    listing = json.loads(aws_collector("plugins", "--json", pythonpath=sneaky).stdout)
    [failed] = listing["failed"]
    assert failed["name"] == "sneaky" and failed["stage"] == "register"
    assert "may not have an option 'allow_actions'" in failed["error"]


def test_iam_policy_works_without_pkg_resources_and_only_it_reads_parliaments_data(tmp_path: Path) -> None:
    """`pip install aws-collector` brings setuptools 81 or later, which has no pkg_resources: the
    IAM data is read as parliament's file, never by importing parliament."""
    script = ("import sys; sys.modules['pkg_resources'] = None\n"
              "from collector_core.cli import main\n"
              f"code = main(['iam-policy', '--config', {config(tmp_path)!r}])\n"
              "assert 'parliament' not in sys.modules\n"
              "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ec2:DescribeVolumes" in done.stdout
    readers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "parliament" in p.read_text())
    # One reader: what iam-policy refuses and what a declarative check may call come from one place.
    assert readers == ["aws/iam_actions.py"]


def test_the_built_in_collectors_declare_only_read_only_actions() -> None:
    from collector_core.iam_policy import READ_ONLY, access_level

    registry = load_plugins()
    levels = {a: access_level(a) for name in registry.names() for a in registry[name].permissions}
    assert levels and set(levels.values()) <= set(READ_ONLY), levels


@pytest.mark.parametrize("action", [
    "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "dynamodb:GetItem",
    "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "kms:Decrypt", "S3:GETOBJECT",
])
def test_reads_of_data_and_secrets_are_not_read_only(action: str) -> None:
    from collector_core.iam_policy import DATA_READ, access_level

    assert access_level(action) == DATA_READ


@pytest.mark.parametrize("action", ["*", "ec2:*", "ec2:Describe*", "s3:Get?bject"])
def test_wildcards_are_not_read_only(action: str) -> None:
    from collector_core.iam_policy import WILDCARD, access_level

    assert access_level(action) == WILDCARD
