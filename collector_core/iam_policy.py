"""The member role's least-privilege policy, from what the enabled collectors declare.

One source for both outputs of `aws-collector iam-policy`: the policy document, and the
CloudFormation template of the role (deploy/member-role.yaml is that template for the built-ins),
so the role a StackSet deploys cannot drift from what the collectors call.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from collector_core.config.model import Config
from collector_core.plugins import Registry

#: What the worker itself calls in a member account, whatever the collectors.
RUNTIME_ACTIONS = ("ec2:DescribeRegions",)
#: The role the worker assumes, unless the config's role_name says otherwise.
DEFAULT_ROLE_NAME = "aws-collector-readonly"


def enabled_collectors(config: Config, registry: Registry) -> list[str]:
    """Collectors enabled for at least one account (or by default, for organization runs)."""
    account_ids = [a.id for a in config.accounts]
    if config.organization or not account_ids:
        account_ids.append("")  # an organization account with no entry gets the defaults
    names: set[str] = set()
    for account_id in account_ids:
        names.update(config.collectors_for(account_id, registry))
    return sorted(names)


def collector_actions(registry: Registry, names: Iterable[str]) -> list[str]:
    """The runtime's own actions plus every named collector's declared permissions, sorted."""
    actions = set(RUNTIME_ACTIONS)
    for name in names:
        actions.update(registry[name].permissions)
    return sorted(actions)


#: Actions AWS lets a policy scope to a resource type (the rest take "*"): resource after "arn:<partition>:".
RESOURCE_SCOPES = {
    "iam:GetAccessKeyLastUsed": "iam::{account}:user/*",
    "iam:ListAccessKeys": "iam::{account}:user/*",
}


def policy_document(actions: Iterable[str], *, cloudformation: bool = False) -> dict[str, Any]:
    """An IAM policy document allowing exactly these read actions, scoped where AWS allows it.

    With ``cloudformation``, scoped resources name the partition and account by intrinsic function.
    """
    by_scope: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        by_scope.setdefault(RESOURCE_SCOPES.get(action, "*"), []).append(action)
    statements = []
    for i, (scope, scoped) in enumerate(sorted(by_scope.items(), key=lambda kv: kv[0] != "*")):
        resource: Any = "*"  # Describe/List calls across an account take no resource ARN
        if scope != "*":
            resource = (
                {"Fn::Sub": "arn:${AWS::Partition}:" + scope.format(account="${AWS::AccountId}")}
                if cloudformation else "arn:aws:" + scope.format(account="*")
            )
        sid = "AwsCollectorRead" if scope == "*" else f"AwsCollectorReadScoped{i}"
        statements.append({"Sid": sid, "Effect": "Allow", "Action": scoped, "Resource": resource})
    return {"Version": "2012-10-17", "Statement": statements}


def member_policy(config: Config, registry: Registry) -> dict[str, Any]:
    """An IAM policy document with exactly the union of the enabled collectors' permissions."""
    return policy_document(collector_actions(registry, enabled_collectors(config, registry)))


def member_role_template(actions: Iterable[str], *, role_name: str = DEFAULT_ROLE_NAME) -> str:
    """A CloudFormation template (StackSet-ready) of the member role with exactly these actions.

    Only the collector's Lambda role may assume it, and only with the shared ExternalId.
    """
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "aws-collector: the read-only role the collector's worker assumes in this account",
        "Parameters": {
            "CollectorAccountId": {
                "Type": "String",
                "AllowedPattern": "^[0-9]{12}$",
                "Description": "The account where aws-collector's Lambda functions run",
            },
            "CollectorRoleName": {
                "Type": "String",
                "Default": "aws-collector-prod-us-east-1-lambdaRole",
                "Description": "The functions' execution role: <service>-<stage>-<region>-lambdaRole",
            },
            "ExternalId": {
                "Type": "String",
                "NoEcho": True,
                "MinLength": 2,
                "AllowedPattern": "^[\\w+=,.@:/-]+$",
                "Description": "The config's external_id",
            },
            "RoleName": {
                "Type": "String",
                "Default": role_name,
                "Description": "The config's role_name",
            },
        },
        "Resources": {
            "CollectorReadOnlyRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Read-only access for aws-collector's enabled collectors",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": {
                                        "Fn::Sub": "arn:${AWS::Partition}:iam::${CollectorAccountId}"
                                        ":role/${CollectorRoleName}"
                                    }
                                },
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
                            }
                        ],
                    },
                    "Policies": [{"PolicyName": "aws-collector-read",
                                  "PolicyDocument": policy_document(actions, cloudformation=True)}],
                },
            }
        },
        "Outputs": {
            "RoleArn": {"Value": {"Fn::GetAtt": ["CollectorReadOnlyRole", "Arn"]}},
        },
    }
    header = (
        "# Generated by `aws-collector iam-policy --config FILE --format cloudformation`: the member\n"
        "# role with exactly the permissions the enabled collectors declare. Deploy it to every member\n"
        "# account as a StackSet (docs/deploy.md). Do not edit by hand; regenerate it.\n"
    )
    return header + yaml.safe_dump(template, sort_keys=False, width=100)


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
