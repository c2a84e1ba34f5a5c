"""The notifier Lambda's function: a run's report goes out once; a schedule reports the current state."""
from __future__ import annotations

from typing import Any

import pytest
from notify_helpers import NOW, PROD, account_run, config_with, finding, run_record, table_with

from collector_core.aws.clients import Clients
from collector_core.notify.channels import run_notifier
from collector_core.plugins import load_plugins


def test_a_runs_report_goes_out_once_and_a_scheduled_one_always(
    mocked_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    now = NOW.replace(year=2100)  # items built for NOW would have expired by the real clock
    store = table_with([run_record("r1", [PROD], started=now),
                account_run(PROD, "r1", [("us-east-1", "unattached_ebs")]),
                finding(PROD, "us-east-1", "unattached_ebs", "vol-1", run="r1", now=now)])
    config = config_with(notify={"stdout": True})

    def run_notifier_(run_seq: int | None = None) -> dict[str, Any]:
        return run_notifier(config.notify, mutes=config.mute, registry=load_plugins(), store=store,
                            clients=Clients(), run_seq=run_seq)

    first = run_notifier_(1)
    assert first == {"run_id": "r1", "run_seq": 1, "sent": ["stdout"], "failures": [], "open": 1, "new": 1,
                     "resolved": 0, "muted": 0, "incomplete_accounts": []}
    assert capsys.readouterr().out.startswith("aws-collector: 1 open finding (1 new, 0 resolved)")

    again = run_notifier_(1)  # e.g. a Lambda retry
    assert again["sent"] == [] and again["skipped"] == "already sent for this run"
    assert "aws-collector: " not in capsys.readouterr().out

    scheduled = run_notifier_()
    assert scheduled["sent"] == ["stdout"] and scheduled["run_id"] == "r1"
