"""Every IAM policy the project ships or generates: no wildcard actions, and "*" as a resource only
for actions AWS cannot scope (per parliament's copy of the AWS service authorization reference).

Policies checked: the Lambda execution role in serverless.yml, any IAM resource it declares, the
member role in deploy/member-role.yaml, and what `aws-collector iam-policy` prints.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from parliament import analyze_policy_string, iam_definition

from collector_core.config.load import parse_config
from collector_core.iam_policy import member_actions, policy_document
from collector_core.plugins import ALLOW_ENV, find_plugins, load_plugins

ROOT = Path(__file__).resolve().parents[1]
IAM_TYPES = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
PLACEHOLDERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
#: What a GetAtt <resource>.Arn stands for, by resource type (for parliament, which wants ARNs).
ARNS = {"AWS::DynamoDB::Table": "arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
        "AWS::SQS::Queue": "arn:aws:sqs:us-east-1:123456789012:{name}"}


#: Example values of parameters that hold ARNs (parliament checks an ARN's shape), and of Fn::Sub's own variables.
EXAMPLE_REFS = {"OrganizationRoleArn": "arn:aws:iam::123456789012:role/aws-collector-organization"}
EXAMPLE_SUBS = {"Object": "bucket/aws-collector/config.yaml"}


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Sub, !GetAtt, !Ref...) read as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation or serverless.yml file, short tags included."""
    return yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 (a SafeLoader subclass)


def _iam_resources(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in (resources or {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, props["PolicyDocument"]
        elif resource.get("Type") == "AWS::IAM::Role":
            assert not props.get("ManagedPolicyArns"), f"{name}: managed policies are not least privilege"
            for policy in props.get("Policies", []):
                yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]


def shipped_policies() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """name -> (identity policy document, the template's resources) of every policy the project ships."""
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    serverless = load_template(ROOT / "serverless.yml")
    resources = serverless.get("resources", {}).get("Resources", {})
    statements = serverless["provider"]["iam"]["role"]["statements"]
    provider = {"Version": "2012-10-17", "Statement": statements}
    found["serverless.yml provider.iam.role"] = (provider, resources)
    for name, document in _iam_resources(resources):
        found[f"serverless.yml {name}"] = (document, resources)
    member = load_template(ROOT / "deploy" / "member-role.yaml")
    for name, document in _iam_resources(member["Resources"]):
        found[f"deploy/member-role.yaml {name}"] = (document, member["Resources"])
    management = load_template(ROOT / "deploy" / "management-account.yaml")
    for name, document in _iam_resources(management["Resources"]):
        found[f"deploy/management-account.yaml {name}"] = (document, management["Resources"])
    # The built-ins, as the shipped member role serves them (this runs at collection, before any fixture).
    registry = load_plugins(find_plugins({ALLOW_ENV: "unattached_ebs,iam_key_age,open_security_groups"}))
    config = parse_config({"organization": {"enabled": True}}, "all-collectors", registry)
    found["aws-collector iam-policy"] = (policy_document(member_actions(config, registry)), {})
    return found


def _privileges() -> dict[str, list[str]]:
    """service:action (lower case) -> the resource types AWS lets a policy scope it to."""
    return {
        f"{service['prefix']}:{p['privilege']}".lower(): [r["resource_type"] for r in p["resource_types"]
                                                          if r["resource_type"]]
        for service in iam_definition for p in service["privileges"]
    }


PRIVILEGES = _privileges()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def problems(document: dict[str, Any]) -> list[str]:
    """What makes a policy broader than it must be."""
    found = []
    for i, statement in enumerate(_as_list(document.get("Statement", []))):
        where = statement.get("Sid") or f"Statement[{i}]"
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                found.append(f"{where}: {key} allows everything else")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        for action in actions:
            if "*" in action or "?" in action:
                found.append(f"{where}: wildcard action {action!r}")
            elif action.lower() not in PRIVILEGES:
                found.append(f"{where}: unknown action {action!r}")
        if "*" in _as_list(statement.get("Resource", [])):
            scopable = [a for a in actions if PRIVILEGES.get(a.lower())]
            if scopable:
                found.append(f"{where}: Resource '*' for {scopable}, which AWS lets a policy scope "
                             f"({', '.join(sorted({t for a in scopable for t in PRIVILEGES[a.lower()]}))})")
    return found


POLICIES = shipped_policies()


def test_every_expected_policy_was_found() -> None:
    names = list(POLICIES)
    assert "serverless.yml provider.iam.role" in names and "aws-collector iam-policy" in names
    assert any(n.startswith("deploy/member-role.yaml") for n in names), names


@pytest.mark.parametrize("name", list(POLICIES))
def test_no_wildcard_actions_and_resources_scoped_where_aws_allows(name: str) -> None:
    document, _ = POLICIES[name]
    assert document["Statement"], name
    assert problems(document) == []


@pytest.mark.parametrize("name", list(POLICIES))
def test_parliament_finds_nothing(name: str) -> None:
    document, resources = POLICIES[name]
    resolved = _resolve(document, resources)
    findings = analyze_policy_string(json.dumps(resolved)).findings
    assert not findings, [(f.issue, f.detail, f.location) for f in findings]


def test_the_member_role_template_matches_the_generator() -> None:
    """The shipped member role grants exactly what the generator says the collectors need."""
    generated = {a for s in POLICIES["aws-collector iam-policy"][0]["Statement"]
                 for a in _as_list(s["Action"])}
    shipped = {a for name, (doc, _) in POLICIES.items() if name.startswith("deploy/member-role.yaml")
               for s in doc["Statement"] for a in _as_list(s["Action"])}
    assert shipped == generated


def test_security_hub_is_granted_only_with_the_channel_and_exactly_what_it_calls() -> None:
    serverless = load_template(ROOT / "serverless.yml")
    policy = serverless["resources"]["Resources"]["SecurityHubFindingsPolicy"]
    assert serverless["params"]["default"]["securityHub"] == "false"
    condition = serverless["resources"]["Conditions"][policy["Condition"]]
    assert condition == {"Fn::Equals": [{"Ref": "SecurityHub"}, "true"]}
    assert serverless["resources"]["Parameters"]["SecurityHub"]["Default"] == "${param:securityHub}"
    assert policy["Properties"]["Roles"] == [{"Ref": "IamRoleLambdaExecution"}]
    granted = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _as_list(s["Action"])}
    source = (ROOT / "collector_core" / "notify" / "securityhub.py").read_text()
    called = {"securityhub:" + "".join(w.title() for w in op.split("_")) for op in re.findall(r"hub\.(\w+)\(", source)}
    declared = set(load_plugins().channels["securityhub"].channel.permissions)
    assert granted == called == declared == {"securityhub:BatchImportFindings", "securityhub:BatchUpdateFindings"}
    statements = serverless["provider"]["iam"]["role"]["statements"]
    assert not [s for s in statements if "securityhub" in str(s["Action"])]  # never unconditionally


#: What the Lambda role holds for the runtime itself, not for a report channel.
RUNTIME_ACTIONS = {"lambda:InvokeFunction", "sts:AssumeRole", "ssm:GetParameter",
                   # the director's walk of the organization (runtime/organization.py)
                   "organizations:DescribeOrganization", "organizations:ListRoots",
                   "organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent",
                   "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:PutItem", "dynamodb:UpdateItem",
                   "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


def _granted() -> set[str]:
    """Every action serverless.yml grants the Lambda role, unconditionally or with a channel's param."""
    return {a for name, (doc, _) in POLICIES.items() if name.startswith("serverless.yml")
            for s in doc["Statement"] for a in _as_list(s["Action"])}


def test_serverless_grants_what_the_built_in_channels_declare_and_nothing_more() -> None:
    """Each channel's declared permissions are granted; every grant that is not the runtime's own is
    some channel's (as `aws-collector plugins` lists them and docs/deploy.md tells)."""
    channels = {name: set(r.channel.permissions) for name, r in load_plugins().channels.items()}
    assert {"slack", "email", "securityhub", "html", "webhook", "teams", "s3"} <= set(channels)
    granted = _granted()
    for name, permissions in channels.items():
        assert permissions <= granted, f"serverless.yml does not grant the {name} channel {permissions - granted}"
    declared = set().union(*channels.values())
    assert granted - RUNTIME_ACTIONS == declared - RUNTIME_ACTIONS


def test_the_deploy_guide_lists_what_each_built_in_channel_needs() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| ([^|]*) \|", guide, re.M)}
    for name, registered in load_plugins().channels.items():
        assert name in rows, f"docs/deploy.md has no row for the {name} channel"
        listed = set(re.findall(r"`([a-z0-9-]+:\w+)`", rows[name]))
        assert listed == set(registered.channel.permissions), name


def test_the_findings_export_is_granted_only_put_object_on_its_prefix_and_only_with_its_bucket() -> None:
    serverless = load_template(ROOT / "serverless.yml")
    policy = serverless["resources"]["Resources"]["FindingsExportPolicy"]
    assert serverless["params"]["default"]["exportBucket"] == ""
    condition = serverless["resources"]["Conditions"][policy["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExportBucket"}, ""]}]}
    assert policy["Properties"]["Roles"] == [{"Ref": "IamRoleLambdaExecution"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ExportBucket}/${ExportPrefix}*"}
    source = (ROOT / "collector_core" / "notify" / "s3.py").read_text()
    called = {"s3:" + "".join(w.title() for w in op.split("_")) for op in re.findall(r"s3\.(\w+)\(", source)}
    declared = set(load_plugins().channels["s3"].channel.permissions)
    assert set(_as_list(statement["Action"])) == called == declared == {"s3:PutObject"}


def test_the_check_catches_broad_policies() -> None:
    """The control: the checks above fail on the mistakes they exist for."""
    broad = {"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": ["ec2:Describe*", "s3:*"], "Resource": "*"},
        {"Sid": "B", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"},
        {"Sid": "C", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Sid": "D", "Effect": "Allow", "Action": "ec2:DescribeVolumez", "Resource": "*"},
    ]}
    found = problems(broad)
    assert any("wildcard action 'ec2:Describe*'" in p for p in found)
    assert any("wildcard action 's3:*'" in p for p in found)
    assert any(p.startswith("B: Resource '*'") and "table" in p for p in found)
    assert any(p.startswith("C: NotAction") for p in found)
    assert any("unknown action 'ec2:DescribeVolumez'" in p for p in found)
    narrow = {"Effect": "Allow", "Action": "ec2:DescribeVolumes", "Resource": "*"}
    assert problems({"Statement": [narrow]}) == []


def _resolve(value: Any, resources: dict[str, Any]) -> Any:
    """Intrinsic functions and serverless variables replaced by plausible values, for parliament."""
    if isinstance(value, list):
        return [_resolve(v, resources) for v in value]
    if isinstance(value, str):
        return re.sub(r"\$\{[^}]*\}", "name", value)
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        for key, replacement in {**PLACEHOLDERS, **EXAMPLE_SUBS}.items():
            text = text.replace("${" + key + "}", replacement)
        return re.sub(r"\$\{[^}]*\}", "name", text)
    if set(value) == {"Fn::GetAtt"}:
        resource, attribute = value["Fn::GetAtt"]
        kind = resources[resource]["Type"]
        assert attribute == "Arn" and kind in ARNS, f"add an example ARN for {kind}.{attribute}"
        return ARNS[kind].format(name=resource.lower())
    if set(value) == {"Ref"}:
        return EXAMPLE_REFS.get(value["Ref"], "name")
    return {k: _resolve(v, resources) for k, v in value.items()}
