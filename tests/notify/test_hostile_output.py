"""Data is shown, never obeyed: findings whose account name (from Organizations), resource id or
summary (from a plugin) carry spreadsheet formulas, terminal escape sequences or Slack formatting,
read from a table on moto's server through the CLI, come out as inert text in CSV, on a terminal
and in Slack."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from loopback import Listener
from notify_helpers import account_run, finding, run_record, table_with

from collector_core.cli import main
from collector_core.collector import Account

pytestmark = pytest.mark.slow

FORMULA_NAME = '=HYPERLINK("http://evil.example/x","click me")'
HOSTILE = Account("111111111111", FORMULA_NAME)
OVERWRITE = "REAL PROBLEM\x1b[2K\x1b[1G\x1b[32m all clear"
# The title-change sequence starts inside the table's 60-character column and ends beyond it.
TITLE = "x" * 50 + "\x1b]0;you have been pwned\x07 and the rest"
MARKUP = "*bold* _italic_ ~strike~ `code` <!channel> & <https://evil.example|a link>"
# Anything a terminal would act on: C0 and C1 controls (line breaks aside) and DEL.
PLUGIN = "community_check"  # not installed here: reports show its summaries as they are
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile_table(server_env: str, tmp_path: Path) -> str:
    """A table on moto's server holding hostile findings; returns the path of a config naming it."""
    now = dt.datetime.now(dt.UTC)
    findings = [
        ("sg-overwrite", OVERWRITE, "high"),
        ("+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "medium"),
        ("@SUM(1+1)", TITLE, "low"),
        ("sg-markup", MARKUP, "low"),
    ]
    table_with([run_record("r1", [HOSTILE], started=now),
                account_run(HOSTILE, "r1", [("us-east-1", PLUGIN)])]
               + [finding(HOSTILE, "us-east-1", PLUGIN, resource, run="r1", summary=summary,
                          severity=severity, now=now) for resource, summary, severity in findings],
               name="hostile-output")
    config = tmp_path / "config.yaml"
    config.write_text("table: hostile-output\naccounts: [{id: '111111111111'}]\n")
    return str(config)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(
    hostile_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["findings", "--config", hostile_table, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))

    assert len(rows) == 4
    assert {row["account_name"] for row in rows} == {"'" + FORMULA_NAME}
    by_resource = {row["resource_id"]: row for row in rows}
    assert by_resource["'+cmd|' /C calc'!A0"]["summary"] == "'-2+3+cmd|' /C calc'!A0"
    assert "'@SUM(1+1)" in by_resource
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values()), row


@pytest.mark.parametrize("command", [["findings", "--format", "table"], ["notify", "--stdout"]])
def test_terminal_output_carries_no_escape_sequence_or_control_character(
    command: list[str], hostile_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command[0], "--config", hostile_table, *command[1:]]) == 0
    out = capsys.readouterr().out

    assert not CONTROL.findall(out), [line for line in out.splitlines() if CONTROL.search(line)]
    assert "REAL PROBLEM all clear" in out  # the text is still there, just inert
    assert "you have been pwned" not in out  # a window title is not data


def test_slack_shows_data_as_it_is_never_as_formatting(
    hostile_table: str, http_listener: Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify", "--config", hostile_table, "--slack-webhook", http_listener.url]) == 0
    (request,) = http_listener.received
    message = request.json()

    assert "mrkdwn" not in json.dumps(message)  # no text Slack would parse for markup
    runs = [run for block in message["blocks"] if block["type"] == "rich_text"
            for part in block["elements"] for run in part["elements"]]
    data = [run for run in runs if MARKUP in run.get("text", "") or FORMULA_NAME in run.get("text", "")]
    assert data and all("style" not in run for run in data)  # shown literally, unstyled
