"""An example aws-collector report channel: each report's totals, per plugin, to an Amazon SNS topic.

An SNS topic fans a message out to whatever subscribes to it (an email list, an SQS queue, a
Lambda function, a paging service's HTTPS endpoint). This is aws-collector's channel template
(`aws-collector new-plugin NAME --channel` writes a copy under your names): replace the channel
with your own.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core import Channel, ChannelContext, hookimpl
from collector_core.notify.report import Report

#: The aws-collector plugin API this plugin is built for: 1.2 (report channels) and any later 1.x.
PLUGIN_API = ">=1.2,<2"
#: SNS's limits: a subject of at most 100 characters; the message is kept far below its 256 KB.
MAX_SUBJECT = 100
MAX_PLUGINS = 50

#: The channel's section under `notify:`, validated with the rest of the config; each node's
#: `expected` is what an error message says was expected.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["topic_arn"],
    "properties": {
        "topic_arn": {"type": "string", "pattern": r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
                      "expected": "an SNS topic ARN"},
        "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]$", "expected": "an AWS region name"},
    },
    "expected": "a mapping with topic_arn and an optional region",
}


@dataclass(frozen=True)
class Settings:
    """One configured topic: settings are values handed to each send, never module state."""

    topic_arn: str
    region: str | None = None

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Settings:
        """The validated section."""
        return cls(topic_arn=section["topic_arn"], region=section.get("region"))


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Register this plugin's report channels."""
    register(
        Channel(
            name="sns_example",
            summary="each report's totals, per plugin, to an Amazon SNS topic",
            send=send,
            schema=SCHEMA,
            settings=Settings.from_section,
            permissions=["sns:Publish"],
        )
    )


def send(report: Report, settings: Settings, ctx: ChannelContext) -> None:
    """Publish the report's headline and each plugin's counts (and the page's link, if any)."""
    region = settings.region or settings.topic_arn.split(":")[3]
    ctx.client("sns", region).publish(TopicArn=settings.topic_arn, Subject=report.headline()[:MAX_SUBJECT],
                                      Message=message(report, ctx.link))


def message(report: Report, link: str | None = None) -> str:
    """The message's text: totals, the page's link, one line per plugin, incomplete accounts."""
    lines = [report.headline()]
    if link:
        lines.append(f"The full report: {link}")
    for section in report.sections[:MAX_PLUGINS]:
        lines.append(f"- {section.plugin}: {len(section.open)} open ({section.new_count} new), "
                     f"{len(section.resolved)} resolved")
    if len(report.sections) > MAX_PLUGINS:
        lines.append(f"- ...and {len(report.sections) - MAX_PLUGINS} more plugins")
    if report.problems:
        lines.append(f"{len(report.problems)} accounts could not be scanned completely; their findings stay open.")
    return "\n".join(lines)
