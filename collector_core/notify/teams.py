"""The ``notify.teams`` channel: the report as one Microsoft Teams message, an Adaptive Card posted
to a Teams Workflows webhook ("Post to a channel when a webhook request is received").

Teams takes a message of at most about 28 KB (Microsoft's limit for webhook and bot messages), so
the card is filled plugin by plugin until the next element would pass MESSAGE_BYTES, and then says
what it left out, by plugin, and where to see it all (the report page's link, when published, and
``aws-collector findings``). Every text that comes from data is a TextRun, which Teams shows as it
is (no markdown), so a summary cannot format itself or open a link. The card declares Adaptive
Card 1.5, which Teams renders; the tests validate it against that published schema.

The webhook URL is a secret (a Workflows URL carries its signature): it comes from the config, an
environment variable, SSM or Secrets Manager, and messages show its host only. Posting is retried
on 429 and 5xx after Retry-After (collector_core/channel/http.py).
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.channel import Channel, ChannelContext
from collector_core.channel.http import Poster, usable_url
from collector_core.channel.secrets import SecretSource, secret_keys
from collector_core.documents.schema import Schema, mapping
from collector_core.hookspecs import hookimpl
from collector_core.notify import mutes as mute_rules
from collector_core.notify.report import Entry, PluginSection, Report, section_title

#: Teams' limit on a message is about 28 KB; the posted JSON stays under this many bytes.
MESSAGE_BYTES = 28_000
CARD_VERSION = "1.5"
MAX_LINES_PER_PLUGIN = 40
MAX_PROBLEMS = 20
#: Room kept for the closing note that says what was left out.
NOTE_BYTES = 1_200
SEVERITY_COLOURS = {"critical": "Attention", "high": "Attention", "medium": "Warning", "low": "Default",
                    "info": "Default"}
Element = dict[str, Any]

_WEBHOOK, _ONE_OF = secret_keys("webhook_url", {"type": "string", "pattern": r"^https?://\S+$",
                                                "expected": "an https:// Workflows webhook URL"})


def schema() -> Schema:
    """The ``notify.teams`` section."""
    return mapping(
        {**_WEBHOOK, "max_findings_per_plugin": {"type": "integer", "minimum": 1, "maximum": 1000,
                                                 "expected": "a whole number, 1 to 1000"}},
        f"a mapping with exactly one of {', '.join(_WEBHOOK)}",
        oneOf=_ONE_OF,
        secret=True,
    )


@dataclass(frozen=True, repr=False)
class TeamsSettings:
    """Where the Workflows webhook URL comes from, and how many findings a plugin lists at most."""

    webhook_url: SecretSource
    max_findings_per_plugin: int = MAX_LINES_PER_PLUGIN

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TeamsSettings:
        """The validated section."""
        return cls(SecretSource.from_section(doc, "webhook_url"),
                   doc.get("max_findings_per_plugin", MAX_LINES_PER_PLUGIN))

    def __repr__(self) -> str:
        return f"TeamsSettings(webhook_url={self.webhook_url!r})"


def _run(text: str, **style: Any) -> Element:
    """A run of text Teams shows as it is."""
    return {"type": "TextRun", "text": text, **style}


def _rich(*runs: Element, **options: Any) -> Element:
    return {"type": "RichTextBlock", "inlines": [r for r in runs if r["text"]], **options}


def _entry(entry: Entry, report: Report) -> Element:
    days = entry.open_days(report.generated)
    return _rich(*([_run("NEW ", weight="Bolder", color="Accent")] if entry.is_new else []),
                 _run(entry.severity, weight="Bolder", color=SEVERITY_COLOURS.get(entry.severity, "Default")),
                 _run(f" {entry.account_id} {entry.account_name} · {entry.region}: {entry.line}"),
                 _run(f" (open {days} d)" if days else "", isSubtle=True, italic=True))


def _section(section: PluginSection, report: Report, max_lines: int) -> Iterable[tuple[str, Element]]:
    """A plugin's elements, each with what it shows ("open", "resolved" or "" for the rest)."""
    yield "", _rich(_run(section_title(section), weight="Bolder", size="Medium"), separator=True, spacing="Medium")
    for entry in section.open.head(max_lines):
        yield "open", _entry(entry, report)
    if len(section.open) > max_lines:
        yield "", _rich(_run(f"…and {len(section.open) - max_lines} more; "),
                        _run(f"aws-collector findings --plugin {section.plugin}", fontType="Monospace"),
                        _run(" lists them all"))
    if section.resolved:
        yield "", _rich(_run("Resolved since the previous run:", italic=True))
        for entry in section.resolved.head(max_lines):
            yield "resolved", _rich(_run(f"{' '.join(entry.location)}: {entry.line}", strikethrough=True))


def build_message(report: Report, *, max_lines: int = MAX_LINES_PER_PLUGIN, link: str | None = None,
                  limit: int = MESSAGE_BYTES) -> dict[str, Any]:
    """The Workflows webhook payload: one Adaptive Card within ``limit`` bytes of JSON."""
    body: list[Element] = [
        {"type": "TextBlock", "text": report.headline(), "size": "Large", "weight": "Bolder", "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": str(v)} for k, v in (
            ("Open", report.open), ("New", report.new), ("Resolved", report.resolved), ("Muted", report.muted),
            ("Accounts", report.accounts), ("Incomplete", len(report.problems)))]},
    ]
    if report.run_id:
        body.append(_rich(_run("Run ", isSubtle=True), _run(report.run_id, fontType="Monospace", isSubtle=True)))
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                            "version": CARD_VERSION, "body": body}
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "The full report", "url": link}]
    message = {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
    used = _size(message)
    shown: Counter[tuple[str, str]] = Counter()  # (plugin, "open" or "resolved") -> entries in the card
    cut = 0  # elements the limit left out
    for plugin, kind, element in _elements(report, max_lines):
        size = _size(element) + 1  # and its comma
        if cut or used + size + NOTE_BYTES > limit:
            cut += 1
            continue
        body.append(element)
        used += size
        shown[(plugin, kind)] += 1
    if cut:
        left = {s.plugin: (len(s.open) - shown[(s.plugin, "open")], len(s.resolved) - shown[(s.plugin, "resolved")])
                for s in report.sections}
        body.append(_left_out({p: n for p, n in left.items() if any(n)}, link))
    return message


def _elements(report: Report, max_lines: int) -> Iterable[tuple[str, str, Element]]:
    """(plugin, what it shows, element) in the card's order: problems, expired mutes, the plugins."""
    if report.problems:
        yield "", "", _rich(_run("⚠ Incomplete scans", weight="Bolder"),
                            _run(" (their earlier findings stay open):"), separator=True)
        for p in report.problems[:MAX_PROBLEMS]:
            yield "", "", _rich(_run(f"{p.account_id} {p.account_name}: {p.status}, {p.detail}"))
        if len(report.problems) > MAX_PROBLEMS:
            yield "", "", _rich(_run(f"…and {len(report.problems) - MAX_PROBLEMS} more accounts"))
    if report.expired_mutes:
        yield "", "", _rich(_run("Expired mutes", weight="Bolder"), _run(" (their findings are reported again):"),
                            separator=True)
        for mute in report.expired_mutes:
            yield "", "", _rich(_run(mute_rules.describe(mute)))
    for section in report.sections:
        if section.open or section.resolved:
            for kind, element in _section(section, report, max_lines):
                yield section.plugin, kind, element
    if not report.sections:
        yield "", "", _rich(_run("No findings."))


def _left_out(left: Mapping[str, tuple[int, int]], link: str | None) -> Element:
    """What the card had no room for, by plugin, and where it is."""
    parts = [f"{plugin}: {opened} open" + (f", {resolved} resolved" if resolved else "")
             for plugin, (opened, resolved) in left.items()]
    where = "the full report (below) and " if link else ""
    return _rich(_run("Not shown, to keep within Teams' 28 KB message limit: ", weight="Bolder"),
                 _run(("; ".join(parts) or "the last lines")[:700] + f". See {where}aws-collector findings."),
                 separator=True)


def _size(value: Any) -> int:
    return len(json.dumps(value).encode())


def send(report: Report, settings: TeamsSettings, ctx: ChannelContext) -> None:
    """Post the report's card to the Workflows webhook; the channel's error if it fails."""
    url = settings.webhook_url.read(ctx, aliases=("url",), check=usable_url, what="a valid https:// webhook URL")
    message = build_message(report, max_lines=settings.max_findings_per_plugin, link=ctx.link)
    Poster(url, what="the Teams webhook", sleep=ctx.sleep, clock=ctx.clock).post(json.dumps(message).encode())


CHANNEL = Channel(
    name="teams",
    summary="the report as an Adaptive Card to a Microsoft Teams Workflows webhook",
    send=send,
    schema=schema(),
    settings=TeamsSettings.from_doc,
    # only when the webhook URL is kept in SSM or Secrets Manager (under the deployment's secretsPrefix)
    permissions=("ssm:GetParameter", "secretsmanager:GetSecretValue"),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Microsoft Teams, registered through the same hook as a community channel."""
    register(CHANNEL)
