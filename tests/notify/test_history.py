"""The history: each run's report leaves a compact summary that outlives the findings, written once
per run by whoever completes the run's report, and read back newest runs last."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from notify_helpers import NOW, PROD, SANDBOX, account_run, config_with, finding, report_of, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.findings import PluginCounts, RunSummary
from collector_core.notify import history
from collector_core.notify.channels import notify_run_complete, record_run, report_from_table, run_notifier
from collector_core.plugins import Registry, load_plugins
from collector_core.results import Failure
from collector_core.store import layout

EBS, SG = "unattached_ebs", "open_security_groups"
LATER = NOW.replace(year=2100)  # items built for NOW would have expired by the real clock


def two_runs(now: dt.datetime = NOW) -> list[Any]:
    return [
        run_record("r1", [PROD, SANDBOX], started=now - dt.timedelta(days=1)),
        run_record("r2", [PROD, SANDBOX], started=now),
        account_run(PROD, "r1", [("us-east-1", EBS), ("us-east-1", SG)]),
        account_run(PROD, "r2", [("us-east-1", EBS), ("us-east-1", SG)]),
        account_run(SANDBOX, "r2", [], errors=[Failure(SANDBOX.id, "eu-west-1", EBS, "AccessDenied", "denied")]),
        finding(PROD, "us-east-1", EBS, "vol-kept", run="r2", first_run="r1", now=now),
        finding(PROD, "us-east-1", EBS, "vol-new", run="r2", now=now),
        finding(PROD, "us-east-1", EBS, "vol-gone", run="r1", now=now),
        finding(PROD, "us-east-1", SG, "sg-open", run="r2", first_run="r1", severity="high", now=now),
    ]


def test_a_runs_summary_is_its_report_in_numbers(mocked_aws: None) -> None:
    report = report_of(two_runs(), now=NOW)

    summary = history.summarise(report)

    assert summary == RunSummary(
        run_id="r2", run_seq=2, time="2025-06-02T12:00:00Z", accounts=2,
        plugins={EBS: PluginCounts(open=2, new=1, resolved=1, muted=0), SG: PluginCounts(open=1)},
        severities={"high": 1, "medium": 2}, problems=(("222222222222", "failed"),), problem_count=1)


def test_a_report_of_no_run_has_no_summary(mocked_aws: None) -> None:
    assert history.summarise(report_of([finding(PROD, "us-east-1", EBS, "vol-1", run="r1")])) is None


def test_a_summary_is_written_once_kept_for_history_days_and_read_back_oldest_first(mocked_aws: None) -> None:
    store = table_with([])
    summaries = [RunSummary(f"r{n}", n, f"2025-06-{n:02d}T06:00:00Z", 3, {EBS: PluginCounts(open=n)})
                 for n in range(1, 8)]
    for summary in summaries:
        assert store.write_history(summary, now=NOW, ttl_days=400)

    again = RunSummary("r7", 7, "2025-06-07T06:00:00Z", 3, {EBS: PluginCounts(open=999)})
    assert not store.write_history(again, now=NOW, ttl_days=400)  # the first writer's numbers stand

    assert store.history(3) == summaries[-3:]
    assert store.history(100) == summaries
    item = store._client.get_item(TableName=store.table, Key=layout.history_key(7))
    assert int(item["Item"]["ttl"]["N"]) == int(NOW.timestamp()) + 400 * 86400
    assert len(item["Item"]["numbers"]["S"]) < 300  # a few hundred bytes a run


def test_the_history_pages_through_the_table_for_a_years_runs(mocked_aws: None) -> None:
    store = table_with([])
    for n in range(1, 401):
        store.write_history(RunSummary(f"r{n}", n, "2025-06-02T06:00:00Z", 1, {EBS: PluginCounts(open=n)}),
                            now=NOW, ttl_days=400)

    year = store.history(365)

    assert [s.run_seq for s in year] == list(range(36, 401))


def test_the_notifier_keeps_a_runs_summary_once_with_the_configs_history_days(
    mocked_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    store = table_with(two_runs(LATER))
    config = config_with(notify={"stdout": True})

    result = notify_run_complete(2, config.notify, mutes=(), registry=load_plugins(), store=store,
                                 clients=Clients(), now=LATER, history_days=30)

    assert result is not None and result.ok
    (summary,) = store.history(10)
    assert summary.run_id == "r2" and summary.plugins[EBS] == PluginCounts(open=2, new=1, resolved=1)
    item = store._client.get_item(TableName=store.table, Key=layout.history_key(2))
    assert int(item["Item"]["ttl"]["N"]) == int(LATER.timestamp()) + 30 * 86400
    # A scheduled report (of no particular run) and a retry of the run's report add nothing.
    run_notifier(config.notify, mutes=(), registry=load_plugins(), store=store, clients=Clients())
    run_notifier(config.notify, mutes=(), registry=load_plugins(), store=store, clients=Clients(), run_seq=2)
    assert len(store.history(10)) == 1


def test_a_run_with_no_report_to_send_still_keeps_its_summary(mocked_aws: None) -> None:
    store = table_with(two_runs(LATER))

    assert record_run(2, mutes=(), registry=Registry(), store=store, now=LATER)
    assert not record_run(2, mutes=(), registry=Registry(), store=store, now=LATER)

    assert [(s.run_id, s.plugins[EBS].open) for s in store.history(30)] == [("r2", 2)]
    report = report_from_table(store, registry=Registry(), mutes=(), now=LATER)
    assert history.summarise(report) == store.history(1)[0]
