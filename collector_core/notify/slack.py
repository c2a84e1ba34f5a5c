"""The report as Slack Block Kit messages, posted to an incoming webhook.

Slack's limits (docs.slack.dev, Block Kit reference): at most 50 blocks a message, 3000
characters in a section's text (kept for each rich_text block too), 150 in a header's. Beyond
those, Slack also rejects messages whose blocks hold about 13,000 characters in all
(``msg_blocks_too_long``, reported in slackapi/bolt-js#2509), so a message stays under
MESSAGE_CHARS. A report that does not fit is summarised (the first findings of each plugin, then
a count) and split over several messages, never dropped. Posting is paced at about one message
a second, Slack's rate for webhooks, and a 429 or 5xx is retried after its Retry-After
(collector_core/channel/http.py, shared with every webhook channel).

The webhook URL is a secret: it is read from config, an environment variable, SSM or Secrets
Manager (collector_core/channel/secrets.py), and never appears in a log line or an error message
(only its host does).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.channel import Channel, ChannelContext, ChannelError
from collector_core.channel.http import Poster, usable_url
from collector_core.channel.secrets import SecretSource, secret_keys
from collector_core.documents.schema import Schema, mapping
from collector_core.hookspecs import hookimpl
from collector_core.notify import mutes as mute_rules
from collector_core.notify.report import Entry, Report, section_title

MAX_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
MESSAGE_CHARS = 12_000
MAX_LINES_PER_PLUGIN = 40  # open findings listed per plugin before "and N more"
MAX_RESOLVED_PER_PLUGIN = 10
MAX_PROBLEMS = 20
Block = dict[str, Any]

#: A webhook URL written in the config (the other sources hold one too, and are checked when read).
WEBHOOK_URL: Schema = {"type": "string", "pattern": r"^https?://\S+$", "expected": "an https:// webhook URL"}
_WEBHOOK, _ONE_OF = secret_keys("webhook_url", WEBHOOK_URL)
WEBHOOK_KEYS = tuple(_WEBHOOK)
#: The ``notify.slack`` section. The webhook URL is a secret: errors never show its value.
SCHEMA: Schema = mapping(
    {
        **_WEBHOOK,
        "max_findings_per_plugin": {"type": "integer", "minimum": 1, "maximum": 1000,
                                    "expected": "a whole number, 1 to 1000"},
    },
    f"a mapping with exactly one of {', '.join(WEBHOOK_KEYS)}",
    oneOf=_ONE_OF,
    secret=True,
)


@dataclass(frozen=True, repr=False)
class SlackSettings:
    """Where the webhook URL comes from (exactly one source) and how much a message lists."""

    webhook_url: str | None = None
    webhook_url_env: str | None = None
    webhook_url_ssm: str | None = None
    webhook_url_secret: str | None = None
    max_findings_per_plugin: int = MAX_LINES_PER_PLUGIN

    def __repr__(self) -> str:  # the URL is a secret
        source = next((k for k in WEBHOOK_KEYS if getattr(self, k)), "none")
        return f"SlackSettings(source={source})"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SlackSettings:
        """The validated section."""
        return cls(**doc)

    @property
    def source(self) -> SecretSource:
        """Where the webhook URL comes from."""
        return SecretSource("webhook_url", self.webhook_url, self.webhook_url_env, self.webhook_url_ssm,
                            self.webhook_url_secret)


class SlackError(ChannelError):
    """The webhook refused or could not be reached; the message never holds the URL."""


# -- building ------------------------------------------------------------------------------
# The report is written in rich_text blocks, which Slack prefers for text from users
# (docs.slack.dev, "Rich text block"): each run of text carries its style explicitly, and Slack
# shows a run's text as it is. In mrkdwn, data could format itself: Slack escapes &, < and >, but
# has no escape for *, _, ~ or `, so a summary could turn bold, strike text out or open code.
Run = dict[str, Any]
Line = list[Run]


def build_messages(report: Report, *, max_lines: int = MAX_LINES_PER_PLUGIN,
                   link: str | None = None) -> list[dict[str, Any]]:
    """Webhook payloads for a report, each within Slack's block and text limits; ``link`` is the
    HTML page's (notify.html), shown under the totals."""
    blocks: list[Block] = []
    overview = [_bold(str(report.open)), _text(" open, "), _bold(str(report.new)), _text(" new, "),
                _bold(str(report.resolved)), _text(" resolved")]
    if report.muted:
        overview.append(_text(f", {report.muted} muted (not listed)"))
    if report.run_id:
        overview += [_text(" · run "), _code(report.run_id), _text(f", {report.accounts} accounts")]
    lines = [overview]
    if link:
        lines.append([_emoji("bar_chart"), _text(" "), {"type": "link", "url": link, "text": "The full report"},
                      _text(" (every finding, sortable and filterable, and the history)")])
    blocks += _blocks(lines)
    if report.not_started:  # nothing was scanned in them: the findings below are older
        blocks += _blocks([[_emoji("rotating_light"), _text(" "), _bold("Runs that never started:")]]
                          + [[_text(f"• {r.describe()}")] for r in report.not_started[:MAX_PROBLEMS]])
    if report.problems:
        lines = [[_emoji("warning"), _text(" "), _bold("Incomplete scans"),
                  _text(" (their earlier findings stay open):")]]
        lines += [[_text("• "), _code(p.account_id), _text(f" {p.account_name}: {p.status}, {p.detail}")]
                  for p in report.problems[:MAX_PROBLEMS]]
        if len(report.problems) > MAX_PROBLEMS:
            lines.append([_text(f"…and {len(report.problems) - MAX_PROBLEMS} more accounts")])
        blocks += _blocks(lines)
    if report.expired_mutes:
        lines = [[_emoji("alarm_clock"), _text(" "), _bold("Expired mutes"),
                  _text(" (their findings are reported again):")]]
        lines += [[_text(f"• {mute_rules.describe(m)}")] for m in report.expired_mutes]
        blocks += _blocks(lines)
    for section in report.sections:
        if not (section.open or section.resolved):
            continue
        lines = [[_bold(section_title(section))]]
        shown_open = section.open.head(max_lines)
        lines += _grouped(shown_open, report)
        if len(section.open) > max_lines:
            rest, rest_new = len(section.open) - max_lines, section.new_count - sum(e.is_new for e in shown_open)
            lines.append([_text(f"…and {rest} more ({rest_new} new); "),
                          _code(f"aws-collector findings --plugin {section.plugin}"), _text(" lists them all")])
        if section.resolved:
            lines.append([_text("Resolved since the previous run:", italic=True)])
            shown = section.resolved.head(MAX_RESOLVED_PER_PLUGIN)
            lines += [[_text("• "), _text(f"{' '.join(e.location)}: {e.line}", strike=True)] for e in shown]
            if len(section.resolved) > MAX_RESOLVED_PER_PLUGIN:
                lines.append([_text(f"…and {len(section.resolved) - MAX_RESOLVED_PER_PLUGIN} more resolved")])
        blocks += _blocks(lines)
        blocks.append({"type": "divider"})
    if not report.sections:
        blocks += _blocks([[_text("No findings.")]])
    return _pack(blocks, report.headline())


def block_chars(block: Block) -> int:
    """The characters of text a block holds, as Slack's size limits count them."""
    if block["type"] == "rich_text":
        return sum(_chars(part["elements"]) for part in block["elements"])
    return len(block.get("text", {}).get("text", ""))


def _text(text: str, **style: bool) -> Run:
    """A run of text shown exactly as it is, styled only by ``style`` (bold, italic, strike, code)."""
    run: Run = {"type": "text", "text": text}
    if style:
        run["style"] = style
    return run


def _bold(text: str) -> Run:
    return _text(text, bold=True)


def _code(text: str) -> Run:
    return _text(text, code=True)


def _emoji(name: str) -> Run:
    return {"type": "emoji", "name": name}


def _grouped(entries: Iterable[Entry], report: Report) -> list[Line]:
    lines: list[Line] = []
    location = None
    for entry in entries:
        if entry.location != location:
            location = entry.location
            lines.append([_code(location.account_id), _text(f" {location.account_name} · {location.region}")])
        days = entry.open_days(report.generated)
        line = [_text("• ")] + ([_emoji("new"), _text(" ")] if entry.is_new else [])
        line += [_code(entry.severity), _text(f" {entry.line}")]
        if days:
            line.append(_text(f" (open {days} d)", italic=True))
        lines.append(line)
    return lines


def _blocks(lines: list[Line]) -> list[Block]:
    """Lines packed into as few rich_text blocks as the 3000-character limit allows."""
    blocks: list[Block] = []
    runs: Line = []
    for line in lines:
        line = _cut(line, SECTION_CHARS)
        if runs and _chars(runs) + 1 + _chars(line) > SECTION_CHARS:
            blocks.append(_rich_text(runs))
            runs = []
        runs += ([_text("\n")] if runs else []) + [run for run in line if run.get("text") != ""]
    if runs:
        blocks.append(_rich_text(runs))
    return blocks


def _chars(runs: Line) -> int:
    # A link's URL counts too: a presigned one is hundreds of characters.
    return sum(len(run.get("text", "")) + len(run.get("url", "")) for run in runs)


def _cut(line: Line, limit: int) -> Line:
    """A line of at most ``limit`` characters, its last run cut and marked when it was longer."""
    if _chars(line) <= limit:
        return line
    kept: Line = []
    room = limit - 1
    for run in line:
        text = run.get("text")
        if text is not None and len(text) > room:
            kept.append({**run, "text": text[:room] + "…"})
            break
        kept.append(run)
        room -= len(text or "")
    return kept


def _rich_text(runs: Line) -> Block:
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": runs}]}


def _pack(blocks: list[Block], headline: str) -> list[dict[str, Any]]:
    """Blocks split into messages of at most 50 blocks (a header each) and MESSAGE_CHARS."""
    messages: list[list[Block]] = [[]]
    chars = 0
    for block in blocks:
        size = block_chars(block)
        current = messages[-1]
        if current and (len(current) + 2 > MAX_BLOCKS or chars + size > MESSAGE_CHARS):
            messages.append([])
            chars = 0
        if block["type"] == "divider" and not messages[-1]:
            continue  # a divider opening a message divides nothing
        messages[-1].append(block)
        chars += size
    total = len(messages)
    payloads = []
    for number, body in enumerate(messages, 1):
        title = headline if total == 1 else f"{headline} [{number}/{total}]"
        title = title if len(title) <= HEADER_CHARS else title[: HEADER_CHARS - 1] + "…"
        header = {"type": "header", "text": {"type": "plain_text", "text": title}}
        payloads.append({"text": title, "blocks": [header, *body]})
    return payloads


# -- sending -------------------------------------------------------------------------------
def send(report: Report, settings: SlackSettings, ctx: ChannelContext) -> None:
    """Post a report (with a link to its HTML page, when one was published) to the configured
    webhook; SlackError if any message fails."""
    url = webhook_url(settings, ctx)
    post(url, build_messages(report, max_lines=settings.max_findings_per_plugin, link=ctx.link),
         sleep=ctx.sleep, clock=ctx.clock)


def webhook_url(settings: SlackSettings, ctx: ChannelContext) -> str:
    """The webhook URL from config, an environment variable, SSM (SecureString) or Secrets Manager."""
    return settings.source.read(ctx, aliases=("url",), check=usable_url, what="a valid https:// webhook URL")


def post(
    url: str,
    messages: list[dict[str, Any]],
    *,
    timeout: float = 10.0,
    max_attempts: int = 5,
    min_interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> None:
    """Post each message in order, paced, retrying 429 and 5xx (after Retry-After) and network errors."""
    poster = Poster(url, what="the Slack webhook", error=SlackError, min_interval=min_interval,
                    max_attempts=max_attempts, timeout=timeout, sleep=sleep, clock=clock)
    for message in messages:
        poster.post(json.dumps(message).encode())


CHANNEL = Channel(
    name="slack",
    summary="the report as Block Kit messages to a Slack incoming webhook",
    send=send,
    schema=SCHEMA,
    settings=SlackSettings.from_doc,
    # only when the webhook URL is kept in SSM or Secrets Manager (under the deployment's secretsPrefix)
    permissions=("ssm:GetParameter", "secretsmanager:GetSecretValue"),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """Slack, registered through the same hook as a community channel."""
    register(CHANNEL)
