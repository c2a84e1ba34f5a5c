"""The director: which accounts run, with what, and that fan-out hands every account over."""
from __future__ import annotations

import datetime as dt

import boto3
import pytest

from collector_core.aws.clients import Clients
from collector_core.config.load import parse_config
from collector_core.plugins import load_plugins
from collector_core.runtime.director import new_run_id, resolve_accounts, run, worker_events
from collector_core.runtime.events import WorkerEvent
from collector_core.runtime.planning import plan_accounts
from collector_core.store import Store


@pytest.fixture
def org(mocked_aws: None) -> list[str]:
    client = boto3.client("organizations")
    client.create_organization(FeatureSet="ALL")
    return [client.create_account(Email=f"a{i}@example.com", AccountName=f"acct-{i}")
            ["CreateAccountStatus"]["AccountId"] for i in range(4)]


def test_organization_accounts_minus_excludes_with_config_names(org: list[str]) -> None:
    registry = load_plugins()
    config = parse_config({
        "organization": {"enabled": True, "exclude": [org[0]]},
        "accounts": [{"id": org[1], "name": "renamed"}],
    }, "c.yaml", registry)
    accounts = resolve_accounts(config, Clients())
    ids = [a.id for a in accounts]
    assert org[0] not in ids and set(org[1:]) <= set(ids)
    assert {a.id: a.name for a in accounts}[org[1]] == "renamed"
    assert {a.id: a.name for a in accounts}[org[2]] == "acct-2"


def test_suspended_accounts_are_skipped(org: list[str]) -> None:
    from moto.organizations.models import organizations_backends

    backend = organizations_backends["123456789012"]["aws"]
    next(a for a in backend.accounts if a.id == org[3]).status = "SUSPENDED"
    config = parse_config({"organization": {"enabled": True}}, "c.yaml", load_plugins())
    assert org[3] not in [a.id for a in resolve_accounts(config, Clients())]


def test_plan_merges_defaults_plugins_and_account_overrides() -> None:
    registry = load_plugins()
    config = parse_config({
        "regions": ["eu-west-1", "us-east-1"],
        "plugins": {"iam_key_age": {"max_age_days": 30}, "unattached_ebs": {"enabled": False}},
        "accounts": [
            {"id": "111111111111", "name": "prod"},
            {"id": "222222222222", "name": "sandbox", "regions": ["us-east-1"],
             "plugins": {"open_security_groups": {"enabled": False}, "unattached_ebs": {"enabled": True},
                         "iam_key_age": {"max_age_days": 7}}},
        ],
    }, "c.yaml", registry)
    prod, sandbox = worker_events(config, plan_accounts(config, registry, config.configured_accounts()), "run-1", 1)
    assert prod.regions == ["eu-west-1", "us-east-1"]
    assert prod.collectors == {"iam_key_age": {"max_age_days": 30},
                               "open_security_groups": {"allowed_ports": [80, 443]}}
    assert sandbox.regions == ["us-east-1"]
    assert sandbox.collectors == {"iam_key_age": {"max_age_days": 7}, "unattached_ebs": {}}
    assert WorkerEvent.from_dict(sandbox.to_dict()) == sandbox


def test_fan_out_hands_every_account_to_the_invoker_and_records_the_run(mocked_aws: None) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.events: list[WorkerEvent] = []

        def invoke(self, events: list[WorkerEvent]) -> None:
            self.events = events

    registry = load_plugins()
    config = parse_config({"accounts": [{"id": f"{i:012d}", "name": f"a{i}"} for i in range(1, 6)]},
                          "c.yaml", registry)
    clients = Clients()
    store = Store(config.table, clients.client("dynamodb", "us-east-1"))
    store.ensure_table()
    recorder = Recorder()
    result = run(config, registry, recorder, clients=clients, store=store)
    assert [e.account.id for e in recorder.events] == [f"{i:012d}" for i in range(1, 6)]
    assert {e.run_id for e in recorder.events} == {result.run_id}
    run_record = store.run(result.run_seq)
    assert run_record is not None and (run_record.done, run_record.expected) == (0, 5)
    assert {e.run_seq for e in recorder.events} == {result.run_seq}


def test_run_ids_sort_in_start_order_within_one_second() -> None:
    # Runs are ordered by the table's numbers; their names still read in the order they started,
    # whatever the random suffixes.
    start = dt.datetime(2026, 11, 23, 6, 0, 0, 500_000, tzinfo=dt.timezone.utc)
    for _ in range(50):
        first, second = new_run_id(start), new_run_id(start + dt.timedelta(milliseconds=1))
        assert first < second
