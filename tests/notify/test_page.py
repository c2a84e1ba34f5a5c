"""The HTML report as built: one self-contained file whose policy lets only its own script and style
run, whose data stays data whatever AWS or a plugin put in it, and whose numbers are the report's."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
from html.parser import HTMLParser
from typing import Any

from notify_helpers import NOW, PROD, SANDBOX, account_run, finding, page_data, report_of, run_record

from collector_core.collector import Account
from collector_core.findings import PluginCounts, RunSummary
from collector_core.notify import page

EBS, SG, IAM = "unattached_ebs", "open_security_groups", "iam_key_age"
HOSTILE_ACCOUNT = Account("333333333333", '<img src=x onerror="alert(1)">\u2028<!--')
HOSTILE_SUMMARY = '</script><script>alert("sg")</script> open to 0.0.0.0/0 & more'


class Parsed(HTMLParser):
    """Every element of a page, with its attributes, and the text of its script and style elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._open = tag if tag in self.raw else None
        if self._open:
            self.raw[tag].append("")

    def handle_data(self, data: str) -> None:
        if self._open:
            self.raw[self._open][-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def items() -> list[Any]:
    return [
        run_record("r1", [PROD, SANDBOX, HOSTILE_ACCOUNT], started=NOW - dt.timedelta(days=1)),
        run_record("r2", [PROD, SANDBOX, HOSTILE_ACCOUNT]),
        account_run(PROD, "r1", [("us-east-1", EBS), ("us-east-1", SG)]),
        account_run(PROD, "r2", [("us-east-1", EBS), ("us-east-1", SG)]),
        account_run(HOSTILE_ACCOUNT, "r2", [("eu-west-1", SG)]),
        finding(PROD, "us-east-1", EBS, "vol-old", run="r2", first_run="r1", first_seen=NOW - dt.timedelta(days=40)),
        finding(PROD, "us-east-1", EBS, "vol-new", run="r2", severity="low"),
        finding(PROD, "us-east-1", EBS, "vol-gone", run="r1"),
        finding(PROD, "us-east-1", SG, "sg-1", run="r2", severity="high"),
        finding(HOSTILE_ACCOUNT, "eu-west-1", SG, "sg-2", run="r2", severity="critical", summary=HOSTILE_SUMMARY),
    ]


def history() -> list[RunSummary]:
    return [RunSummary(f"r{n}", n, f"2025-05-{n:02d}T06:00:00Z", 3,
                       {EBS: PluginCounts(open=n, new=1), SG: PluginCounts(open=10 - n, resolved=1)})
            for n in range(1, 8)]


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_policy_allows_only_the_pages_own_script_and_style_and_nothing_from_the_network(mocked_aws: None) -> None:
    text = page.render(report_of(items(), now=NOW), history())
    parsed = Parsed(text)

    (meta,) = [m for m in parsed.tags("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in str(meta["content"]).split(";"))
    data, code = parsed.raw["script"]
    (style,) = parsed.raw["style"]
    assert policy == {"default-src": "'none'", "script-src": sha256(code), "style-src": sha256(style),
                      "img-src": "data:", "base-uri": "'none'", "form-action": "'none'"}
    assert [s.get("type") for s in parsed.tags("script")] == ["application/json", None]
    assert not [attrs for _, attrs in parsed.elements if "style" in attrs]  # no inline style attributes to allow
    linked = [v for _, attrs in parsed.elements for k, v in attrs.items() if k in ("src", "href", "action")]
    assert all(v == "data:," or str(v).startswith("#") for v in linked), linked
    assert not re.search(r"https?://", code + style)


def test_strings_from_aws_and_plugins_stay_data(mocked_aws: None) -> None:
    text = page.render(report_of(items(), now=NOW), history())
    parsed = Parsed(text)

    assert "<img" not in text and "<script>alert" not in text  # never raw, not even inside the JSON
    assert len(parsed.tags("script")) == 2 and not parsed.tags("img")
    assert not [attrs for _, attrs in parsed.elements if any(k.startswith("on") for k in attrs)]
    rows = {row[2]: row for section in page_data(text)["sections"] for row in section["rows"]}
    accounts = page_data(text)["accounts"]
    assert rows["sg-2"][4] == HOSTILE_SUMMARY  # JSON.parse gives back exactly what the plugin said
    assert accounts[rows["sg-2"][0]] == [HOSTILE_ACCOUNT.id, HOSTILE_ACCOUNT.name]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;\u2028&lt;!--" in text  # the matrix names it, escaped
    assert "\\u2028\\u003c!--" in text  # in the JSON, a line separator and a comment opener are escapes


def test_the_embedded_numbers_are_the_reports(mocked_aws: None) -> None:
    report = report_of(items(), now=NOW)

    data = page_data(page.render(report))

    assert data["totals"] == {"open": 4, "new": 3, "resolved": 1, "muted": 0, "incomplete_accounts": 1}
    assert data["run"] == {"id": "r2", "seq": 2, "accounts": 3}
    by_plugin = {s["plugin"]: s for s in data["sections"]}
    assert {p: (s["open"], s["new"], s["resolved"], len(s["rows"])) for p, s in by_plugin.items()} == {
        EBS: (2, 1, 1, 2), SG: (2, 2, 0, 2)}
    # Most severe first, then oldest; [account, region, resource, severity, finding, age, new].
    severities = data["severities"]
    assert [(r[2], severities[r[3]], r[5], r[6]) for r in by_plugin[EBS]["rows"]] == [
        ("vol-old", "medium", 40, 0), ("vol-new", "low", 0, 1)]
    assert [r[2] for r in by_plugin[SG]["rows"]] == ["sg-2", "sg-1"]


def test_the_headline_severities_problems_and_resolved_findings_are_on_the_page(mocked_aws: None) -> None:
    text = page.render(report_of(items(), now=NOW))

    assert "aws-collector: 4 open findings (3 new, 1 resolved, 1 account incomplete)" in text
    assert '<span class="sev sev-critical">critical</span><strong>1</strong>' in text
    assert "never reported" in text and "222222222222" in text
    assert "Resolved since the previous run (1)" in text and "vol-gone" in text


def test_a_big_plugin_embeds_its_most_severe_findings_and_says_how_to_get_the_rest(mocked_aws: None) -> None:
    severities = ["low", "critical", "info", "high", "medium", "high"]
    report = report_of([run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", SG)])] + [
        finding(PROD, "us-east-1", SG, f"sg-{i}", run="r1", severity=s) for i, s in enumerate(severities)], now=NOW)

    text = page.render(report, max_rows=3)

    (section,) = page_data(text)["sections"]
    assert section["open"] == 6
    assert [r[2] for r in section["rows"]] == ["sg-1", "sg-3", "sg-5"]  # critical, then high by resource
    assert ("This table holds the 3 most severe (then oldest) of 6 open findings; 3 are left out: "
            f"<code>aws-collector findings --plugin {SG} --format csv</code> lists them all.") in text


def test_among_findings_as_severe_the_oldest_are_embedded_first(mocked_aws: None) -> None:
    ages = {"sg-a": 3, "sg-b": 90, "sg-c": 0, "sg-d": 30}
    report = report_of([run_record("r1", [PROD]), account_run(PROD, "r1", [("us-east-1", SG)])] + [
        finding(PROD, "us-east-1", SG, name, run="r1", severity="high", first_seen=NOW - dt.timedelta(days=days))
        for name, days in ages.items()], now=NOW)

    (section,) = page_data(page.render(report, max_rows=3))["sections"]

    assert [(r[2], r[5]) for r in section["rows"]] == [("sg-b", 90), ("sg-d", 30), ("sg-a", 3)]


def test_the_matrix_ranks_accounts_by_open_findings(mocked_aws: None) -> None:
    text = page.render(report_of(items(), now=NOW))

    matrix = text[text.index('<table class="matrix"'):text.index("</table>", text.index('<table class="matrix"'))]
    rows = re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', matrix)
    cells = [(re.sub(r"<[^>]+>", " ", head).split()[-1], re.findall(r">(\d+)<", body)) for head, body in rows]
    assert cells == [("111111111111", ["1", "2", "3"]), ("333333333333", ["1", "0", "1"]),
                     ("accounts", ["2", "2", "4"])]


def test_the_history_chart_draws_a_series_per_plugin_in_each_panel_and_a_table_of_the_same_numbers(
    mocked_aws: None
) -> None:
    text = page.render(report_of(items(), now=NOW), history())

    for panel in ("open", "new", "resolved"):
        chart = text[text.index(f'<svg id="chart-{panel}"'):]
        chart = chart[:chart.index("</svg>")]
        assert re.findall(r'<g class="series" data-plugin="([^"]+)">', chart) == [SG, EBS]
        assert 'role="img"' in chart and f"<title id=\"chart-{panel}-title\">" in chart
    open_chart = text[text.index('<svg id="chart-open"'):]
    assert f"<title>{EBS}: open 1, 2, 3, 4, 5, 6, 7</title>" in open_chart
    assert "The last 7 runs, from 2025-05-01 to 2025-05-07." in text
    assert "The same history as a table" in text


def test_with_no_history_the_page_says_when_it_will_start(mocked_aws: None) -> None:
    text = page.render(report_of(items(), now=NOW), [])

    assert "No run has recorded its summary yet" in text and '<svg id="chart-open"' not in text


def test_the_page_is_written_as_a_stream(mocked_aws: None) -> None:
    report = report_of(items(), now=NOW)
    out = io.StringIO()

    page.write(report, history(), out)

    assert out.getvalue() == page.render(report, history())
