"""One account as `doctor` checks it: the member role assumable, the configured regions enabled,
each enabled collector's permissions held (one cheap call each, see probes), and the deployed
role's policy equal to what `iam-policy` generates."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from collector_core.aws.clients import Clients, Credentials, home_region
from collector_core.collector import Scope
from collector_core.doctor.probes import DENIED, probe_for, run_probe
from collector_core.errors import describe, error_of
from collector_core.iam_policy import POLICY_NAME
from collector_core.plugins import Registry
from collector_core.runtime.planning import AccountPlan

ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")
SESSION_NAME = "aws-collector-doctor"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, named: where (``table``, an account, ``notify.slack``), which check, and why."""

    where: str
    check: str
    detail: str


@dataclass
class AccountCheck:
    """What was found in one account."""

    problems: list[Problem] = field(default_factory=list)
    proven: int = 0  # permissions a call proved
    unproven: list[str] = field(default_factory=list)  # permissions no call could prove (the drift check covers them)


@dataclass(frozen=True)
class MemberRole:
    """What every account's member role should be: its name, the external id, the generated actions."""

    name: str
    external_id: str | None
    actions: frozenset[str] | None  # None: iam-policy refused the config (said once, elsewhere)


def check_account(plan: AccountPlan, role: MemberRole, registry: Registry, clients: Clients) -> AccountCheck:
    """Every check of one account; a role that cannot be assumed ends them."""
    where = f"{plan.account.id} {plan.account.name}"
    found = AccountCheck()
    try:
        credentials = clients.assume_role(plan.account.id, role.name, session_name=SESSION_NAME,
                                          external_id=role.external_id)
    except (ClientError, BotoCoreError) as exc:
        arn = f"arn:{clients.partition(home_region())}:iam::{plan.account.id}:role/{role.name}"
        found.problems.append(Problem(where, "role", f"cannot assume {arn}: {describe(exc)}"))
        return found
    try:
        region = _regions(plan, clients, credentials, where, found)
        _permissions(plan, registry, clients, credentials, region, where, found)
        _drift(role, clients, credentials, where, found)
    finally:
        clients.forget(credentials)
    return found


def _regions(plan: AccountPlan, clients: Clients, credentials: Credentials, where: str, found: AccountCheck) -> str:
    """Problems with the configured regions; the region regional permissions are tried in."""
    try:
        listed = clients.client("ec2", home_region(), credentials).describe_regions(AllRegions=True)["Regions"]
    except (ClientError, BotoCoreError) as exc:
        check = "permission ec2:DescribeRegions" if error_of(exc)[0] in DENIED else "regions"
        found.problems.append(Problem(where, check, f"cannot list the account's regions: {describe(exc)}"))
        return home_region()
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in listed}
    if plan.regions == "all":
        return home_region()
    usable = []
    for region in plan.regions:
        if region not in status:
            found.problems.append(Problem(where, f"region {region}", "not a region this account has (another "
                                                                    "partition?); leave it out of regions"))
        elif status[region] not in ENABLED_OPT_IN:
            found.problems.append(Problem(where, f"region {region}", f"not enabled in this account ({status[region]})"
                                                                    ": enable it in the account's settings, or "
                                                                    "leave it out of regions"))
        else:
            usable.append(region)
    return usable[0] if usable else home_region()


def _permissions(plan: AccountPlan, registry: Registry, clients: Clients, credentials: Credentials, region: str,
                 where: str, found: AccountCheck) -> None:
    """One call per permission the account's enabled collectors declare, in the region each runs in."""
    needed: dict[str, list[str]] = {}
    scope: dict[str, str] = {}
    for name in plan.collectors:
        collector = registry[name]
        for action in collector.permissions:
            needed.setdefault(action, []).append(name)
            scope.setdefault(action, home_region() if collector.scope is Scope.GLOBAL else region)
    for action, collectors in sorted(needed.items()):
        probe = probe_for(action)
        if probe is None:
            found.unproven.append(action)
            continue
        outcome = run_probe(probe, clients.client(probe.service, scope[action], credentials))
        if outcome.verdict == "denied":
            found.problems.append(Problem(where, f"permission {action}",
                                          f"{', '.join(collectors)} cannot run: {outcome.detail}"))
        elif outcome.verdict == "proven":
            found.proven += 1
        else:
            found.unproven.append(action)


def _drift(role: MemberRole, clients: Clients, credentials: Credentials, where: str, found: AccountCheck) -> None:
    """The deployed role's policy against the generated one: what it lacks, and what it holds beyond it."""
    if role.actions is None:
        return
    name = role.name.rsplit("/", 1)[-1]  # GetRolePolicy takes the name without the role's path
    try:
        document = clients.client("iam", home_region(), credentials).get_role_policy(
            RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except (ClientError, BotoCoreError) as exc:
        code = error_of(exc)[0]
        why = {"NoSuchEntity": f"the role has no policy named {POLICY_NAME}: it was not deployed from "
                               "`aws-collector iam-policy --format cloudformation` (or stackset)"}.get(code)
        if code in DENIED:
            why = (f"the role may not read its own policy ({describe(exc)}): it predates aws-collector 0.4.0; "
                   "update it from `aws-collector iam-policy --format stackset`")
        found.problems.append(Problem(where, "member role", why or f"cannot read its policy: {describe(exc)}"))
        return
    deployed = set(_actions(document))
    missing, extra = sorted(role.actions - deployed), sorted(deployed - role.actions)
    if missing:
        found.problems.append(Problem(where, "member role", f"drifted: lacks {', '.join(missing)}; update the StackSet "
                                                            "from `aws-collector iam-policy --format stackset`"))
    if extra:
        found.problems.append(Problem(where, "member role", f"drifted: also holds {', '.join(extra)}, which the "
                                                            "enabled collectors do not declare"))


def _actions(document: Mapping[str, Any]) -> Iterable[str]:
    """The actions a policy document allows."""
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") == "Allow":
            actions = statement.get("Action", [])
            yield from [actions] if isinstance(actions, str) else actions


def unproven_summary(checks: Sequence[AccountCheck]) -> list[str]:
    """The permissions no call could prove, in any account, sorted."""
    return sorted({a for c in checks for a in c.unproven})
