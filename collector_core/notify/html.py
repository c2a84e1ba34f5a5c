"""The ``notify.html`` channel: the report's HTML page (notify/page.py) uploaded to S3, private
and encrypted, and a presigned link to it for the Slack message and the email.

The object is written with SSE-S3 (``ServerSideEncryption: AES256``) and no ACL, so it is exactly
as private as the bucket (S3's default, owner-enforced). The link is a presigned GET (SigV4, whose
signatures last at most 7 days): anyone holding it can read the page until it expires, and never
after. A URL signed with temporary credentials, as a Lambda function's role's are, stops working
when those credentials expire, which may be sooner (docs/deploy.md). Presigning calls nothing;
the execution role needs s3:PutObject to upload and s3:GetObject for the link to be honoured.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collector_core.channel import Channel, ChannelContext
from collector_core.documents.schema import S3_BUCKET, Schema, mapping, region
from collector_core.findings import RunSummary
from collector_core.hookspecs import hookimpl
from collector_core.notify import page
from collector_core.notify.report import Report

#: SigV4's limit on a presigned URL's life.
MAX_LINK_HOURS = 7 * 24
DEFAULT_LINK_HOURS = 24
DEFAULT_PREFIX = "aws-collector/"
#: Runs of history on the uploaded page (as `aws-collector report` shows by default).
HISTORY_RUNS = 30


def schema() -> Schema:
    """The ``notify.html`` section."""
    return mapping(
        {
            "bucket": S3_BUCKET,
            "prefix": {"type": "string", "pattern": r"^[A-Za-z0-9!_.*'()/-]{0,512}$",
                       "expected": "an S3 key prefix such as reports/ (letters, digits and !_.*'()/-)"},
            "link_expiry_hours": {"type": "integer", "minimum": 1, "maximum": MAX_LINK_HOURS,
                                  "expected": f"whole hours, 1 to {MAX_LINK_HOURS} (a presigned link lasts at most "
                                              "7 days)"},
            "region": region(),
        },
        "a mapping with bucket and optional prefix, link_expiry_hours and region",
        required=["bucket"],
    )


@dataclass(frozen=True)
class HtmlSettings:
    """Where the page goes (the bucket's region defaults to home) and how long its link works."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    link_expiry_hours: int = DEFAULT_LINK_HOURS
    region: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> HtmlSettings:
        """The validated section."""
        return cls(**doc)


def object_key(settings: HtmlSettings, report: Report) -> str:
    """``<prefix>2025/06/02/report-<run>.html``: one object per report, dated, never overwritten."""
    stamp = report.generated.strftime("%Y/%m/%d")
    name = report.run_id or report.generated.strftime("%Y%m%dT%H%M%SZ")
    return f"{settings.prefix}{stamp}/report-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.html"


def send(report: Report, settings: HtmlSettings, ctx: ChannelContext) -> str:
    """Publish the page, with the history of the latest runs, and return its link."""
    return publish(report, ctx.history(HISTORY_RUNS), settings, ctx)


def publish(report: Report, history: Sequence[RunSummary], settings: HtmlSettings, ctx: ChannelContext) -> str:
    """Upload the page and return a presigned link to it."""
    s3 = ctx.client("s3", settings.region)
    key = object_key(settings, report)
    # Written to a temporary file, not memory: a page of many findings is megabytes.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as body:
        page.write(report, history, body)
        body.flush()
        body.seek(0)
        s3.put_object(Bucket=settings.bucket, Key=key, Body=body.buffer, ContentType="text/html; charset=utf-8",
                      CacheControl="private, no-store", ServerSideEncryption="AES256")
    url: str = s3.generate_presigned_url("get_object", Params={"Bucket": settings.bucket, "Key": key},
                                         ExpiresIn=settings.link_expiry_hours * 3600)
    return url


CHANNEL = Channel(
    name="html", summary="the report's HTML page on S3, private, linked from the other channels", send=send,
    schema=schema(), settings=HtmlSettings.from_doc, permissions=("s3:PutObject", "s3:GetObject"), links=True)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """The HTML page, registered through the same hook as a community channel."""
    register(CHANNEL)
