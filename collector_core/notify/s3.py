"""The ``notify.s3`` channel: every open finding of the run (muted ones marked) as gzip JSON Lines
in S3, for Athena, Glue or any engine that reads a Hive-partitioned data lake.

Objects go under ``<prefix>dt=YYYY-MM-DD/run=N/``, one or more per collector
(``<plugin>-00001.json.gz``, at most ``max_findings_per_object`` rows each), each row a finding in
the table notify/export.py defines (``format: jsonl``) or an OCSF Detection Finding
(``format: ocsf``); ``aws-collector athena-ddl`` prints the table. A run's objects have fixed
names, so sending its report again rewrites them rather than adding copies. Every object is
written with SSE-S3 and no ACL, and the channel calls nothing but s3:PutObject, the one action
serverless.yml grants it, on the prefix.

Memory stays flat in the number of findings: rows stream from the report (whose entries wait on
disk past a few hundred) through gzip into a temporary file, which is uploaded, then the next.
"""
from __future__ import annotations

import gzip
import itertools
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from collector_core.channel import Channel, ChannelContext
from collector_core.documents.schema import S3_BUCKET, Schema, mapping, region
from collector_core.hookspecs import hookimpl
from collector_core.notify.export import FORMATS, partition, rows
from collector_core.notify.report import Report

DEFAULT_PREFIX = "aws-collector/findings/"
DEFAULT_ROWS_PER_OBJECT = 100_000


def schema() -> Schema:
    """The ``notify.s3`` section."""
    return mapping(
        {
            "bucket": S3_BUCKET,
            "prefix": {"type": "string", "pattern": r"^([A-Za-z0-9!_.*'()-]+/)*$",
                       "expected": "an S3 key prefix ending in / such as findings/ (letters, digits and !_.*'()-)"},
            "format": {"enum": list(FORMATS), "expected": f"one of {', '.join(FORMATS)}"},
            "max_findings_per_object": {"type": "integer", "minimum": 1000, "maximum": 10_000_000,
                                        "expected": "a whole number, 1000 to 10000000"},
            "region": region(),
        },
        "a mapping with bucket and optional prefix, format, max_findings_per_object and region",
        required=["bucket"],
    )


@dataclass(frozen=True)
class S3Settings:
    """Where the findings go, in which format, and how many rows an object holds at most."""

    bucket: str
    prefix: str = DEFAULT_PREFIX
    format: str = "jsonl"
    max_findings_per_object: int = DEFAULT_ROWS_PER_OBJECT
    region: str | None = None

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> S3Settings:
        """The validated section."""
        return cls(**doc)


def send(report: Report, settings: S3Settings, ctx: ChannelContext) -> None:
    """Write the run's open findings under its partition; nothing when the table holds no run."""
    if report.run_seq is None:
        ctx.log.info("s3_nothing_to_export", reason="no run on record")
        return
    s3 = ctx.client("s3", settings.region)
    where = settings.prefix + partition(report)
    types = {name: collector.resource_type for name, collector in ctx.collectors.items()}
    written = 0
    for name, body, count in _objects(rows(report, format=settings.format, resource_types=types),
                                      settings.max_findings_per_object):
        with body:
            s3.put_object(Bucket=settings.bucket, Key=f"{where}{name}", Body=body, ContentType="application/gzip",
                          ServerSideEncryption="AES256")
        written += count
    ctx.log.info("s3_exported", bucket=settings.bucket, prefix=where, findings=written)


def _objects(found: Iterator[tuple[str, dict[str, Any]]], per_object: int) -> Iterator[tuple[str, IO[bytes], int]]:
    """(object name, its gzip body ready to read, rows) for rows grouped by plugin, in order."""
    for plugin, group in itertools.groupby(found, key=lambda item: item[0]):
        for number in itertools.count(1):
            body = tempfile.TemporaryFile()  # noqa: SIM115 (handed on, closed by the uploader)
            count = 0
            with gzip.GzipFile(fileobj=body, mode="wb", mtime=0) as zipped:  # closing it leaves the file open
                for _, data in itertools.islice(group, per_object):
                    zipped.write(json.dumps(data, separators=(",", ":"), default=str).encode() + b"\n")
                    count += 1
            if not count:
                body.close()
                break
            body.seek(0)
            yield f"{plugin}-{number:05d}.json.gz", body, count
            if count < per_object:
                break


CHANNEL = Channel(
    name="s3",
    summary="every open finding of the run as gzip JSON Lines (or OCSF) in S3, for Athena",
    send=send,
    schema=schema(),
    settings=S3Settings.from_doc,
    permissions=("s3:PutObject",),
)


@hookimpl
def register_channels(register: Callable[[Channel], None]) -> None:
    """The S3 export, registered through the same hook as a community channel."""
    register(CHANNEL)
