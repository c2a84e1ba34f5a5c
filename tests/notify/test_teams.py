"""Microsoft Teams: the Adaptive Card a Workflows webhook on 127.0.0.1 receives, validated against
the published Adaptive Card 1.5 schema (tests/notify/schemas/README.md names its source), within
Teams' message size, saying what it left out."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from loopback import Listener
from notify_helpers import NOW, PROD, SANDBOX, account_run, finding, report_of, run_record

from collector_core.aws.clients import Clients
from collector_core.channel import ChannelContext
from collector_core.notify.teams import MESSAGE_BYTES, TeamsSettings, build_message, send
from collector_core.testing import FakeClock

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "adaptive-card-1.5.json").read_text())
EBS, SG, IAM = "unattached_ebs", "open_security_groups", "iam_key_age"


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    return content


def valid(card: dict[str, Any]) -> list[str]:
    """The Adaptive Card schema's complaints about a card (none: it is valid)."""
    return [e.message[:200] for e in jsonschema.Draft6Validator(SCHEMA).iter_errors(card)]


def texts(card: dict[str, Any]) -> str:
    """What a reader sees of a card, styles aside."""
    out = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            out.append(element["text"])
        elif element["type"] == "RichTextBlock":
            out.append("".join(run["text"] for run in element["inlines"]))
    return "\n".join(out)


def items(per_plugin: int) -> list[Any]:
    records: list[Any] = [run_record("r1", [PROD, SANDBOX]), account_run(PROD, "r1", []),
                          account_run(SANDBOX, "r1", [])]
    for plugin in (EBS, SG, IAM):
        for i in range(per_plugin):
            records.append(finding(PROD if i % 2 else SANDBOX, f"region-{i % 5}", plugin, f"{plugin}-{i:04d}",
                                   run="r1", summary=f"{plugin} resource {i:04d} " + "x" * 100))
    return records


def test_a_report_is_one_adaptive_card_grouped_by_plugin_with_the_page_link(
    mocked_aws: None, http_listener: Listener
) -> None:
    records = items(3)
    records.append(finding(PROD, "us-east-1", EBS, "vol-*bold*", run="r1", summary="[click](https://evil) **x**"))
    report = report_of(records, now=NOW)
    time = FakeClock()
    ctx = ChannelContext(where="notify.teams", link="https://reports.example/page", sleep=time.sleep,
                         clock=time.clock, clients=Clients())

    send(report, TeamsSettings.from_doc({"webhook_url": http_listener.url}), ctx)

    (request,) = http_listener.received
    assert request.path == "/services/T000/B000/SECRETPART"
    message = request.json()
    assert message["type"] == "message"
    card = card_of(message)
    assert valid(card) == []
    assert card["version"] == "1.5"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "The full report",
                                "url": "https://reports.example/page"}]
    shown = texts(card)
    assert shown.splitlines()[0] == report.headline()
    for plugin in (EBS, SG, IAM):
        assert f"{plugin}: " in shown
    assert shown.index(f"{IAM}: ") < shown.index(f"{SG}: ") < shown.index(f"{EBS}: ")  # by plugin name
    # Data is shown as it is: a TextRun takes no markdown, so nothing here can turn into a link.
    assert "[click](https://evil) **x**" in shown
    assert all(b["type"] != "TextBlock" or "evil" not in b["text"] for b in card["body"])
    assert "Not shown" not in shown


def test_a_big_report_stays_within_teams_limit_and_says_what_it_left_out(mocked_aws: None) -> None:
    report = report_of(items(60), now=NOW)

    message = build_message(report, max_lines=60, link="https://reports.example/page")

    assert len(json.dumps(message).encode()) <= MESSAGE_BYTES
    card = card_of(message)
    assert valid(card) == []
    shown = texts(card)
    listed = {plugin: shown.count(f"{plugin} resource ") for plugin in (EBS, SG, IAM)}
    assert 0 < sum(listed.values()) < 180
    note = shown.splitlines()[-1]
    assert note.startswith("Not shown, to keep within Teams' 28 KB message limit: ")
    for plugin, count in listed.items():
        if count < 60:
            assert f"{plugin}: {60 - count} open" in note
    assert note.endswith("See the full report (below) and aws-collector findings.")


def test_the_size_limit_is_what_cuts_the_card(mocked_aws: None) -> None:
    report = report_of(items(60), now=NOW)

    roomy = build_message(report, max_lines=60, limit=10 * MESSAGE_BYTES)
    tight = build_message(report, max_lines=60, limit=12_000)

    assert "Not shown" not in texts(card_of(roomy))
    assert len(json.dumps(tight).encode()) <= 12_000 < len(json.dumps(roomy).encode())
    assert valid(card_of(tight)) == []


def test_the_schema_catches_a_broken_card(mocked_aws: None) -> None:
    card = card_of(build_message(report_of(items(1), now=NOW)))
    card["body"][0]["weight"] = "Heaviest"
    assert valid(card)


@pytest.mark.parametrize("per_plugin", [0, 1])
def test_small_reports_are_valid_cards(mocked_aws: None, per_plugin: int) -> None:
    card = card_of(build_message(report_of(items(per_plugin), now=NOW)))
    assert valid(card) == []
    assert ("No findings." in texts(card)) == (per_plugin == 0)
