"""Every team hears about its own accounts: an organization on moto's server with three units, a run,
then routes by unit and by tag, each to its own Slack listener on loopback, `default: unmatched`
for the platform team, mutes by tag and per route, `notify --route` and `plan --routes`."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from loopback import Listener

from collector_core.cli import main

pytestmark = pytest.mark.slow


def _client(account: str, service: str) -> Any:
    """A client inside a member account (moto's assume-role needs no role)."""
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed",
                                            RoleSessionName="seed")["Credentials"]
    return boto3.client(service, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def _volume(account: str, **tags: str) -> str:
    spec = [{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    return str(_client(account, "ec2").create_volume(AvailabilityZone="us-east-1a", Size=10,
                                                     TagSpecifications=spec)["VolumeId"])


@pytest.fixture
def org(server_env: str, tmp_path: Path) -> dict[str, str]:
    """Root/Workloads/Payments (pay), Root/Workloads/Search (search), Root/Sandbox (sandbox), scanned
    once: each name -> its account id, and each resource -> its id."""
    client = boto3.client("organizations")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    workloads = client.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    ids: dict[str, str] = {}
    for name, parent, unit in [("pay", workloads, "Payments"), ("search", workloads, "Search"),
                               ("sandbox", root, "Sandbox")]:
        ou = client.create_organizational_unit(ParentId=parent, Name=unit)["OrganizationalUnit"]["Id"]
        account = client.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        client.move_account(AccountId=account["AccountId"], SourceParentId=root, DestinationParentId=ou)
        ids[name] = account["AccountId"]
    ids["management"] = client.describe_organization()["Organization"]["MasterAccountId"]
    ids["pay-own"] = _volume(ids["pay"], team="payments")
    ids["pay-search"] = _volume(ids["pay"], team="search")  # in the payments unit, tagged for search: both
    ids["search-untagged"] = _volume(ids["search"])  # no route: the platform team's
    ids["sandbox-vol"] = _volume(ids["sandbox"], env="sandbox")
    ec2 = _client(ids["sandbox"], "ec2")
    group = ec2.create_security_group(GroupName="ssh", Description="ssh", TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "env", "Value": "sandbox"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ids["sandbox-sg"] = group
    scan = tmp_path / "scan.yaml"
    scan.write_text(f"table: routes-e2e\nregions: [us-east-1]\norganization: {{enabled: true, exclude: "
                    f"['{ids['management']}']}}\nplugins: {{iam_key_age: {{enabled: false}}}}\n")
    assert main(["run", "--config", str(scan)]) == 0
    return ids


def _config(tmp_path: Path, org: dict[str, str], url: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"""\
table: routes-e2e
regions: [us-east-1]
organization: {{enabled: true, exclude: ['{org['management']}']}}
plugins: {{iam_key_age: {{enabled: false}}}}
notify:
  on_run_complete: false
  default: unmatched
  slack: {{webhook_url: '{url}/platform'}}
{extra}  routes:
    - name: payments
      match: {{ou: [Root/Workloads/Payments]}}
      channels: {{slack: {{webhook_url: '{url}/payments'}}}}
    - name: search
      match: {{tags: {{team: sea*}}, plugins: [unattached_*]}}
      channels: {{slack: {{webhook_url: '{url}/search'}}}}
mute:
  - {{tags: {{env: sandbox}}, plugin: open_security_groups, reason: scratch account}}
  - {{route: search, resource: '{org['pay-search']}', reason: payments owns the volume}}
""")
    return path


def _texts(listener: Listener) -> dict[str, str]:
    """Each webhook's message, by the last part of its path."""
    return {r.path.rsplit("/", 1)[-1]: json.dumps(r.json()) for r in listener.received}


def test_each_route_hears_only_its_findings_and_the_default_what_no_route_matched(
        org: dict[str, str], tmp_path: Path, http_listener: Listener) -> None:
    config = _config(tmp_path, org, http_listener.url)

    assert main(["notify", "--config", str(config)]) == 0

    texts = _texts(http_listener)
    assert set(texts) == {"platform", "payments", "search"}
    # By unit: both of the payments account's volumes, the one tagged for search too.
    assert org["pay-own"] in texts["payments"] and org["pay-search"] in texts["payments"]
    assert org["search-untagged"] not in texts["payments"] and org["sandbox-vol"] not in texts["payments"]
    # By tag: only the volume tagged team=search, which the route's own mute leaves out as muted.
    assert org["pay-own"] not in texts["search"] and org["search-untagged"] not in texts["search"]
    assert "0 open findings" in texts["search"] and "1 muted" in texts["search"]
    # default: unmatched: what no route took; the open SSH group of the sandbox is muted by its tag.
    assert org["search-untagged"] in texts["platform"] and org["sandbox-vol"] in texts["platform"]
    assert org["pay-own"] not in texts["platform"] and org["pay-search"] not in texts["platform"]
    assert org["sandbox-sg"] not in texts["platform"] and "1 muted" in texts["platform"]


def test_notify_route_prints_what_that_route_would_receive(
        org: dict[str, str], tmp_path: Path, http_listener: Listener, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, org, http_listener.url)

    assert main(["notify", "--config", str(config), "--stdout", "--route", "payments"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("aws-collector (payments): 2 open findings")
    assert org["pay-own"] in out and org["pay-search"] in out and org["search-untagged"] not in out
    assert http_listener.received == []  # the flags replace the route's own channels
    assert main(["notify", "--config", str(config), "--stdout", "--route", "nobody"]) == 2
    assert "no route 'nobody' under notify.routes; expected one of: payments, search" in capsys.readouterr().err


def test_plan_routes_shows_the_accounts_each_route_covers_and_its_findings(
        org: dict[str, str], tmp_path: Path, http_listener: Listener, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, org, http_listener.url)

    assert main(["plan", "--config", str(config), "--routes", "--format", "json"]) == 0

    plan = json.loads(capsys.readouterr().out)
    routes = {r["name"]: r for r in plan["routes"]}
    assert routes["payments"]["accounts"] == [org["pay"]]
    assert sorted(routes["search"]["accounts"]) == sorted([org["pay"], org["search"], org["sandbox"]])
    assert (routes["payments"]["open"], routes["search"]["open"], routes["search"]["muted"]) == (2, 0, 1)
    assert (plan["default"]["name"], plan["default"]["open"], plan["default"]["muted"]) == ("default (unmatched)", 2, 1)
    assert main(["plan", "--config", str(config), "--routes"]) == 0
    assert "payments\n  channels  slack\n  accounts  1: " in capsys.readouterr().out


@pytest.mark.parametrize(("notify", "mute", "message"), [
    ({"routes": [{"name": "data", "channels": {"pagerduty": {}}}]}, [],
     "notify.routes[0].channels.pagerduty: unknown key 'pagerduty'; expected one of: email, html, s3,"),
    ({"routes": [{"name": "data", "channels": {"stdout": True}}]}, [{"route": "dta", "reason": "typo"}],
     "mute[0].route: unknown route 'dta'; expected one of notify.routes' names: data"),
    ({"routes": [{"name": "data", "match": {"accounts": ["1111[12"]}, "channels": {"stdout": True}}]}, [],
     "notify.routes[0].match.accounts[0]: expected a glob, got '1111[12' (a '[' without its ']')"),
    ({"routes": [{"name": "data", "match": {"tags": {"team": "[data"}}, "channels": {"stdout": True}}]}, [],
     "notify.routes[0].match.tags.team: expected a glob, got '[data'"),
    ({"routes": [{"name": "a", "channels": {"stdout": True}}, {"name": "a", "channels": {"stdout": True}}]}, [],
     "notify.routes[1].name: duplicate route 'a', also at notify.routes[0]"),
    ({"routes": [{"name": "a", "match": {"min_severity": "urgent"}, "channels": {"stdout": True}}]}, [],
     "notify.routes[0].match.min_severity: expected one of info, low, medium, high, critical"),
    ({"default": "none"}, [], "notify.default: expected all or unmatched, got the string 'none'"),
    ({}, [{"tags": {"env": "[sandbox"}, "reason": "r"}], "mute[0].tags.env: expected a glob"),
])
def test_bad_routes_exit_2_naming_the_file_and_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       notify: dict, mute: list, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"accounts": [{"id": "111111111111"}], "notify": notify, "mute": mute}))

    assert main(["notify", "--config", str(path), "--stdout"]) == 2

    assert f"{path}: {message}" in capsys.readouterr().err


def test_routes_link_the_whole_page_opened_on_their_findings(
        org: dict[str, str], tmp_path: Path, http_listener: Listener) -> None:
    boto3.client("s3").create_bucket(Bucket="reports")
    config = _config(tmp_path, org, http_listener.url, "  html: {bucket: reports}\n")

    assert main(["notify", "--config", str(config)]) == 0

    texts = _texts(http_listener)
    links = {name: re.search(r'"(http[^"]*report[^"]*)"', text) for name, text in texts.items()}
    assert links["platform"] and "route=" not in links["platform"].group(1)
    # A presigned link's query is signed: the route rides in the fragment, which the page reads.
    assert links["payments"] and links["payments"].group(1).endswith("#route=payments")
    assert links["search"] and links["search"].group(1).endswith("#route=search")
    # The page published is the whole report (default: unmatched narrows the message, not the page).
    key = boto3.client("s3").list_objects_v2(Bucket="reports")["Contents"][0]["Key"]
    html = boto3.client("s3").get_object(Bucket="reports", Key=key)["Body"].read().decode()
    data = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["totals"]["open"] == 4 and [r[0] for r in data["routes"]] == ["payments", "search"]
