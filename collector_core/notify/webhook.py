"""The ``notify.webhook`` channel: the report POSTed as JSON to any HTTPS endpoint (a SIEM, a
ticketing bridge, a team's own service), in a documented, versioned shape, signed so the receiver
can tell it came from this deployment and was not replayed.

The body follows the JSON Schema in notify/schemas/webhook-report-v1.json (docs/webhook.md); a
report of many findings is split into parts of at most ``max_findings_per_post`` findings, each
saying which part of how many it is, under the same report id. Each post is signed (Stripe's and
Slack's scheme, as docs/webhook.md spells out for receivers):

    X-Aws-Collector-Timestamp: <Unix seconds when the attempt was made>
    X-Aws-Collector-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>

Every attempt is signed afresh (a retry after Retry-After carries its own time). The signing
secret comes from an environment variable, SSM or Secrets Manager, never from the config file;
the URL may be written in the config or kept like a secret, and messages show its host only.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from collector_core import __version__
from collector_core.channel import Channel, ChannelContext
from collector_core.channel.http import Poster, usable_url
from collector_core.channel.secrets import SecretSource, secret_keys
from collector_core.documents.schema import HTTP_URL, Schema, mapping
from collector_core.findings import finding_key, iso
from collector_core.hookspecs import hookimpl
from collector_core.notify import mutes as mute_rules
from collector_core.notify.report import Entry, Report

#: The body's schema, named in every body: a receiver can dispatch on it.
SCHEMA_ID = "aws-collector.report/v1"
SCHEMA_FILE = "webhook-report-v1.json"
SIGNATURE_VERSION = "v1"
TIMESTAMP_HEADER = "X-Aws-Collector-Timestamp"
SIGNATURE_HEADER = "X-Aws-Collector-Signature"
DEFAULT_FINDINGS_PER_POST = 500
MAX_FINDINGS_PER_POST = 10_000
#: A namespace for report ids: the same report (run and moment) always gets the same id.
_REPORT_IDS = uuid.UUID("6c1b2f52-8a51-4b8e-9f3a-63a4f2f0c7d1")

_URL, _URL_ONE_OF = secret_keys("url", HTTP_URL)
_SIGNING, _SIGNING_ONE_OF = secret_keys("signing_secret", None)


def schema() -> Schema:
    """The ``notify.webhook`` section."""
    return mapping(
        {**_URL, **_SIGNING,
         "max_findings_per_post": {"type": "integer", "minimum": 1, "maximum": MAX_FINDINGS_PER_POST,
                                   "expected": f"a whole number, 1 to {MAX_FINDINGS_PER_POST}"}},
        "a mapping with url (or url_env, url_ssm, url_secret), signing_secret_env (or _ssm, _secret) and optional "
        "max_findings_per_post",
        allOf=[{"oneOf": _URL_ONE_OF, "secret": True, "expected": "exactly one of url, url_env, url_ssm, url_secret"},
               {"oneOf": _SIGNING_ONE_OF, "secret": True,
                "expected": "exactly one of signing_secret_env, signing_secret_ssm, signing_secret_secret"}],
        secret=True,
    )


@dataclass(frozen=True, repr=False)
class WebhookSettings:
    """Where the report goes, where the signing secret is kept, and how many findings a post holds."""

    url: SecretSource
    signing_secret: SecretSource
    max_findings_per_post: int = DEFAULT_FINDINGS_PER_POST

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> WebhookSettings:
        """The validated section."""
        return cls(SecretSource.from_section(doc, "url"), SecretSource.from_section(doc, "signing_secret"),
                   doc.get("max_findings_per_post", DEFAULT_FINDINGS_PER_POST))

    def __repr__(self) -> str:
        return f"WebhookSettings(url={self.url!r}, signing_secret={self.signing_secret!r})"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``v1=`` and the hex HMAC-SHA256 of ``v1:<timestamp>:<body>``."""
    signed = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    return f"{SIGNATURE_VERSION}=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def report_id(report: Report) -> str:
    """The id every part of one report carries: the same for the same run and moment."""
    return str(uuid.uuid5(_REPORT_IDS, f"{report.run_id}|{report.generated.isoformat()}"))


def bodies(report: Report, *, per_post: int = DEFAULT_FINDINGS_PER_POST, link: str | None = None) -> Iterator[
        dict[str, Any]]:
    """The report's posts, in order: each with the report's totals and at most ``per_post`` of its
    findings (open, then resolved, plugin by plugin); the problems and expired mutes in the first."""
    total = sum(len(s.open) + len(s.resolved) for s in report.sections)
    parts = max(1, math.ceil(total / per_post))
    header = {"id": report_id(report), "run_id": report.run_id, "run_seq": report.run_seq,
              "generated": iso(report.generated), "accounts": report.accounts, "link": link, "parts": parts}
    totals = {"open": report.open, "new": report.new, "resolved": report.resolved, "muted": report.muted,
              "incomplete_accounts": len(report.problems), "by_severity": report.severities()}
    plugins = [{"plugin": s.plugin, "open": len(s.open), "new": s.new_count, "resolved": len(s.resolved),
                "muted": len(s.muted)} for s in report.sections]
    findings = _findings(report)
    for part in range(1, parts + 1):
        first = part == 1
        yield {
            "schema": SCHEMA_ID,
            "report": {**header, "part": part},
            "totals": totals,
            "plugins": plugins,
            "problems": [{"account_id": p.account_id, "account_name": p.account_name, "status": p.status,
                          "detail": p.detail} for p in report.problems] if first else [],
            "expired_mutes": [mute_rules.describe(m) for m in report.expired_mutes] if first else [],
            "findings": list(itertools.islice(findings, per_post)),
        }


def _findings(report: Report) -> Iterator[dict[str, Any]]:
    for section in report.sections:
        yield from (_finding(entry, "open", report) for entry in section.open)
        yield from (_finding(entry, "resolved", report) for entry in section.resolved)


def _finding(entry: Entry, state: str, report: Report) -> dict[str, Any]:
    return {"key": finding_key(entry.account_id, entry.region, entry.plugin, entry.resource_id), "state": state,
            "plugin": entry.plugin, "account_id": entry.account_id, "account_name": entry.account_name,
            "region": entry.region, "resource_id": entry.resource_id, "severity": entry.severity,
            "summary": entry.summary or entry.line, "line": entry.line, "details": dict(entry.details),
            "first_seen": entry.first_seen, "last_seen": entry.last_seen, "new": entry.is_new,
            "open_days": entry.open_days(report.generated)}


def send(report: Report, settings: WebhookSettings, ctx: ChannelContext) -> None:
    """Post the report, part by part, each signed; the channel's error if a part cannot be delivered."""
    url = settings.url.read(ctx, check=usable_url, what="an http(s) URL")
    secret = settings.signing_secret.read(ctx, aliases=("secret",), what="a signing secret")

    def signed(body: bytes) -> dict[str, str]:
        timestamp = str(int(ctx.clock()))
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
                "User-Agent": f"aws-collector/{__version__}"}

    poster = Poster(url, what="the webhook", headers=signed, sleep=ctx.sleep, clock=ctx.clock)
    for body in bodies(report, per_post=settings.max_findings_per_post, link=ctx.link):
        poster.post(json.dumps(body, separators=(",", ":"), default=str).encode())


def body_schema() -> dict[str, Any]:
    """The JSON Schema every post follows (what docs/webhook-report-v1.json holds too)."""
    loaded: dict[str, Any] = json.loads(
        resources.files("collector_core.notify").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8"))
    return loaded


CHANNEL = Channel(
    name="webhook",
    summary="the report as signed JSON posts to an HTTPS endpoint",
    send=send,
    schema=schema(),
    settings=WebhookSettings.from_doc,
    # the signing secret (and the URL, if kept so) in SSM or Secrets Manager, under the secretsPrefix
    permissions=("ssm:GetParameter", "secretsmanager:GetSecretValue"),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """The signed webhook, registered through the same hook as a community channel."""
    register(CHANNEL)
