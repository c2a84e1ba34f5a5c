"""`aws-collector plan` and the subset a run is narrowed to: a user sees what a run would do before
it runs, and re-runs one collector in one account without touching the rest."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from collector_core.cli import main
from collector_core.config.load import parse_config
from collector_core.config.model import Config
from collector_core.plugins import load_plugins
from collector_core.runtime.planning import AccountPlan, Subset, SubsetError, plan_accounts

PROD, SANDBOX = "111111111111", "222222222222"
CONFIG = f"""\
table: plan-test
regions: all
accounts:
  - {{id: "{PROD}", name: prod}}
  - id: "{SANDBOX}"
    name: sandbox
    regions: [us-east-1, eu-west-1]
    plugins: {{open_security_groups: {{enabled: false}}, iam_key_age: {{max_age_days: 30}}}}
plugins:
  iam_key_age: {{enabled: true, max_age_days: 90}}
  open_security_groups: {{allowed_ports: [443]}}
"""


def config() -> Config:
    import yaml

    return parse_config(yaml.safe_load(CONFIG), "config.yaml", load_plugins())


def plans(subset: Subset | None = None) -> dict[str, AccountPlan]:
    cfg = config()
    return {p.account.id: p for p in plan_accounts(cfg, load_plugins(), cfg.configured_accounts(), subset)}


def test_plan_json_shows_each_accounts_regions_and_collectors_with_merged_options(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)

    assert main(["plan", "--config", str(path), "--format", "json"]) == 0

    assert json.loads(capsys.readouterr().out) == {"accounts": [
        {"id": PROD, "name": "prod", "ou": None, "regions": "all", "collectors": {
            "iam_key_age": {"max_age_days": 90}, "open_security_groups": {"allowed_ports": [443]},
            "unattached_ebs": {}}},
        {"id": SANDBOX, "name": "sandbox", "ou": None, "regions": ["us-east-1", "eu-west-1"], "collectors": {
            "iam_key_age": {"max_age_days": 30}, "unattached_ebs": {}}},
    ]}


def test_plan_table_reads_as_a_list_per_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)

    assert main(["plan", "--config", str(path)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2 accounts (the config's list); nothing is collected by plan"
    assert lines[1:6] == [
        f"{PROD}  prod",
        "  regions     all (those enabled in the account)",
        "  collectors  iam_key_age (global)  max_age_days=90",
        "              open_security_groups  allowed_ports=[443]",
        "              unattached_ebs",
    ]
    assert lines[6:8] == [f"{SANDBOX}  sandbox", "  regions     us-east-1, eu-west-1"]


@pytest.mark.slow
def test_plan_with_organizations_lists_its_active_accounts_and_writes_nothing(
        server_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    ids = [org.create_account(Email=f"a{i}@example.com", AccountName=f"member-{i}")["CreateAccountStatus"]
           ["AccountId"] for i in range(3)]
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    path = tmp_path / "config.yaml"
    path.write_text(f"regions: [eu-west-1]\norganization: {{enabled: true, exclude: ['{management}', '{ids[2]}']}}\n"
                    f"accounts: [{{id: '{ids[1]}', name: renamed, plugins: {{unattached_ebs: {{enabled: false}}}}}}]\n")

    assert main(["plan", "--config", str(path), "--format", "json"]) == 0

    accounts = json.loads(capsys.readouterr().out)["accounts"]
    assert [(a["id"], a["name"]) for a in accounts] == sorted([(ids[0], "member-0"), (ids[1], "renamed")])
    by_id = {a["id"]: a for a in accounts}
    assert by_id[ids[1]]["regions"] == ["eu-west-1"]
    assert set(by_id[ids[0]]["collectors"]) - set(by_id[ids[1]]["collectors"]) == {"unattached_ebs"}
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []  # nothing recorded, nothing run


def test_a_subset_keeps_only_the_places_all_filters_select() -> None:
    chosen = plans(Subset.of(accounts=[SANDBOX], plugins=["unattached_ebs"], regions=["eu-west-1"]))

    assert chosen == {SANDBOX: AccountPlan(chosen[SANDBOX].account, ["eu-west-1"], {"unattached_ebs": {}})}


def test_a_region_filter_narrows_all_to_the_named_regions_and_leaves_global_collectors_out() -> None:
    chosen = plans(Subset.of(regions=["us-east-1"]))

    assert chosen[PROD].regions == ["us-east-1"]
    assert set(chosen[PROD].collectors) == {"open_security_groups", "unattached_ebs"}
    assert (chosen[SANDBOX].regions, set(chosen[SANDBOX].collectors)) == (["us-east-1"], {"unattached_ebs"})


def test_global_collectors_run_for_region_global_or_without_a_region_filter() -> None:
    only_global = plans(Subset.of(regions=["global"]))
    assert {a: set(p.collectors) for a, p in only_global.items()} == {PROD: {"iam_key_age"}, SANDBOX: {"iam_key_age"}}
    by_plugin = plans(Subset.of(plugins=["iam_key_age"]))
    assert by_plugin[SANDBOX].collectors == {"iam_key_age": {"max_age_days": 30}}


def test_an_account_whose_regions_miss_the_filter_is_left_out_unless_named() -> None:
    assert set(plans(Subset.of(regions=["ap-southeast-2"]))) == {PROD}  # sandbox scans us-east-1, eu-west-1

    with pytest.raises(SubsetError, match=f"^--account {SANDBOX}: nothing to run there"):
        plans(Subset.of(accounts=[SANDBOX], regions=["ap-southeast-2"]))


@pytest.mark.parametrize(("subset", "message"), [
    (Subset.of(plugins=["nope"]), "--plugin nope: no such collector (installed: iam_key_age, "
                                  "open_security_groups, unattached_ebs)"),
    (Subset.of(regions=["moon-1"]), "--region moon-1: not a region name"),
    (Subset.of(accounts=["333333333333"]), "--account 333333333333: not an account this config runs"),
    (Subset.of(accounts=[SANDBOX], plugins=["open_security_groups"]),
     "--plugin open_security_groups: not enabled for the selected accounts"),
    (Subset.of(plugins=["iam_key_age"], regions=["us-east-1"]),
     "--plugin iam_key_age: a global collector, and --region leaves out global"),
    (Subset.of(accounts=[SANDBOX], regions=["ap-southeast-2"]),
     "--region ap-southeast-2: no selected collector runs there"),
])
def test_a_filter_that_selects_nothing_is_named(subset: Subset, message: str) -> None:
    with pytest.raises(SubsetError) as raised:
        plans(subset)

    assert message in str(raised.value)


def test_every_filter_that_selects_nothing_is_named_at_once() -> None:
    with pytest.raises(SubsetError) as raised:
        plans(Subset.of(plugins=["nope", "unattached_ebs"], regions=["moon-1"]))

    assert str(raised.value).splitlines() == [
        "--plugin nope: no such collector (installed: iam_key_age, open_security_groups, unattached_ebs)",
        "--region moon-1: not a region name; expected one such as eu-west-1, or global for global collectors",
    ]


def test_a_subset_describes_itself_as_it_was_given() -> None:
    subset: Any = Subset.of(accounts=[PROD], plugins=["unattached_ebs", "iam_key_age"], regions=["global"])

    assert subset.describe() == (f"--account {PROD} --plugin iam_key_age --plugin unattached_ebs --region global")
    assert not Subset()


def test_accounts_without_overrides_share_one_merge_but_not_their_options() -> None:
    import yaml

    doc = yaml.safe_load(CONFIG)
    doc["accounts"].append({"id": "333333333333", "name": "third"})
    cfg, registry = parse_config(doc, "config.yaml", load_plugins()), load_plugins()
    prod, third = cfg.collectors_for(PROD, registry), cfg.collectors_for("333333333333", registry)
    assert prod == third and prod["open_security_groups"]["allowed_ports"] == [443]
    prod["open_security_groups"]["allowed_ports"] = [22]  # one account's plan is its own to change
    assert cfg.collectors_for("333333333333", registry)["open_security_groups"]["allowed_ports"] == [443]
    sandbox = cfg.collectors_for(SANDBOX, registry)
    assert "open_security_groups" not in sandbox and sandbox["iam_key_age"]["max_age_days"] == 30
