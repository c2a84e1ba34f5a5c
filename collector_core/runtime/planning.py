"""What a run would do, per account: its regions and its enabled collectors with their merged
options; and a subset of that (`run --account/--plugin/--region`), each filter intersected with
what the config enables.

A subset is a set of places, (account, region, collector), where a global collector's region is
``global``, as in the finding schema: ``--region eu-west-1`` scans eu-west-1 only, and global
collectors run when ``--region global`` is named or no ``--region`` is. A filter value that
selects nothing is an error naming it, before anything runs. A subset run resolves only what it
scanned: each account's attempt records the places it scanned, and only those settle findings
(findings.Resolution).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from collector_core.aws.clients import known_regions
from collector_core.checks.model import Check
from collector_core.collector import Account, Scope
from collector_core.plugins import Registry
from collector_core.runtime.organization import OrganizationSettings


class RunConfig(Protocol):
    """What a run reads of its configuration; ``config.model.Config`` is one. The runtime names
    no type of the config's, which sits above it (its sections import the runtime's results)."""

    @property
    def table(self) -> str: ...
    @property
    def role_name(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def ttl_days(self) -> int: ...
    @property
    def scan_threads(self) -> int: ...
    @property
    def organization(self) -> OrganizationSettings: ...
    @property
    def metrics(self) -> WorkerSection: ...
    @property
    def checks(self) -> tuple[Check, ...]: ...
    def configured_accounts(self) -> list[Account]: ...
    def regions_for(self, account_id: str) -> str | list[str]: ...
    def collectors_for(self, account_id: str, registry: Registry) -> dict[str, dict[str, Any]]: ...


class WorkerSection(Protocol):
    """A config section every worker receives in its event, as the config writes it."""

    def to_doc(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AccountPlan:
    """What a run does in one account: its regions ("all": those the account has enabled, resolved
    by its worker) and its enabled collectors with their merged options."""

    account: Account
    regions: str | list[str]
    collectors: dict[str, dict[str, Any]]


class SubsetError(ValueError):
    """Filters that select something the config does not enable; one line per filter value."""


@dataclass(frozen=True)
class Subset:
    """The filters of a subset run; an empty filter selects everything."""

    accounts: frozenset[str] = frozenset()
    plugins: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, accounts: Iterable[str] = (), plugins: Iterable[str] = (), regions: Iterable[str] = ()) -> Subset:
        """A subset from repeated command-line values."""
        return cls(frozenset(accounts), frozenset(plugins), frozenset(regions))

    def __bool__(self) -> bool:
        return bool(self.accounts or self.plugins or self.regions)

    def describe(self) -> str:
        """The filters as a person gave them: ``--account 111111111111 --plugin unattached_ebs``."""
        return " ".join(f"--{flag} {value}" for flag, values in
                        (("account", self.accounts), ("plugin", self.plugins), ("region", self.regions))
                        for value in sorted(values))

    def unknown_names(self, registry: Registry) -> list[str]:
        """Collectors and regions that do not exist at all (checked before AWS is asked anything)."""
        regions = set(known_regions())
        problems = [f"--plugin {name}: no such collector (installed: {', '.join(registry.names()) or 'none'})"
                    for name in sorted(self.plugins) if name not in registry]
        problems += [f"--region {name}: not a region name; expected one such as eu-west-1, or "
                     f"{Scope.GLOBAL.value} for global collectors" for name in sorted(self.regions)
                     if name != Scope.GLOBAL.value and name not in regions]
        return problems


def plan_accounts(config: RunConfig, registry: Registry, accounts: Iterable[Account],
                  subset: Subset | None = None) -> list[AccountPlan]:
    """Each account's plan from the config, narrowed to ``subset`` (SubsetError if it selects nothing)."""
    plans = [AccountPlan(a, config.regions_for(a.id), config.collectors_for(a.id, registry)) for a in accounts]
    return narrow(plans, subset, registry) if subset else plans


def narrow(plans: Sequence[AccountPlan], subset: Subset, registry: Registry) -> list[AccountPlan]:
    """The plans cut down to the subset's places; SubsetError naming every filter value that
    selects nothing (an unknown account, collector or region, or one the config does not enable)."""
    problems = subset.unknown_names(registry)
    listed = {p.account.id for p in plans}
    problems += [f"--account {a}: not an account this config runs (its accounts, or the organization's active "
                 "ones minus exclude)" for a in sorted(subset.accounts - listed)]
    if problems:
        raise SubsetError("\n".join(problems))
    chosen = [p for p in (_narrow(plan, subset, registry) for plan in plans
                          if not subset.accounts or plan.account.id in subset.accounts) if p.collectors]
    problems = [f"--account {a}: nothing to run there with the other filters" for a in sorted(subset.accounts)
                if not any(p.account.id == a for p in chosen)]
    problems += [f"--plugin {name}: {_why_not(name, plans, subset, registry)}" for name in sorted(subset.plugins)
                 if not any(name in p.collectors for p in chosen)]
    problems += [f"--region {region}: no selected collector runs there for the selected accounts"
                 for region in sorted(subset.regions) if not any(_scans(p, region, registry) for p in chosen)]
    if problems:
        raise SubsetError("\n".join(problems))
    return chosen


def _narrow(plan: AccountPlan, subset: Subset, registry: Registry) -> AccountPlan:
    collectors = {n: o for n, o in plan.collectors.items() if not subset.plugins or n in subset.plugins}
    regions = plan.regions
    if subset.regions:
        named = sorted(subset.regions - {Scope.GLOBAL.value})
        # "all" takes the named regions as they are: one the account has not enabled fails its scan, by name.
        wanted = named if plan.regions == "all" else [r for r in plan.regions if r in subset.regions]
        keep = {Scope.GLOBAL} if Scope.GLOBAL.value in subset.regions else set()
        if wanted:
            regions = wanted
            keep.add(Scope.REGIONAL)
        collectors = {n: o for n, o in collectors.items() if registry[n].scope in keep}
    return AccountPlan(plan.account, regions, collectors)


def _scans(plan: AccountPlan, region: str, registry: Registry) -> bool:
    """Whether the plan scans this region (``global``: runs a global collector)."""
    scopes = {registry[n].scope for n in plan.collectors}
    if region == Scope.GLOBAL.value:
        return Scope.GLOBAL in scopes
    return Scope.REGIONAL in scopes and (plan.regions == "all" or region in plan.regions)


def _why_not(name: str, plans: Sequence[AccountPlan], subset: Subset, registry: Registry) -> str:
    selected = [p for p in plans if not subset.accounts or p.account.id in subset.accounts]
    if not any(name in p.collectors for p in selected):
        return "not enabled for the selected accounts"
    if registry[name].scope is Scope.GLOBAL:
        return f"a global collector, and --region leaves out {Scope.GLOBAL.value}"
    return "the selected accounts do not scan the selected regions"
