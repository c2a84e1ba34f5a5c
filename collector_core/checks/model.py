"""A declarative check: its definition as the config writes it, validated whole before anything runs.

Each problem names where the check came from (the config or a plugin's file), the check and the
key, so ``checks.unassociated_eips.call: ...`` points at the line to fix.
"""
from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from collector_core.aws.iam_actions import READ_ONLY, UNKNOWN, access_level
from collector_core.checks import operations
from collector_core.collector import SEVERITIES, Scope

#: A check's name is a collector's name: letters, digits and _.
NAME = re.compile(r"^[A-Za-z0-9_]+$")
#: ``service.operation``, the operation as the boto3 client method is called.
CALL = re.compile(r"^([a-z0-9-]+)\.([a-z0-9_]+)$")
#: A ``{Field}`` of a message: a plain top-level name of the item, nothing to evaluate.
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
REQUIRED = ("summary", "call", "select", "id", "message")
OPTIONAL = ("params", "severity", "scope", "resource_type")
#: Where IAM names an action otherwise than the operation (the rest are the operation's own name).
IAM_ACTION_NAMES = {"s3:ListBuckets": "s3:ListAllMyBuckets", "s3:HeadBucket": "s3:ListBucket"}
#: What the config's reference says about each key of a check.
KEYS = {
    "summary": "one line saying what the check finds (what `plugins` and reports show)",
    "call": "service.operation, the boto3 client method: ec2.describe_addresses",
    "params": "the request's parameters, checked against botocore's model (default none)",
    "select": "JMESPath over the whole response, every page merged: the items to report",
    "id": "JMESPath on each selected item: its resource id",
    "message": "each finding's summary; {Field} is a top-level field of the item",
    "severity": "info, low, medium, high or critical (default medium)",
    "scope": "regional (every region) or global (once per account) (default regional)",
    "resource_type": "the AWS Security Finding Format name of what it finds, e.g. AwsEc2Eip (optional)",
}


class CheckError(Exception):
    """Checks that cannot run; the message lists every problem, each naming source, check and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Check:
    """One validated check."""

    name: str
    summary: str
    service: str
    operation: str  # snake_case, as the client method is called
    select: str
    id: str
    message: str
    action: str  # the IAM action the call needs
    params: Mapping[str, Any] = field(default_factory=dict)
    severity: str = "medium"
    scope: Scope = Scope.REGIONAL
    resource_type: str = ""
    source: str = ""

    def to_doc(self) -> dict[str, Any]:
        """The definition as the config writes it (what a worker event carries)."""
        doc = {"summary": self.summary, "call": f"{self.service}.{self.operation}", "params": dict(self.params),
               "select": self.select, "id": self.id, "message": self.message, "severity": self.severity,
               "scope": self.scope.value}
        return {**doc, "resource_type": self.resource_type} if self.resource_type else doc


def parse_checks(doc: Any, source: str, *, classify: bool = True) -> list[Check]:
    """Every check of a ``checks:`` map, or CheckError listing every problem of every check.

    ``classify`` looks the IAM action's access level up and refuses what is not read-only (a
    worker rebuilding checks the director already validated skips it)."""
    if not isinstance(doc, dict):
        raise CheckError([f"{source}: checks: expected a mapping of check name to definition"])
    checks, problems = [], []
    for name, body in doc.items():
        found: list[str] = []
        check = _parse(str(name), body, source, found, classify)
        problems += [f"{source}: checks.{name}{p}" for p in found]
        if check is not None and not found:
            checks.append(check)
    if problems:
        raise CheckError(problems)
    return checks


def _parse(name: str, body: Any, source: str, problems: list[str], classify: bool) -> Check | None:
    if not NAME.match(name):
        problems.append(": a check's name is letters, digits and _ (it names the collector)")
    if not isinstance(body, dict):
        problems.append(f": expected a mapping with {', '.join(REQUIRED)}")
        return None
    problems += [f": unknown key {key!r}; expected one of {', '.join(REQUIRED + OPTIONAL)}"
                 for key in body if key not in REQUIRED + OPTIONAL]
    problems += [f": missing {key!r}" for key in REQUIRED if key not in body]
    for key in ("summary", "call", "select", "id", "message", "severity", "scope", "resource_type"):
        if key in body and not (isinstance(body[key], str) and body[key].strip()):
            problems.append(f".{key}: expected a non-empty string")
    if problems:
        return None
    params = body.get("params") or {}
    if not isinstance(params, dict):
        problems.append(".params: expected a mapping of request parameters")
        params = {}
    severity, scope = body.get("severity", "medium"), body.get("scope", Scope.REGIONAL.value)
    if severity not in SEVERITIES:
        problems.append(f".severity: {severity!r} is not a severity; expected one of {', '.join(SEVERITIES)}")
    if scope not in (s.value for s in Scope):
        problems.append(f".scope: {scope!r} is not a scope; expected regional or global")
    for key in ("select", "id"):
        problems += [f".{key}: {p}" for p in jmespath_problems(body[key])]
    problems += [f".message: {p}" for p in message_problems(body["message"])]
    action = _call_problems(body["call"], params, problems, classify)
    if problems or action is None:
        return None
    service, operation = body["call"].split(".")
    return Check(name=name, summary=body["summary"].strip(), service=service, operation=operation,
                 select=body["select"], id=body["id"], message=body["message"], action=action, params=params,
                 severity=severity, scope=Scope(scope), resource_type=body.get("resource_type", ""), source=source)


def _call_problems(call: str, params: Mapping[str, Any], problems: list[str], classify: bool) -> str | None:
    """The call's IAM action, or None having said what is wrong with the call or its parameters."""
    match = CALL.match(call)
    if not match:
        problems.append(f".call: {call!r} is not service.operation, e.g. ec2.describe_addresses")
        return None
    service, name = match.groups()
    if operations.service_model(service) is None:
        problems.append(f".call: botocore has no service {service!r} (the name boto3.client takes)")
        return None
    operation = operations.operation_model(service, name)
    if operation is None:
        problems.append(f".call: {service} has no operation {name!r} (boto3's snake_case name, as the "
                        "client method is called)")
        return None
    problems += [f".params: {p}" for p in operations.param_problems(operation, params)]
    return iam_action(service, operation, problems, classify)


def iam_action(service: str, operation: Any, problems: list[str], classify: bool) -> str | None:
    """The IAM action of the call, refused (a problem said) unless IAM files it as List or Read."""
    candidates = [IAM_ACTION_NAMES.get(a, a) for a in operations.action_candidates(service, operation)]
    if not classify:
        return candidates[0]
    levels = {action: access_level(action) for action in candidates}
    known = [action for action in candidates if levels[action] != UNKNOWN]
    if not known:
        problems.append(f".call: IAM knows no action {' or '.join(candidates)}; a check can only make calls "
                        "whose IAM action is known to be read-only (write a plugin for this one)")
        return None
    action = known[0]
    if levels[action] not in READ_ONLY:
        problems.append(f".call: {action} is filed by IAM under {levels[action]!r}; a check may only read "
                        f"(List or Read access, nothing that changes or reads data or secrets)")
        return None
    return action


def jmespath_problems(expression: str) -> list[str]:
    """Why a JMESPath expression does not compile, if it does not."""
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        return [f"not a JMESPath expression: {' '.join(str(exc).split())}"]
    return []


def message_problems(message: str) -> list[str]:
    """A message may name top-level fields of the item, ``{PublicIp}``, and nothing else."""
    try:
        parts = list(string.Formatter().parse(message))
    except ValueError as exc:
        return [f"{exc} (write {{{{ and }}}} for a literal brace)"]
    problems = []
    for _, field_name, spec, conversion in parts:
        if field_name is None:
            continue
        if not FIELD.match(field_name) or spec or conversion:
            shown = "{" + field_name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            problems.append(f"{shown} is not a plain field name; a message names top-level fields of the item, "
                            "such as {PublicIp}")
    return problems
