"""The ``organization:`` section, and the accounts AWS Organizations holds for a run.

The director lists the organization once per run by walking its organizational units from the
root (per unit, one paginated ListAccountsForParent and one ListOrganizationalUnitsForParent, a
level's units side by side), so every account comes with the path of its unit,
``Root/Workloads/Payments``, at the cost of two calls per unit rather than one per account. From a
delegated administrator this needs no role in the management account; ``role_arn`` names one to
assume there when the collector account is neither.

Which accounts run: the ACTIVE ones, minus ``exclude``, minus those outside ``ous.include`` (when
given) or inside ``ous.exclude``, and minus the management account unless the config lists it
under ``accounts:`` (StackSets never deploy the member role there, so by default it would fail
every run). A pattern names a unit by its path and covers the units below it: ``Root/Workloads``
matches an account in ``Root/Workloads/Payments``; ``*`` matches any characters, ``/`` included.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from collector_core.aws.clients import Clients, home_region
from collector_core.collector import Account
from collector_core.documents.schema import ACCOUNT_ID, BOOLEAN, Schema, mapping

#: The role to assume in the management account: ``arn:<partition>:iam::<account>:role/<path/name>``.
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/([\w+=,.@/-]{1,512})$")
#: Units listed at once while walking one level of the tree (Organizations throttles early).
WALKERS = 4
SESSION_NAME = "aws-collector-organization"


def schema() -> Schema:
    """The ``organization`` section."""
    path_list = {"type": "array", "uniqueItems": True,
                 "items": {"type": "string", "pattern": r"^(Root|\*)", "expected":
                           "an organizational unit's path from Root, such as Root/Workloads/Payments "
                           "(* matches any characters)"},
                 "expected": "a list of organizational unit paths (globs)"}
    return mapping(
        {"enabled": {**BOOLEAN, "description": "take the accounts from AWS Organizations instead of `accounts:`"},
         "exclude": {"type": "array", "items": ACCOUNT_ID, "uniqueItems": True, "expected": "a list of account ids",
                     "description": "accounts never run"},
         "role_arn": {"type": "string", "pattern": ROLE_ARN.pattern, "expected": "an IAM role ARN",
                      "description": "a role in the management account to assume for listing the organization "
                                     "(unneeded from the management account or a delegated administrator)"},
         "external_id": {"type": "string", "pattern": r"^[\w+=,.@:/-]{2,1224}$", "secret": True,
                         "expected": "an STS external id", "description": "the external id `role_arn` requires"},
         "ous": mapping({"include": {**path_list, "description": "run only accounts in these units or below"},
                         "exclude": {**path_list, "description": "never run accounts in these units or below"}},
                        "a mapping with include and exclude",
                        description="organizational units to run, by path")},
        "a mapping with enabled, exclude, role_arn, external_id and ous",
        description="accounts from AWS Organizations",
    )


def problems(doc: Mapping[str, Any]) -> list[str]:
    """What the schema cannot say: settings that only mean something with ``enabled: true``."""
    if doc.get("enabled") is True:
        return []
    return [f"organization.{key}: only used with organization.enabled: true; expected enabled: true, or no {key}"
            for key in ("role_arn", "external_id", "ous") if key in doc]


@dataclass(frozen=True)
class OrganizationSettings:
    """Whether the accounts come from AWS Organizations, and which of them run."""

    enabled: bool = False
    exclude: frozenset[str] = frozenset()
    role_arn: str | None = None
    external_id: str | None = None
    include_ous: tuple[str, ...] = ()
    exclude_ous: tuple[str, ...] = ()

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> OrganizationSettings:
        """The validated section ({} when the config has none)."""
        ous = doc.get("ous") or {}
        return cls(enabled=bool(doc.get("enabled", False)), exclude=frozenset(doc.get("exclude", [])),
                   role_arn=doc.get("role_arn"), external_id=doc.get("external_id"),
                   include_ous=tuple(ous.get("include", [])), exclude_ous=tuple(ous.get("exclude", [])))

    def runs(self, account: Account) -> bool:
        """Whether the unit filters (and ``exclude``) let this account run."""
        if account.id in self.exclude:
            return False
        if account.ou is None:
            return not self.include_ous
        if self.include_ous and not any(in_unit(account.ou, p) for p in self.include_ous):
            return False
        return not any(in_unit(account.ou, p) for p in self.exclude_ous)


def in_unit(path: str, pattern: str) -> bool:
    """Whether a unit's path is, or is below, a unit the pattern names."""
    parts = path.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1))


@dataclass(frozen=True)
class Organization:
    """What Organizations lists: its ACTIVE accounts (each with its unit's path) and the management account."""

    accounts: list[Account]
    management: str


def list_organization(settings: OrganizationSettings, clients: Clients) -> Organization:
    """The organization's ACTIVE accounts with their units' paths, walked once from the root."""
    client = organizations_client(settings, clients)
    management = str(client.describe_organization()["Organization"]["MasterAccountId"])
    level = [(root["Id"], str(root.get("Name") or "Root"))
             for page in client.get_paginator("list_roots").paginate() for root in page["Roots"]]
    accounts: list[Account] = []
    with ThreadPoolExecutor(WALKERS, thread_name_prefix="organization") as pool:
        while level:
            found = list(pool.map(lambda unit: _unit(client, *unit), level))
            accounts += [a for unit_accounts, _ in found for a in unit_accounts]
            level = [child for _, children in found for child in children]
    return Organization(sorted(accounts, key=lambda a: a.id), management)


def organizations_client(settings: OrganizationSettings, clients: Clients) -> Any:
    """An Organizations client: the runtime's own, or through ``role_arn`` in the management account."""
    if not settings.role_arn:
        return clients.client("organizations", home_region())
    match = ROLE_ARN.match(settings.role_arn)
    if match is None:  # the schema checks it; a RunConfig built otherwise may not have
        raise ValueError(f"organization.role_arn: not an IAM role ARN: {settings.role_arn!r}")
    credentials = clients.assume_role(match.group(1), match.group(2), session_name=SESSION_NAME,
                                      external_id=settings.external_id)
    return clients.client("organizations", home_region(), credentials)


def _unit(client: Any, unit_id: str, path: str) -> tuple[list[Account], list[tuple[str, str]]]:
    """One unit's ACTIVE accounts and its child units, (id, path) each."""
    accounts = [Account(a["Id"], str(a.get("Name") or a["Id"]), path)
                for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=unit_id)
                for a in page["Accounts"] if a.get("Status", a.get("State")) == "ACTIVE"]
    children = [(ou["Id"], f"{path}/{ou['Name']}")
                for page in client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=unit_id)
                for ou in page["OrganizationalUnits"]]
    return accounts, children


def select(organization: Organization, settings: OrganizationSettings, listed: Iterable[Account]) -> list[Account]:
    """The organization's accounts that run, named as the config names them (else as Organizations does)."""
    named = {a.id: a.name for a in listed}
    return [Account(a.id, named.get(a.id) or a.name, a.ou) for a in organization.accounts
            if (a.id != organization.management or a.id in named) and settings.runs(a)]
