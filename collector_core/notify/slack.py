"""The report as Slack Block Kit messages, posted to an incoming webhook.

Slack's limits (docs.slack.dev, Block Kit reference): at most 50 blocks a message, 3000
characters in a section's text (kept for each rich_text block too), 150 in a header's. Beyond
those, Slack also rejects messages whose blocks hold about 13,000 characters in all
(``msg_blocks_too_long``, reported in slackapi/bolt-js#2509), so a message stays under
MESSAGE_CHARS. A report that does not fit is summarised (the first findings of each plugin, then
a count) and split over several messages, never dropped. Posting is paced at about one message
a second, Slack's rate for webhooks, and a 429 is retried after its Retry-After.

The webhook URL is a secret: it is read from config, an environment variable, SSM or Secrets
Manager, and never appears in a log line or an error message (only its host does).
"""
from __future__ import annotations

import email.utils
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.aws.clients import Clients, home_region, note_endpoint
from collector_core.notify import mutes as mute_rules
from collector_core.notify.report import Entry, Report, section_title
from collector_core.schema import ENV_NAME, NON_EMPTY, Schema, mapping

MAX_BLOCKS = 50
SECTION_CHARS = 3000
HEADER_CHARS = 150
MESSAGE_CHARS = 12_000
MAX_LINES_PER_PLUGIN = 40  # open findings listed per plugin before "and N more"
MAX_RESOLVED_PER_PLUGIN = 10
MAX_PROBLEMS = 20
MAX_RETRY_AFTER = 60.0  # seconds; a Lambda has to finish some time
Block = dict[str, Any]


WEBHOOK_KEYS = ("webhook_url", "webhook_url_env", "webhook_url_ssm", "webhook_url_secret")
#: The ``notify.slack`` section. The webhook URL is a secret: errors never show its value.
SCHEMA: Schema = mapping(
    {
        "webhook_url": {"type": "string", "pattern": r"^https?://\S+$", "secret": True,
                        "expected": "an https:// webhook URL"},
        "webhook_url_env": ENV_NAME,
        # SSM reserves names beginning with aws or ssm (in any case): none can hold a webhook.
        "webhook_url_ssm": {"type": "string", "pattern": r"^(?!/?(?i:aws|ssm))[A-Za-z0-9_.\-/]{1,2048}$",
                            "expected": "an SSM parameter name (a SecureString) not beginning with aws or ssm, "
                                        "which SSM reserves"},
        "webhook_url_secret": {**NON_EMPTY, "expected": "a Secrets Manager secret name or ARN"},
        "max_findings_per_plugin": {"type": "integer", "minimum": 1, "maximum": 1000,
                                    "expected": "a whole number, 1 to 1000"},
    },
    f"a mapping with exactly one of {', '.join(WEBHOOK_KEYS)}",
    oneOf=[{"required": [key]} for key in WEBHOOK_KEYS],
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


class SlackError(Exception):
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
            lines += [[_text("• "), _text(f"{' '.join(e.place)}: {e.line}", strike=True)] for e in shown]
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
    place = None
    for entry in entries:
        if entry.place != place:
            place = entry.place
            lines.append([_code(place.account_id), _text(f" {place.account_name} · {place.region}")])
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
def send(report: Report, settings: SlackSettings, *, clients: Clients | None = None, link: str | None = None) -> None:
    """Post a report (with a link to its HTML page, if given) to the configured webhook; raise
    SlackError if any message fails."""
    url = webhook_url(settings, clients)
    post(url, build_messages(report, max_lines=settings.max_findings_per_plugin, link=link))


def webhook_url(settings: SlackSettings, clients: Clients | None = None) -> str:
    """The webhook URL from config, an environment variable, SSM (SecureString) or Secrets Manager."""
    if settings.webhook_url:
        return _checked(settings.webhook_url, "notify.slack.webhook_url")
    if settings.webhook_url_env:
        name = settings.webhook_url_env
        value = os.environ.get(name)
        if not value:
            raise SlackError(f"notify.slack.webhook_url_env: the environment variable {name} is not set")
        return _checked(value, f"notify.slack.webhook_url_env: the environment variable {name}")
    clients = clients or Clients()
    if settings.webhook_url_ssm:
        ssm = clients.client("ssm", home_region())
        parameter = ssm.get_parameter(Name=settings.webhook_url_ssm, WithDecryption=True)["Parameter"]
        return _checked(str(parameter["Value"]),
                        f"notify.slack.webhook_url_ssm: the SSM parameter {settings.webhook_url_ssm}")
    if settings.webhook_url_secret:
        where = f"notify.slack.webhook_url_secret: the secret {settings.webhook_url_secret}"
        secrets = clients.client("secretsmanager", home_region())
        value = str(secrets.get_secret_value(SecretId=settings.webhook_url_secret)["SecretString"]).strip()
        if value.startswith("{"):  # a JSON secret: {"webhook_url": "..."}
            try:
                data = json.loads(value)
            except ValueError:
                raise SlackError(f"{where} begins with '{{' but is not JSON") from None
            value = str(data.get("webhook_url") or data.get("url") or "") if isinstance(data, dict) else ""
        if not value:
            raise SlackError(f"{where} holds no webhook_url")
        return _checked(value, where)
    raise SlackError("notify.slack: no webhook configured")


def _checked(url: str, where: str) -> str:
    """The URL if it is an http(s) URL with a host; else SlackError saying where, never what."""
    url = url.strip()
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises here, not when posting)
        usable = parts.scheme in ("https", "http") and bool(parts.hostname)
    except ValueError:
        usable = False
    if not usable:
        raise SlackError(f"{where} does not hold a valid https:// webhook URL (its value is a secret and is not shown)")
    return url


def _host(url: str) -> str:
    """The URL's host, the most of a webhook URL a message may show."""
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def post(
    url: str,
    messages: list[dict[str, Any]],
    *,
    timeout: float = 10.0,
    max_attempts: int = 5,
    min_interval: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Post each message in order, paced, retrying 429 (after Retry-After), 5xx and network errors."""
    last = 0.0
    for message in messages:
        wait = min_interval - (time.monotonic() - last)
        if last and wait > 0:
            sleep(wait)
        _post_one(url, json.dumps(message).encode(), timeout, max_attempts, sleep)
        last = time.monotonic()


def _post_one(url: str, body: bytes, timeout: float, max_attempts: int,
              sleep: Callable[[float], None]) -> None:
    host = _host(url)
    note_endpoint(f"the Slack webhook at {host}")  # what a command given up on was waiting for
    for attempt in range(1, max_attempts + 1):
        try:
            request = urllib.request.Request(url, data=body, method="POST",
                                             headers={"Content-Type": "application/json; charset=utf-8"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return
        except urllib.error.HTTPError as exc:
            detail = _without(url, exc.read(300).decode("utf-8", "replace").strip())
            if attempt < max_attempts and exc.code == 429:
                sleep(retry_after(exc.headers.get("Retry-After")))
                continue
            if attempt < max_attempts and exc.code >= 500:
                sleep(min(8.0, 0.5 * 2**attempt))
                continue
            raise SlackError(f"the Slack webhook at {host} answered HTTP {exc.code}: "
                             f"{detail or exc.reason} (attempt {attempt} of {max_attempts})") from None
        except (ValueError, http.client.InvalidURL):  # urllib's "unknown url type" and InvalidURL quote it
            raise _malformed(host) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = _without(url, str(getattr(exc, "reason", exc)))
            if attempt < max_attempts:
                sleep(min(8.0, 0.5 * 2**attempt))
                continue
            raise SlackError(f"cannot reach the Slack webhook at {host}: {reason} "
                             f"(after {max_attempts} attempts)") from None


def _malformed(host: str) -> SlackError:
    return SlackError(f"the Slack webhook URL for {host} is malformed (its value is a secret and is not shown)")


def _without(url: str, text: str) -> str:
    """``text`` with the URL and its path (the secret part) cut out, should a server echo them."""
    try:
        path = urllib.parse.urlsplit(url).path
    except ValueError:
        path = ""
    for secret in (url, path):
        if len(secret) > 1:
            text = text.replace(secret, "…")
    return text


def retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), within MAX_RETRY_AFTER."""
    if not value:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            seconds = 1.0
    return max(0.0, min(MAX_RETRY_AFTER, seconds))
