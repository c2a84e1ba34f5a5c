"""The report as an email through SES: totals in the subject, a table per plugin, a text part."""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.channel import Channel, ChannelContext
from collector_core.documents.schema import Schema, mapping, region
from collector_core.hookspecs import hookimpl
from collector_core.notify import mutes as mute_rules
from collector_core.notify.report import Report, section_title
from collector_core.notify.text import render

MAX_ROWS_PER_PLUGIN = 500  # keeps a huge report well under SES's message size limit
SES_MAX_RECIPIENTS = 50  # destinations per SendEmail call
_ADDRESS: Schema = {"type": "string", "pattern": r"^([^<>@]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$",
                    "expected": "an email address"}


def schema() -> Schema:
    """The ``notify.email`` section."""
    return mapping(
        {
            "sender": {**_ADDRESS, "description": "the From address: SES must have verified it or its domain "
                                                  "(the stack's sesIdentity)"},
            "recipients": {"type": "array", "items": _ADDRESS, "minItems": 1, "uniqueItems": True,
                           "expected": "a list of email addresses", "description": "who gets the report"},
            "region": {**region(), "description": "SES's region (default: the home region)"},
        },
        "a mapping with sender, recipients and optional region",
        required=["sender", "recipients"],
        description="the report by email, through SES",
    )


@dataclass(frozen=True)
class EmailSettings:
    """Who sends (an SES-verified identity), who receives, and SES's region (default: home)."""

    sender: str
    recipients: tuple[str, ...]
    region: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> EmailSettings:
        """The validated section."""
        return cls(sender=doc["sender"], recipients=tuple(doc["recipients"]), region=doc.get("region"))


def build_email(report: Report, *, max_rows: int = MAX_ROWS_PER_PLUGIN,
                link: str | None = None) -> tuple[str, str, str]:
    """(subject, HTML body, text body); ``link`` is the HTML page's (notify.html)."""
    e = html.escape
    parts = [f"<h2>{e(report.headline())}</h2>"]
    if link:
        parts.append(f'<p><a href="{e(link)}">The full report</a>: every finding, sortable and filterable, '
                     "and the history.</p>")
    if report.run_id:
        parts.append(f"<p>Run {e(report.run_id)}, {report.accounts} accounts.</p>")
    if report.not_started:
        parts.append("<h3>Runs that never started</h3><p>Nothing was scanned; the findings below are older.</p><ul>")
        parts += [f"<li>{e(r.describe())}</li>" for r in report.not_started]
        parts.append("</ul>")
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
        parts.append(f"<h3>{e(section_title(section))}</h3>")
        if section.open:
            parts.append('<table style="border-collapse:collapse"><tr>'
                         + "".join(f"<th {cell}>{h}</th>" for h in
                                   ("Account", "Region", "Severity", "Finding", "Open for", "New"))
                         + "</tr>")
            for entry in section.open.head(max_rows):
                location = entry.location
                days = entry.open_days(report.generated)
                row = (f"{location.account_id} {location.account_name}", location.region, entry.severity,
                       entry.line, f"{days} days" if days is not None else "", "new" if entry.is_new else "")
                parts.append("<tr>" + "".join(f"<td {cell}>{e(str(v))}</td>" for v in row) + "</tr>")
            parts.append("</table>")
            if len(section.open) > max_rows:
                parts.append(f"<p>…and {len(section.open) - max_rows} more; "
                             f"<code>aws-collector findings --plugin {e(section.plugin)}</code> "
                             "lists them all.</p>")
        if section.resolved:
            parts.append("<p>Resolved since the previous run:</p><ul>")
            parts += [f"<li>{e(' '.join(x.location))}: {e(x.line)}</li>" for x in section.resolved.head(max_rows)]
            parts.append("</ul>")
    if not report.sections:
        parts.append("<p>No findings.</p>")
    body = "<html><body style=\"font-family:sans-serif\">" + "\n".join(parts) + "</body></html>"
    text = render(report, max_per_plugin=max_rows)
    return report.headline(), body, f"The full report: {link}\n\n{text}" if link else text


def send(report: Report, settings: EmailSettings, ctx: ChannelContext) -> None:
    """Send the report (with a link to its HTML page, when one was published) from
    ``settings.sender`` to ``settings.recipients`` through SES."""
    subject, body_html, body_text = build_email(report, link=ctx.link)
    ses = ctx.client("ses", settings.region)
    recipients = list(settings.recipients)
    for start in range(0, len(recipients), SES_MAX_RECIPIENTS):
        ses.send_email(
            Source=settings.sender,
            Destination={"ToAddresses": recipients[start : start + SES_MAX_RECIPIENTS]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Html": {"Data": body_html, "Charset": "UTF-8"},
                         "Text": {"Data": body_text, "Charset": "UTF-8"}},
            },
        )


CHANNEL = Channel(name="email", summary="the report as an email through Amazon SES", send=send, schema=schema(),
                  settings=EmailSettings.from_doc, permissions=("ses:SendEmail",))


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Email, registered through the same hook as a community channel."""
    register(CHANNEL)
