"""The report a user reads: what is new, what was resolved, what is muted, and which scans it
cannot vouch for, built from the items the worker and director store."""
from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping
from typing import Any

import pytest
from notify_helpers import NOW, PROD, SANDBOX, account_run, finding, report_of, run_record

from collector_core.collector import Collector, Scope
from collector_core.notify import report as report_module
from collector_core.notify.mutes import Mute
from collector_core.notify.report import (
    IN_MEMORY,
    AccountProblem,
    Entry,
    EntryList,
    PluginSection,
    Report,
    section_title,
)
from collector_core.notify.text import render
from collector_core.plugins import PluginSpec, Registry
from collector_core.results import Failure

EBS, SG = "unattached_ebs", "open_security_groups"


def ids(entries: list[Any]) -> list[str]:
    return [e.resource_id for e in entries]


def two_runs() -> list[Any]:
    return [
        run_record("r1", [PROD], started=NOW - dt.timedelta(days=1)),
        run_record("r2", [PROD]),
        account_run(PROD, "r1", [("us-east-1", EBS)]),
        account_run(PROD, "r2", [("us-east-1", EBS)]),
        finding(PROD, "us-east-1", EBS, "vol-kept", run="r2", first_run="r1",
                first_seen=NOW - dt.timedelta(days=40)),
        finding(PROD, "us-east-1", EBS, "vol-new", run="r2"),
        finding(PROD, "us-east-1", EBS, "vol-gone", run="r1"),  # seen in r1, not in r2
        finding(PROD, "us-east-1", EBS, "vol-long-gone", run="r0"),  # already resolved by r1
    ]


def test_new_and_resolved_are_relative_to_the_previous_run(mocked_aws: None) -> None:
    report = report_of(two_runs(), now=NOW)

    (section,) = report.sections
    assert ids(section.open) == ["vol-kept", "vol-new"]
    assert [e.is_new for e in section.open] == [False, True]
    assert ids(section.resolved) == ["vol-gone"]  # once: vol-long-gone was news last time
    assert (report.open, report.new, report.resolved) == (2, 1, 1)
    assert report.headline() == "aws-collector: 2 open findings (1 new, 1 resolved)"
    assert section.open.head(1)[0].open_days(NOW) == 40
    assert report.problems == []


def test_a_failed_region_resolves_nothing_and_a_silent_account_is_named(mocked_aws: None) -> None:
    items = [
        run_record("r1", [PROD, SANDBOX], started=NOW - dt.timedelta(days=1)),
        run_record("r2", [PROD, SANDBOX]),
        account_run(PROD, "r1", [("eu-west-1", EBS)]),
        account_run(PROD, "r2", [], errors=[Failure(PROD.id, "eu-west-1", EBS, "AccessDenied", "no")]),
        account_run(SANDBOX, "r1", [("us-east-1", SG)]),
        finding(PROD, "eu-west-1", EBS, "vol-old", run="r1"),
        finding(SANDBOX, "us-east-1", SG, "sg-old", run="r1"),
    ]
    report = report_of(items, now=NOW)

    assert sorted(ids([e for s in report.sections for e in s.open])) == ["sg-old", "vol-old"]
    assert report.resolved == 0
    assert not any(e.is_new for s in report.sections for e in s.open)  # nothing is new to a silent account
    problems = {p.account_id: p for p in report.problems}
    assert problems[PROD.id].status == "failed"
    assert "eu-west-1 unattached_ebs: AccessDenied" in problems[PROD.id].detail
    assert problems[SANDBOX.id].status == "never reported"
    assert "last reported in run r1" in problems[SANDBOX.id].detail
    text = render(report)
    assert "Incomplete scans (their earlier findings stay open):" in text
    assert f"{SANDBOX.id} sandbox: never reported" in text


def test_a_deadline_cut_account_is_incomplete(mocked_aws: None) -> None:
    items = [run_record("r1", [PROD]),
             account_run(PROD, "r1", [("us-east-1", EBS)], complete=False,
                         errors=[Failure(PROD.id, "eu-west-1", "-", "DeadlineExceeded", "stopped")])]
    (problem,) = report_of(items, now=NOW).problems
    assert problem.status == "incomplete"
    assert "DeadlineExceeded" in problem.detail


def test_expired_items_are_left_out_even_before_dynamodb_deletes_them(mocked_aws: None) -> None:
    items = [run_record("r1", [PROD]), account_run(PROD, "r1", []),
             finding(PROD, "us-east-1", EBS, "vol-expired", run="r1", now=NOW - dt.timedelta(days=8)),
             finding(PROD, "us-east-1", EBS, "vol-live", run="r1")]
    report = report_of(items, now=NOW)
    assert ids(report.sections[0].open) == ["vol-live"]


def test_muted_findings_stay_out_of_the_message_and_an_expiry_is_announced_once(mocked_aws: None) -> None:
    items = [
        *two_runs(),
        finding(PROD, "us-east-1", SG, "sg-0abc1", run="r2", first_run="r1"),
        finding(PROD, "us-east-1", SG, "sg-0def2", run="r2", first_run="r1"),
    ]
    active = Mute(plugin=SG, reason="public bastion", account=PROD.id, resource="sg-0abc*",
                  expires=NOW.date())
    report = report_of(items, now=NOW, mutes=[active])
    sg = next(s for s in report.sections if s.plugin == SG)
    assert ids(sg.open) == ["sg-0def2"]
    assert ids(sg.muted) == ["sg-0abc1"]
    assert report.muted == 1 and report.expired_mutes == []
    assert "sg-0abc1" not in render(report)

    expired = Mute(plugin=SG, reason="public bastion", resource="sg-0abc*",
                   expires=NOW.date() - dt.timedelta(days=1))  # the day of the previous run r1
    report = report_of(items, now=NOW, mutes=[expired])
    sg = next(s for s in report.sections if s.plugin == SG)
    assert ids(sg.open) == ["sg-0abc1", "sg-0def2"]
    assert report.expired_mutes == [expired]
    assert "Mutes that have expired" in render(report)

    later = report_of([*items, run_record("r3", [PROD], started=NOW + dt.timedelta(days=1))],
                         now=NOW + dt.timedelta(days=1), mutes=[expired])
    assert later.expired_mutes == []  # said once, in the first report after it expired


def test_a_collectors_format_hook_renders_its_lines_and_a_broken_one_falls_back(mocked_aws: None) -> None:
    def fmt(f: Mapping[str, Any]) -> str:
        return f"{f['resource_id']} costs ${f['details']['cost']}/month"

    def broken(f: Mapping[str, Any]) -> str:
        raise KeyError("nope")

    registry = Registry()
    spec = PluginSpec("test", "test", "0", "test")
    registry.add(Collector(EBS, Scope.REGIONAL, "x", collect=lambda ctx: [], format=fmt), spec)
    registry.add(Collector(SG, Scope.REGIONAL, "x", collect=lambda ctx: [], format=broken), spec)
    items = [run_record("r1", [PROD]), account_run(PROD, "r1", []),
             finding(PROD, "us-east-1", EBS, "vol-1", run="r1", details={"cost": 8}),
             finding(PROD, "us-east-1", SG, "sg-1", run="r1", summary="sg-1 is open to the world")]
    report = report_of(items, now=NOW, registry=registry)
    lines = {s.plugin: s.open.head(1)[0].line for s in report.sections}
    assert lines == {EBS: "vol-1 costs $8/month", SG: "sg-1 is open to the world"}


def test_the_text_report_groups_by_plugin_then_account_and_region(mocked_aws: None) -> None:
    items = [*two_runs(), account_run(SANDBOX, "r2", [("eu-west-1", EBS)]),
             finding(SANDBOX, "eu-west-1", EBS, "vol-sb", run="r2", severity="high")]
    text = render(report_of(items, now=NOW))
    lines = text.splitlines()
    assert lines[0] == "aws-collector: 3 open findings (2 new, 1 resolved)"
    start = lines.index("== unattached_ebs: 3 open (2 new), 1 resolved")
    assert lines[start + 1] == "  111111111111 prod / us-east-1"
    assert lines[start + 2].endswith("vol-kept is a problem  (open 40 days)")
    assert lines[start + 3].startswith("    NEW  medium   vol-new")
    assert lines[start + 4] == "  222222222222 sandbox / eu-west-1"
    assert "resolved since the previous run:" in lines[start + 6]
    assert "111111111111 prod us-east-1: vol-gone is a problem" in lines[start + 7]


def test_a_list_longer_than_memory_holds_keeps_every_entry_in_order_the_last_included() -> None:
    entries = EntryList()
    made = [Entry(SG, PROD.id, PROD.name, "us-east-1", f"sg-{i:04d}", "high", f"line {i}")
            for i in range(IN_MEMORY * 2 + 1)]
    for entry in made:
        entries.append(entry)

    assert len(entries) == len(made)
    assert list(entries) == made
    assert [e for e, _ in zip(entries, entries, strict=True)] == made  # iterations nest, each from the start
    assert entries.head(IN_MEMORY + 2) == made[:IN_MEMORY + 2]


def test_a_plugin_with_more_open_findings_than_memory_holds_reports_every_one(mocked_aws: None) -> None:
    count = IN_MEMORY + 1
    report = report_of([run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", SG)])] + [
        finding(PROD, "us-east-1", SG, f"sg-{i:04d}", run="r1") for i in range(count)], now=NOW)

    (section,) = report.sections
    assert [e.resource_id for e in section.open] == [f"sg-{i:04d}" for i in range(count)]


def test_a_list_keeps_exactly_in_memory_entries_in_memory_and_spills_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Any] = []
    real = tempfile.TemporaryFile

    def counted() -> Any:
        opened.append(real())
        return opened[-1]

    monkeypatch.setattr(report_module.tempfile, "TemporaryFile", counted)
    entries = EntryList()
    made = [Entry(SG, PROD.id, PROD.name, "us-east-1", f"sg-{i:04d}", "high", "") for i in range(IN_MEMORY + 1)]
    for entry in made[:IN_MEMORY]:
        entries.append(entry)
    assert opened == []  # the memory holds IN_MEMORY, no more and no fewer
    entries.append(made[-1])
    assert len(opened) == 1 and list(entries) == made


def entry(resource: str, severity: str = "high", **fields: Any) -> Entry:
    return Entry(SG, PROD.id, PROD.name, "us-east-1", resource, severity, resource, **fields)


def test_open_days_are_none_without_a_first_seen_and_zero_on_the_first_day() -> None:
    assert entry("sg-1").open_days(NOW) is None
    assert entry("sg-1", first_seen=NOW.strftime("%Y-%m-%dT%H:%M:%SZ")).open_days(NOW) == 0
    assert entry("sg-1", first_seen=(NOW - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")).open_days(NOW) == 3


def test_a_section_counts_open_findings_by_severity_and_its_title_adds_every_part() -> None:
    section = PluginSection(SG)
    for resource, severity in (("sg-1", "high"), ("sg-2", "high"), ("sg-3", "low")):
        section.add_open(entry(resource, severity, is_new=resource == "sg-3"))
    section.resolved.append(entry("sg-4"))
    section.muted.append(entry("sg-5"))
    report = Report(generated=NOW, run_id="r1", accounts=1, sections=[section])

    assert dict(section.severities) == {"high": 2, "low": 1}
    assert report.severities() == {"critical": 0, "high": 2, "medium": 0, "low": 1, "info": 0}
    assert section_title(section) == f"{SG}: 3 open (1 new), 1 resolved, 1 muted"


def test_the_headline_says_one_finding_and_one_account_in_the_singular_and_more_in_the_plural() -> None:
    one = PluginSection(SG)
    one.add_open(entry("sg-1"))
    problem = AccountProblem(PROD.id, PROD.name, "failed", "AccessDenied")
    report = Report(generated=NOW, run_id="r1", accounts=2, sections=[one], problems=[problem])
    assert report.headline() == "aws-collector: 1 open finding (0 new, 0 resolved, 1 account incomplete)"

    report.problems.append(AccountProblem(SANDBOX.id, SANDBOX.name, "partial", "Throttling"))
    report.sections = [PluginSection(SG)]
    assert report.headline() == "aws-collector: 0 open findings (0 new, 0 resolved, 2 accounts incomplete)"
