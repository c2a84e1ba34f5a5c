"""Accounts from AWS Organizations on moto's server: each with its organizational unit's path, the
units a config runs chosen by path, the management account left out unless listed, and the
organization listed once per run however many accounts it holds."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from collector_core.aws.clients import Clients, Credentials
from collector_core.cli import main
from collector_core.collector import Account
from collector_core.config.load import parse_config
from collector_core.plugins import load_plugins
from collector_core.runtime.director import resolve_accounts
from collector_core.runtime.organization import in_unit
from collector_core.store import Store

pytestmark = pytest.mark.slow


@dataclass
class Org:
    management: str
    by_name: dict[str, str]  # account name -> id
    units: int  # organizational units, the root included


@pytest.fixture
def org(server_env: str) -> Org:
    """Root/Workloads/Payments (pay-1, pay-2), Root/Workloads/Search (search), Root/Sandbox (sandbox),
    and loose in the root: the management account and one member."""
    client = boto3.client("organizations")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]

    def unit(parent: str, name: str) -> str:
        return str(client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])

    workloads = unit(root, "Workloads")
    units = {"Payments": unit(workloads, "Payments"), "Search": unit(workloads, "Search"),
             "Sandbox": unit(root, "Sandbox")}
    by_name = {}
    for name, where in [("pay-1", "Payments"), ("pay-2", "Payments"), ("search", "Search"), ("sandbox", "Sandbox"),
                        ("loose", None)]:
        status = client.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        account = status["AccountId"]
        if where:
            client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=units[where])
        by_name[name] = account
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    return Org(management, by_name, units=5)


def write_config(tmp_path: Path, organization: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"table: org-test\nregions: [us-east-1]\norganization: {organization}\n{extra}")
    return path


def plan_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    assert main(["plan", "--config", str(path), "--format", "json"]) == 0
    return {a["name"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}


def test_plan_shows_each_accounts_unit_and_leaves_the_management_account_out(
        org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    renamed = f"accounts: [{{id: '{org.by_name['pay-2']}', name: payments-two}}]\n"
    path = write_config(tmp_path, "{enabled: true}", renamed)

    accounts = plan_json(path, capsys)

    assert {name: a["ou"] for name, a in accounts.items()} == {
        "pay-1": "Root/Workloads/Payments", "payments-two": "Root/Workloads/Payments",
        "search": "Root/Workloads/Search", "sandbox": "Root/Sandbox", "loose": "Root"}
    assert org.management not in {a["id"] for a in accounts.values()}

    assert main(["plan", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "5 accounts (the organization's active accounts); nothing is collected by plan"
    at = lines.index(f"{org.by_name['search']}  search")
    assert lines[at + 1] == "  ou          Root/Workloads/Search"


def test_the_management_account_runs_when_the_config_lists_it(
        org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "{enabled: true}", f"accounts: [{{id: '{org.management}', name: management}}]\n")

    accounts = plan_json(path, capsys)

    assert accounts["management"]["ou"] == "Root" and len(accounts) == 6


@pytest.mark.parametrize("ous, names", [
    ("{include: [Root/Workloads]}", {"pay-1", "pay-2", "search"}),  # a unit covers the units below it
    ("{include: [Root/Workloads], exclude: ['*/Search']}", {"pay-1", "pay-2"}),
    ("{exclude: [Root/Workloads/*, Root/Sandbox]}", {"loose"}),
    ("{include: [Root/Work*]}", {"pay-1", "pay-2", "search"}),
    ("{include: [Root/Workloads/Pay]}", set()),  # a path, not a prefix of a name
])
def test_units_are_chosen_by_path(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str], ous: str,
                                  names: set[str]) -> None:
    path = write_config(tmp_path, f"{{enabled: true, ous: {ous}}}")

    if not names:
        assert main(["plan", "--config", str(path), "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["accounts"] == []
        return
    assert set(plan_json(path, capsys)) == names


class CountingClients(Clients):
    """Real clients that count the Organizations calls they make, and record roles assumed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.assumed: list[tuple[str, str, str | None]] = []

    def client(self, service: str, region: str, credentials: Any = None, **kwargs: Any) -> Any:
        if service == "organizations":
            kwargs["on_call"] = lambda _region, _service, operation: self.calls.update([operation])
            return self._make(service, region, credentials, kwargs["on_call"])
        return super().client(service, region, credentials, **kwargs)

    def assume_role(self, account_id: str, role_name: str, **kwargs: Any) -> Credentials:
        self.assumed.append((account_id, role_name, kwargs.get("external_id")))
        return super().assume_role(account_id, role_name, **kwargs)


def test_the_organization_is_listed_once_per_run_two_calls_a_unit_not_one_per_account(org: Org) -> None:
    config = parse_config({"organization": {"enabled": True}}, "c.yaml", load_plugins())
    clients = CountingClients()

    accounts = resolve_accounts(config, clients)

    assert len(accounts) == 5
    assert clients.calls == Counter({"DescribeOrganization": 1, "ListRoots": 1, "ListAccountsForParent": org.units,
                                     "ListOrganizationalUnitsForParent": org.units})
    assert clients.assumed == []


def test_role_arn_lists_the_organization_through_a_role_in_the_management_account(org: Org) -> None:
    role = f"arn:aws:iam::{org.management}:role/org/aws-collector-organization"
    config = parse_config({"organization": {"enabled": True, "role_arn": role, "external_id": "shared-secret"}},
                          "c.yaml", load_plugins())
    clients = CountingClients()

    accounts = resolve_accounts(config, clients)

    assert clients.assumed == [(org.management, "org/aws-collector-organization", "shared-secret")]
    assert {a.ou for a in accounts} == {"Root", "Root/Sandbox", "Root/Workloads/Payments", "Root/Workloads/Search"}


def test_a_run_carries_the_unit_to_each_worker_and_into_the_accounts_index(
        org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "{enabled: true, ous: {include: [Root/Workloads/Payments]}}",
                        "plugins: {iam_key_age: {enabled: false}, open_security_groups: {enabled: false}}\n")

    assert main(["run", "--config", str(path)]) == 0

    indexed = Store.open("org-test", Clients()).indexed_accounts()
    assert indexed == sorted([Account(org.by_name["pay-1"], "pay-1", "Root/Workloads/Payments"),
                              Account(org.by_name["pay-2"], "pay-2", "Root/Workloads/Payments")], key=lambda a: a.id)


@pytest.mark.parametrize("organization, says", [
    ("{enabled: false, ous: {include: [Root/Workloads]}}",
     "organization.ous: only used with organization.enabled: true"),
    ("{enabled: true, ous: {include: [Workloads/Payments]}}",
     "organization.ous.include[0]: expected an organizational unit's path from Root"),
    ("{enabled: true, role_arn: 'arn:aws:iam::123:role/x'}", "organization.role_arn: expected an IAM role ARN"),
    ("{enabled: true, ous: {only: [Root]}}", "organization.ous"),
])
def test_bad_organization_settings_exit_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          organization: str, says: str) -> None:
    path = write_config(tmp_path, organization)

    assert main(["plan", "--config", str(path)]) == 2

    assert says in capsys.readouterr().err


def test_a_pattern_covers_its_unit_and_the_units_below() -> None:
    assert in_unit("Root/Workloads/Payments", "Root/Workloads")
    assert in_unit("Root/Workloads/Payments", "Root/*/Payments")
    assert in_unit("Root/Workloads/Payments", "Root")
    assert not in_unit("Root/Workloads", "Root/Workloads/Payments")
    assert not in_unit("Root/Workloads-Old", "Root/Workloads")
