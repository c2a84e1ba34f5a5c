"""The report as an email through SES: totals in the subject, a table per plugin, a text part."""
from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from collector_core import mutes as mute_rules
from collector_core.aws import Clients, home_region
from collector_core.notifier import Report
from collector_core.report_text import render, section_title

MAX_ROWS_PER_PLUGIN = 500  # keeps a huge report well under SES's message size limit
SES_MAX_RECIPIENTS = 50  # destinations per SendEmail call


def build_email(report: Report, *, max_rows: int = MAX_ROWS_PER_PLUGIN) -> tuple[str, str, str]:
    """(subject, HTML body, text body)."""
    e = html.escape
    parts = [f"<h2>{e(report.headline())}</h2>"]
    if report.run_id:
        parts.append(f"<p>Run {e(report.run_id)}, {report.accounts} accounts.</p>")
    if report.problems:
        parts.append("<h3>Incomplete scans</h3><p>Their earlier findings stay open.</p><ul>")
        parts += [f"<li>{e(p.account_id)} {e(p.account_name)}: {e(p.status)}, {e(p.detail)}</li>"
                  for p in report.problems]
        parts.append("</ul>")
    if report.expired_mutes:
        parts.append("<h3>Expired mutes</h3><p>Their findings are reported again.</p><ul>")
        parts += [f"<li>{e(mute_rules.describe(m))}</li>" for m in report.expired_mutes]
        parts.append("</ul>")
    cell = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left"'
    for section in report.sections:
        if not (section.open or section.resolved):
            continue
        title = section_title(section.plugin, len(section.open), section.new,
                              len(section.resolved), len(section.muted)).removeprefix("== ")
        parts.append(f"<h3>{e(title)}</h3>")
        if section.open:
            parts.append('<table style="border-collapse:collapse"><tr>'
                         + "".join(f"<th {cell}>{h}</th>" for h in
                                   ("Account", "Region", "Severity", "Finding", "Open for", "New"))
                         + "</tr>")
            for entry in section.open[:max_rows]:
                account, name, region = entry.place
                days = entry.open_days(report.generated)
                row = (f"{account} {name}", region, entry.finding["severity"], entry.line,
                       f"{days} days" if days is not None else "", "new" if entry.new else "")
                parts.append("<tr>" + "".join(f"<td {cell}>{e(str(v))}</td>" for v in row) + "</tr>")
            parts.append("</table>")
            if len(section.open) > max_rows:
                parts.append(f"<p>…and {len(section.open) - max_rows} more; "
                             f"<code>aws-collector findings --plugin {e(section.plugin)}</code> "
                             "lists them all.</p>")
        if section.resolved:
            parts.append("<p>Resolved since the previous run:</p><ul>")
            parts += [f"<li>{e(' '.join(x.place))}: {e(x.line)}</li>" for x in section.resolved[:max_rows]]
            parts.append("</ul>")
    if not report.sections:
        parts.append("<p>No findings.</p>")
    body = "<html><body style=\"font-family:sans-serif\">" + "\n".join(parts) + "</body></html>"
    return report.headline(), body, render(report)


def send(report: Report, settings: Mapping[str, Any], *, clients: Clients | None = None) -> None:
    """Send the report from ``settings.sender`` to ``settings.recipients`` through SES."""
    subject, body_html, body_text = build_email(report)
    clients = clients or Clients()
    ses = clients.client("ses", str(settings.get("region") or home_region()))
    recipients = list(settings["recipients"])
    for start in range(0, len(recipients), SES_MAX_RECIPIENTS):
        ses.send_email(
            Source=settings["sender"],
            Destination={"ToAddresses": recipients[start : start + SES_MAX_RECIPIENTS]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Html": {"Data": body_html, "Charset": "UTF-8"},
                         "Text": {"Data": body_text, "Charset": "UTF-8"}},
            },
        )
