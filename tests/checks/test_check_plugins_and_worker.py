"""Checks shipped by a plugin (register_checks: YAML files, no code), checks travelling to a Lambda
worker in its event (the worker never reads the config), and a check's call read page by page."""
from __future__ import annotations

import datetime as dt
import json
import types
from pathlib import Path
from typing import Any

import boto3
import pytest
import structlog

from collector_core import handlers, hookimpl
from collector_core.aws.clients import Clients
from collector_core.checks.collect import as_collector
from collector_core.checks.model import parse_checks
from collector_core.collector import Account, CollectorContext, Scope
from collector_core.config.load import load_config
from collector_core.findings import current_findings
from collector_core.plugins import PluginSpec, load_plugins
from collector_core.runtime import director
from collector_core.runtime.planning import plan_accounts
from collector_core.store import Store

FREE_EIPS = """\
checks:
  free_eips:
    summary: Elastic IPs that are not associated with anything
    call: ec2.describe_addresses
    select: "Addresses[?AssociationId == null]"
    id: AllocationId
    message: "Elastic IP {PublicIp} is not associated"
    severity: low
"""
SPEC = PluginSpec("eips", "aws-collector-eips", "1.0", "aws_collector_eips")


def plugin(*paths: Any) -> types.ModuleType:
    """A plugin module that is checks only: its one hook registers files."""
    module = types.ModuleType("aws_collector_eips")

    @hookimpl
    def register_checks(register: Any) -> None:
        for path in paths:
            register(path)

    module.register_checks = register_checks  # type: ignore[attr-defined]
    return module


def test_a_plugin_ships_checks_as_yaml(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(FREE_EIPS)
    registry = load_plugins([], extra=[(SPEC, plugin(path))])
    assert registry.failures == []
    assert registry.collectors["free_eips"].plugin == SPEC
    collector = registry["free_eips"]
    assert (collector.scope, collector.permissions, collector.summary) == (
        Scope.REGIONAL, ["ec2:DescribeAddresses"], "Elastic IPs that are not associated with anything")
    listed = registry.describe()["plugins"][0]
    assert listed["distribution"] == "aws-collector-eips" and listed["collectors"][0]["name"] == "free_eips"


@pytest.mark.parametrize(("content", "says"), [
    (FREE_EIPS.replace("ec2.describe_addresses", "ec2.release_address"), "checks.free_eips.call: ec2:ReleaseAddress"),
    (FREE_EIPS.replace("severity: low", "severity: dire"), "checks.free_eips.severity: 'dire' is not a severity"),
    ("checks: {a: [\n", "not valid YAML"),
    (None, "cannot read it"),
])
def test_a_broken_checks_file_is_the_plugins_named_failure(content: str | None, says: str, tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    if content is not None:
        path.write_text(content)
    other = PluginSpec("fine", "aws-collector-fine", "1.0", "aws_collector_fine")
    fine = tmp_path / "fine.yaml"
    fine.write_text(FREE_EIPS.replace("free_eips", "fine_eips"))
    registry = load_plugins([], extra=[(SPEC, plugin(path)), (other, plugin(fine))])
    [failure] = registry.failures
    assert (failure.plugin, failure.stage) == (SPEC, "register")
    assert str(path) in failure.error and says in failure.error, failure.error
    assert registry.names() == ["fine_eips"]  # the other plugin loads; nothing of the broken one does


def test_register_checks_takes_paths_only(tmp_path: Path) -> None:
    registry = load_plugins([], extra=[(SPEC, plugin(FREE_EIPS))])
    [failure] = registry.failures
    assert "not a pathlib.Path" in failure.error


def test_a_lambda_worker_runs_the_configs_checks_from_its_event(server_env: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    account = Account("111111111111", "prod")
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account.id}:role/r",
                                            RoleSessionName="test")["Credentials"]
    ec2 = boto3.client("ec2", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    free = {ec2.allocate_address(Domain="vpc")["AllocationId"] for _ in range(3)}
    config = tmp_path / "config.yaml"
    config.write_text(f"table: findings\nregions: [us-east-1]\naccounts: [{{id: '{account.id}'}}]\n"
                      "plugins: {unattached_ebs: {enabled: false}, iam_key_age: {enabled: false},\n"
                      "          open_security_groups: {enabled: false}}\n" + FREE_EIPS)
    installed = load_plugins()
    cfg = load_config(str(config), installed)
    store = Store("findings", Clients().client("dynamodb", "us-east-1"))
    store.ensure_table()
    [event] = director.worker_events(cfg, plan_accounts(cfg, cfg.registry(installed), [account]), "run-1", 1)
    payload = json.loads(json.dumps(event.to_dict()))  # as Lambda hands it over
    assert payload["checks"] == {"free_eips": cfg.checks[0].to_doc()}

    monkeypatch.delenv(handlers.CONFIG_ENV, raising=False)  # the worker never reads the config
    monkeypatch.setattr(handlers, "_runtime", handlers.Runtime(installed, Clients()))
    monkeypatch.setattr(handlers, "_config", None)
    ends = dt.datetime.now().timestamp() + 120
    context = types.SimpleNamespace(aws_request_id="req-1",
                                    get_remaining_time_in_millis=lambda: int((ends - dt.datetime.now().timestamp())
                                                                             * 1000))
    result = handlers.worker(payload, context)
    assert result["status"] == "ok", result
    seen = {(f["plugin"], f["resource_id"]) for f in current_findings(store.account_state(account.id),
                                                                       dt.datetime.now(dt.timezone.utc))}
    assert seen == {("free_eips", eip) for eip in free}


def test_a_check_reads_every_page_of_its_call(mocked_aws: None) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    for i in range(12):
        logs.create_log_group(logGroupName=f"g{i:02d}")
    calls: list[str] = []
    logs.meta.events.register("before-call.logs.DescribeLogGroups", lambda **_: calls.append("call"))
    [check] = parse_checks({"all_groups": {"summary": "s", "call": "logs.describe_log_groups", "params": {"limit": 5},
                                           "select": "logGroups", "id": "logGroupName",
                                           "message": "{logGroupName}"}}, "test")
    ctx = CollectorContext(account=Account("123456789012", "a"), region="us-east-1", options={"params": {"limit": 5}},
                           log=structlog.get_logger(), now=dt.datetime.now(dt.timezone.utc),
                           clients=lambda service, region: logs)
    found = list(as_collector(check).collect(ctx))
    assert len(calls) == 3  # 5 + 5 + 2, merged before select
    assert sorted(f.resource_id for f in found) == [f"g{i:02d}" for i in range(12)]
    assert found[0].summary == found[0].resource_id and isinstance(found[0].details["creationTime"], int)
