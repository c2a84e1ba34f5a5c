"""The member role: its template and `iam-policy` come from the collectors' declared permissions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from collector_core.cli import main
from collector_core.iam_policy import (
    RUNTIME_ACTIONS,
    collector_actions,
    member_role_template,
    member_stack_set_template,
    policy_document,
)
from collector_core.plugins import load_plugins

MEMBER_ROLE = Path(__file__).resolve().parents[2] / "deploy" / "member-role.yaml"
MEMBER_STACK_SET = MEMBER_ROLE.with_name("member-role-stackset.yaml")


def declared_by_built_ins() -> set[str]:
    registry = load_plugins()
    assert registry.names() == ["iam_key_age", "open_security_groups", "unattached_ebs"]
    return {p for name in registry.names() for p in registry[name].permissions}


def test_template_allows_exactly_what_the_built_ins_declare() -> None:
    assert set(template_actions(MEMBER_ROLE.read_text())) == declared_by_built_ins() | set(RUNTIME_ACTIONS)


def test_committed_template_is_the_generated_one() -> None:
    registry = load_plugins()
    rendered = member_role_template(collector_actions(registry, registry.names()))
    assert MEMBER_ROLE.read_text() == rendered, (
        "deploy/member-role.yaml has drifted from the collectors' permissions; regenerate it with "
        "`aws-collector iam-policy --config CONFIG --format cloudformation > deploy/member-role.yaml`"
    )


def test_committed_stack_set_is_the_generated_one_and_carries_the_member_role() -> None:
    registry = load_plugins()
    actions = collector_actions(registry, registry.names())
    assert MEMBER_STACK_SET.read_text() == member_stack_set_template(actions), (
        "deploy/member-role-stackset.yaml has drifted; regenerate it with "
        "`aws-collector iam-policy --config CONFIG --format stackset > deploy/member-role-stackset.yaml`")
    stack_set = yaml.safe_load(MEMBER_STACK_SET.read_text())
    props = stack_set["Resources"]["MemberRoleStackSet"]["Properties"]
    assert yaml.safe_load(props["TemplateBody"]) == yaml.safe_load(MEMBER_ROLE.read_text())
    assert props["PermissionModel"] == "SERVICE_MANAGED" and props["CallAs"] == {"Ref": "CallAs"}
    assert stack_set["Parameters"]["CallAs"]["AllowedValues"] == ["SELF", "DELEGATED_ADMIN"]
    assert set(props["OperationPreferences"]) >= {"FailureTolerancePercentage", "MaxConcurrentPercentage"}
    # Every parameter of the role is passed on to the stacks.
    role_parameters = yaml.safe_load(props["TemplateBody"])["Parameters"]
    assert [p["ParameterKey"] for p in props["Parameters"]] == list(role_parameters)


def test_only_the_collector_role_may_assume_it_with_the_external_id_and_the_trust_survives_its_recreation() -> None:
    role = yaml.safe_load(MEMBER_ROLE.read_text())["Resources"]["CollectorReadOnlyRole"]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole"
    # The account, not the role: IAM binds a role named as principal to its unique id, which a
    # re-created collector role no longer has. The role is checked by its ARN instead.
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${CollectorAccountId}:root"}}
    collector_role = {"Fn::Sub": "arn:${AWS::Partition}:iam::${CollectorAccountId}:role/${CollectorRoleName}"}
    assert trust["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}},
        "ArnLike": {"aws:PrincipalArn": {"Fn::If": ["HasOperator", [collector_role, {"Ref": "OperatorPrincipalArn"}],
                                                    [collector_role]]}}}


def test_iam_policy_follows_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "role_name": "custom-reader",
        "accounts": [{"id": "111111111111", "name": "prod"}],
        "plugins": {"iam_key_age": {"enabled": False}, "open_security_groups": {"enabled": False}},
    }))
    assert main(["iam-policy", "--config", str(config)]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert [s["Action"] for s in policy["Statement"]] == [["ec2:DescribeRegions", "ec2:DescribeVolumes"],
                                                         ["iam:GetRolePolicy"]]
    assert policy["Statement"][1]["Resource"] == "arn:aws:iam::*:role/custom-reader"  # its own, for doctor

    assert main(["iam-policy", "--config", str(config), "--format", "cloudformation"]) == 0
    template = capsys.readouterr().out
    assert template_actions(template) == ["ec2:DescribeRegions", "ec2:DescribeVolumes", "iam:GetRolePolicy"]
    assert yaml.safe_load(template)["Parameters"]["RoleName"]["Default"] == "custom-reader"


def test_resource_scoped_actions_get_their_resource() -> None:
    registry = load_plugins()
    policy = policy_document(collector_actions(registry, ["iam_key_age"]))
    scoped = [s for s in policy["Statement"] if s["Resource"] != "*"]
    assert scoped == [{"Sid": "AwsCollectorReadScoped1", "Effect": "Allow",
                       "Action": ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags"],
                       "Resource": "arn:aws:iam::*:user/*"},
                      {"Sid": "AwsCollectorReadScoped2", "Effect": "Allow", "Action": ["iam:GetRolePolicy"],
                       "Resource": "arn:aws:iam::*:role/aws-collector-readonly"}]  # its own policy, for doctor


def template_actions(template_text: str) -> list[str]:
    """The actions a member-role template allows, read back from its YAML."""
    template = yaml.safe_load(template_text)
    role = template["Resources"]["CollectorReadOnlyRole"]["Properties"]
    actions: set[str] = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            found = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    return sorted(actions)
