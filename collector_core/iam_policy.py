"""The member role's least-privilege policy, from what the enabled collectors declare.

One source for both outputs of `aws-collector iam-policy`: the policy document, and the
CloudFormation template of the role (deploy/member-role.yaml is that template for the built-ins),
so the role a StackSet deploys cannot drift from what the collectors call.

The role is read-only, whatever a plugin declares: each action is classified by the access level
AWS files it under (``collector_core.aws.iam_actions``, from the Service Authorization Reference), and only List and
Read actions that do not read data or secrets go in, unless the config allows an action for that
collector (``plugins.<name>.allow_actions``).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

# Re-exported: what iam-policy refuses, and why (the tests and `plugins` import them from here).
from collector_core.aws.iam_actions import DATA_READ as DATA_READ
from collector_core.aws.iam_actions import DATA_READS as DATA_READS
from collector_core.aws.iam_actions import READ_ONLY, PolicyError, access_level
from collector_core.aws.iam_actions import UNKNOWN as UNKNOWN
from collector_core.aws.iam_actions import WILDCARD as WILDCARD

if TYPE_CHECKING:  # only the types: `aws-collector plugins` classifies actions without a config
    from collector_core.config.model import Config
    from collector_core.plugins import Registry

#: What the runtime itself calls in a member account, whatever the collectors: the worker lists the
#: account's regions; `doctor` reads the role's own policy, to compare it with the one generated here.
RUNTIME_ACTIONS = ("ec2:DescribeRegions", "iam:GetRolePolicy")
#: The name of the member role's inline policy (what `doctor` reads back).
POLICY_NAME = "aws-collector-read"
#: The role the worker assumes, unless the config's role_name says otherwise.
DEFAULT_ROLE_NAME = "aws-collector-readonly"


def enabled_collectors(config: Config, registry: Registry) -> list[str]:
    """Collectors enabled for at least one account (or by default, for organization runs)."""
    account_ids = [a.id for a in config.accounts]
    if config.organization.enabled or not account_ids:
        account_ids.append("")  # an organization account with no entry gets the defaults
    names: set[str] = set()
    for account_id in account_ids:
        names.update(config.collectors_for(account_id, registry))
    return sorted(names)


@dataclass(frozen=True)
class Refusal:
    """An action a collector declares that the member role may not hold, and why."""

    collector: str
    plugin: str  # the entry point that registered the collector
    distribution: str
    action: str
    level: str

    def __str__(self) -> str:
        return (f"collector {self.collector} (plugin {self.plugin}, distribution {self.distribution}) "
                f"declares {self.action}: {self.level}")


def refusals(config: Config, registry: Registry, names: Iterable[str]) -> list[Refusal]:
    """Each named collector's declared actions that are not read-only and not allowed by the config."""
    found = []
    for name in names:
        allowed = config.allowed_actions(name)
        plugin = registry.collectors[name].plugin
        for action in sorted(set(registry[name].permissions)):
            level = access_level(action)
            if level not in READ_ONLY and action.lower() not in allowed:
                found.append(Refusal(name, plugin.name, plugin.distribution, action, level))
    return found


def member_actions(config: Config, registry: Registry) -> list[str]:
    """The actions the member role needs for the enabled collectors; PolicyError naming every one
    that is not read-only and that the config does not allow."""
    names = enabled_collectors(config, registry)
    refused = refusals(config, registry, names)
    if refused:
        lines = [f"{config.source}: the member role is read-only; these declared permissions are not:"]
        lines += [f"  {r}" for r in refused]
        example = refused[0]
        lines.append(f"Leave the collector disabled, or if you accept what it may do in every account, allow "
                     f"the action for it: plugins.{example.collector}.allow_actions: [{example.action}]")
        raise PolicyError("\n".join(lines))
    return collector_actions(registry, names)


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
    "iam:ListUserTags": "iam::{account}:user/*",
    "iam:GetRolePolicy": "iam::{account}:role/{role}",  # its own policy only
    # Plugins' actions that AWS lets a policy scope (the catalog's, for one).
    "cloudtrail:GetTrailStatus": "cloudtrail:*:{account}:trail/*",
    "guardduty:GetDetector": "guardduty:*:{account}:detector/*",
    "s3:GetBucketAcl": "s3:::*",
    "s3:GetBucketPolicy": "s3:::*",
    "s3:GetBucketPublicAccessBlock": "s3:::*",
}


def policy_document(actions: Iterable[str], *, cloudformation: bool = False,
                    role_name: str = DEFAULT_ROLE_NAME) -> dict[str, Any]:
    """An IAM policy document allowing exactly these read actions, scoped where AWS allows it.

    With ``cloudformation``, scoped resources name the partition, account and role by intrinsic function.
    """
    by_scope: dict[str, list[str]] = {}
    for action in sorted(set(actions)):
        by_scope.setdefault(RESOURCE_SCOPES.get(action, "*"), []).append(action)
    statements = []
    for i, (scope, scoped) in enumerate(sorted(by_scope.items(), key=lambda kv: kv[0] != "*")):
        resource: Any = "*"  # Describe/List calls across an account take no resource ARN
        if scope != "*":
            resource = (
                {"Fn::Sub": "arn:${AWS::Partition}:" + scope.format(account="${AWS::AccountId}", role="${RoleName}")}
                if cloudformation else "arn:aws:" + scope.format(account="*", role=role_name)
            )
        sid = "AwsCollectorRead" if scope == "*" else f"AwsCollectorReadScoped{i}"
        statements.append({"Sid": sid, "Effect": "Allow", "Action": scoped, "Resource": resource})
    return {"Version": "2012-10-17", "Statement": statements}


def _collector_role_arn() -> dict[str, str]:
    """The collector's Lambda role, as the member role's trust names it (a new dict each time: YAML
    would write a shared one as an anchor and an alias)."""
    return {"Fn::Sub": "arn:${AWS::Partition}:iam::${CollectorAccountId}:role/${CollectorRoleName}"}


#: What the member role's template asks for: each parameter's settings (the StackSet passes each on).
ROLE_PARAMETERS: dict[str, dict[str, Any]] = {
    "CollectorAccountId": {"Type": "String", "AllowedPattern": "^[0-9]{12}$",
                           "Description": "The account where aws-collector's Lambda functions run"},
    "CollectorRoleName": {"Type": "String", "Default": "aws-collector-prod-us-east-1-lambdaRole",
                          "Description": "The functions' execution role: <service>-<stage>-<region>-lambdaRole"},
    "ExternalId": {"Type": "String", "NoEcho": True, "MinLength": 2, "AllowedPattern": "^[\\w+=,.@:/-]+$",
                   "Description": "The config's external_id"},
    "RoleName": {"Type": "String", "Description": "The config's role_name"},
    "OperatorPrincipalArn": {"Type": "String", "Default": "",
                             "Description": "Optional: one more role in the collector account that may assume this "
                                            "one (wildcards allowed), e.g. your SSO role, for aws-collector doctor "
                                            "and trial runs from a laptop"},
}


def member_role(actions: Iterable[str], *, role_name: str = DEFAULT_ROLE_NAME) -> dict[str, Any]:
    """The CloudFormation template (StackSet-ready) of the member role with exactly these actions.

    Only the collector's Lambda role may assume it (and, if given, one operator's role for `doctor`
    and trial runs from a laptop), and only with the shared ExternalId. The trust names the
    collector account and checks the caller's role by ``aws:PrincipalArn``: a role named as a
    trust's principal is bound to that role's unique id, so removing and deploying the collector
    again would break the trust in every account; a condition on the ARN survives that.
    """
    parameters = copy.deepcopy(ROLE_PARAMETERS)
    parameters["RoleName"]["Default"] = role_name
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${CollectorAccountId}:root"}},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}},
            "ArnLike": {"aws:PrincipalArn": {"Fn::If": [
                "HasOperator", [_collector_role_arn(), {"Ref": "OperatorPrincipalArn"}], [_collector_role_arn()]]}},
        },
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "aws-collector: the read-only role the collector's worker assumes in this account",
        "Parameters": parameters,
        "Conditions": {"HasOperator": {"Fn::Not": [{"Fn::Equals": [{"Ref": "OperatorPrincipalArn"}, ""]}]}},
        "Resources": {
            "CollectorReadOnlyRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "Description": "Read-only access for aws-collector's enabled collectors",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                    "Policies": [{"PolicyName": POLICY_NAME,
                                  "PolicyDocument": policy_document(actions, cloudformation=True)}],
                },
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["CollectorReadOnlyRole", "Arn"]}}},
    }


def member_role_template(actions: Iterable[str], *, role_name: str = DEFAULT_ROLE_NAME) -> str:
    """The member role's template as YAML (deploy/member-role.yaml is this for the built-ins)."""
    header = (
        "# Generated by `aws-collector iam-policy --config FILE --format cloudformation`: the member\n"
        "# role with exactly the permissions the enabled collectors declare. Deploy it to every member\n"
        "# account as a StackSet (docs/deploy.md). Do not edit by hand; regenerate it.\n"
    )
    return header + yaml.safe_dump(member_role(actions, role_name=role_name), sort_keys=False, width=100)


def member_stack_set_template(actions: Iterable[str], *, role_name: str = DEFAULT_ROLE_NAME) -> str:
    """A stack that deploys the member role to the organization as a service-managed StackSet, from
    the management account or a delegated administrator (``CallAs``), with its failure tolerance and
    concurrency; updating this stack is how the role follows the plugins."""
    role = member_role(actions, role_name=role_name)
    passed = copy.deepcopy(role["Parameters"])
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "aws-collector: the member role in every account of the organization (a StackSet)",
        "Parameters": {
            **passed,
            "StackSetName": {"Type": "String", "Default": "aws-collector-member-role",
                             "Description": "The StackSet's name"},
            "OrganizationalUnitIds": {"Type": "CommaDelimitedList",
                                      "Description": "Where the role goes: the root's id (r-...) for every account, "
                                                     "or organizational unit ids (ou-...)"},
            "Region": {"Type": "String", "Default": "us-east-1",
                       "Description": "The one region its stacks are created in (IAM is global)"},
            "CallAs": {"Type": "String", "AllowedValues": ["SELF", "DELEGATED_ADMIN"], "Default": "SELF",
                       "Description": "SELF from the management account; DELEGATED_ADMIN from a delegated "
                                      "administrator for StackSets"},
            "FailureTolerancePercentage": {"Type": "Number", "Default": 10, "MinValue": 0, "MaxValue": 100,
                                           "Description": "Accounts per region that may fail before the "
                                                          "operation stops, in percent"},
            "MaxConcurrentPercentage": {"Type": "Number", "Default": 25, "MinValue": 1, "MaxValue": 100,
                                        "Description": "Accounts deployed at once, in percent"},
        },
        "Resources": {
            "MemberRoleStackSet": {
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": {"Ref": "StackSetName"},
                    "Description": role["Description"],
                    "PermissionModel": "SERVICE_MANAGED",
                    "CallAs": {"Ref": "CallAs"},
                    # New accounts in the units get the role as they join; leaving removes it.
                    "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                    "ManagedExecution": {"Active": True},
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "OperationPreferences": {
                        "FailureTolerancePercentage": {"Ref": "FailureTolerancePercentage"},
                        "MaxConcurrentPercentage": {"Ref": "MaxConcurrentPercentage"},
                        "RegionConcurrencyType": "PARALLEL",
                    },
                    "Parameters": [{"ParameterKey": name, "ParameterValue": {"Ref": name}} for name in passed],
                    "StackInstancesGroup": [{
                        "DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
                        "Regions": [{"Ref": "Region"}],
                    }],
                    "TemplateBody": _Block(yaml.safe_dump(role, sort_keys=False, width=100)),
                },
            }
        },
    }
    header = (
        "# Generated by `aws-collector iam-policy --config FILE --format stackset`: the member role\n"
        "# (deploy/member-role.yaml) deployed to the organization as a StackSet. Deploy this template as\n"
        "# a stack in the management account or a delegated administrator (docs/deploy.md). Do not edit\n"
        "# by hand; regenerate it.\n"
    )
    return header + yaml.dump(template, Dumper=_Dumper, sort_keys=False, width=100)


class _Block(str):
    """A string YAML writes as a literal block (the StackSet's template stays readable)."""


class _Dumper(yaml.SafeDumper):
    """safe_dump's dumper, writing _Block strings as literal blocks."""


_Dumper.add_representer(_Block, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|"))
