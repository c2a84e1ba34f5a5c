"""The rows the ``s3`` channel writes and the Athena (Glue) table that reads them, from one
definition, so the two cannot drift: ``jsonl`` rows are COLUMNS, one JSON object per line; ``ocsf``
rows are OCSF Detection Findings (notify/ocsf.py), whose table columns are read off a row that
mapping makes. ``aws-collector athena-ddl`` prints the table; docs/outputs.md shows it.

Objects sit under ``<prefix>dt=YYYY-MM-DD/run=N/`` (the run's start date and number), Hive's
partition layout, which Athena, Glue and DuckDB read as the columns ``dt`` and ``run``. The
table reads them with the Hive JSON SerDe (AWS recommends it over the OpenX one), which takes
``.gz`` objects as gzip.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.findings import finding_key, iso, parse_time
from collector_core.notify.ocsf import detection_finding
from collector_core.notify.report import Entry, Report

FORMATS = ("jsonl", "ocsf")
DEFAULT_TABLE = "aws_collector_findings"  # quoted as `aws_collector_findings` in the DDL
SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"


@dataclass(frozen=True)
class Column:
    """One column of the jsonl table: its Athena type, what it holds, and how a row gets it."""

    name: str
    type: str
    doc: str
    value: Callable[[Entry, Report], Any]


COLUMNS: tuple[Column, ...] = (
    Column("plugin", "string", "the collector name", lambda e, r: e.plugin),
    Column("account_id", "string", "the 12-digit account id", lambda e, r: e.account_id),
    Column("account_name", "string", "the account name", lambda e, r: e.account_name),
    Column("region", "string", "the region; global for global collectors", lambda e, r: e.region),
    Column("resource_id", "string", "the resource the finding is about", lambda e, r: e.resource_id),
    Column("finding_key", "string", "<account_id>/<region>/<plugin>/<resource_id>, as in the OCSF and Security Hub "
           "outputs", lambda e, r: finding_key(e.account_id, e.region, e.plugin, e.resource_id)),
    Column("severity", "string", "info, low, medium, high or critical", lambda e, r: e.severity),
    Column("summary", "string", "the one-line summary", lambda e, r: e.summary or e.line),
    Column("details", "string", "the collector details as JSON text, for json_extract_scalar",
           lambda e, r: json.dumps(dict(e.details), sort_keys=True, default=str)),
    Column("first_seen", "string", "ISO-8601 UTC: from_iso8601_timestamp(first_seen)", lambda e, r: e.first_seen),
    Column("last_seen", "string", "ISO-8601 UTC", lambda e, r: e.last_seen),
    Column("open_days", "int", "whole days since first seen", lambda e, r: e.open_days(r.generated)),
    Column("is_new", "boolean", "first seen in this run", lambda e, r: e.is_new),
    Column("muted", "string", "the reason of the mute that covers it; null when none does",
           lambda e, r: e.mute_reason),
    Column("run_id", "string", "the run the report is of", lambda e, r: r.run_id),
    Column("report_time", "string", "when the report was built, ISO-8601 UTC", lambda e, r: iso(r.generated)),
)
#: The partition columns, from each object's key.
PARTITIONS = (("dt", "string", "the date the run began, YYYY-MM-DD (UTC)"), ("run", "int", "the run number"))


def partition(report: Report) -> str:
    """``dt=YYYY-MM-DD/run=N/`` of a report's run (its start date; the report's own date without one)."""
    started = parse_time(report.run_started) or report.generated
    return f"dt={started.astimezone(dt.UTC).date().isoformat()}/run={report.run_seq}/"


def row(entry: Entry, report: Report, *, format: str = "jsonl", resource_type: str = "") -> dict[str, Any]:
    """One finding as a row of the table in ``format``."""
    if format == "ocsf":
        finding = {"plugin": entry.plugin, "account_id": entry.account_id, "account_name": entry.account_name,
                   "region": entry.region, "resource_id": entry.resource_id, "severity": entry.severity,
                   "summary": entry.summary or entry.line, "details": dict(entry.details),
                   "first_seen": entry.first_seen, "last_seen": entry.last_seen or iso(report.generated)}
        return detection_finding(finding, resource_type=resource_type)
    return {c.name: c.value(entry, report) for c in COLUMNS}


def table_columns(format: str = "jsonl") -> list[tuple[str, str, str]]:
    """(name, Athena type, comment) of the table's columns for ``format``."""
    if format == "ocsf":
        sample = row(_SAMPLE, _SAMPLE_REPORT, format="ocsf", resource_type="AwsEc2Volume")
        return [(name, _hive_type(value, name), "OCSF Detection Finding (1.5.0)") for name, value in sample.items()]
    return [(c.name, c.type, c.doc) for c in COLUMNS]


#: Free-form parts of an OCSF row that no fixed type can describe: left out of the table's columns
#: (the jsonl format has the details as JSON text).
FREE_FORM = ("resources.data",)


def _hive_type(value: Any, path: str) -> str:
    """The Athena type of a value a row holds (``path`` names it, to leave out the free-form parts)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str) or value is None:
        return "string"
    if isinstance(value, list):
        return f"array<{_hive_type(value[0], path) if value else 'string'}>"
    # Unquoted field names, as AWS's own CloudTrail table writes struct<type:string,...>
    fields = [f"{k}:{_hive_type(v, f'{path}.{k}')}" for k, v in value.items() if f"{path}.{k}" not in FREE_FORM]
    return f"struct<{','.join(fields)}>"


def athena_ddl(*, bucket: str, prefix: str, format: str = "jsonl", table: str = f"`{DEFAULT_TABLE}`") -> str:
    """``CREATE EXTERNAL TABLE`` for the objects the s3 channel writes to ``s3://bucket/prefix``,
    and how to load each run's partition."""
    columns = ",\n".join(f"  `{name}` {kind} COMMENT '{_quoted(doc)}'" for name, kind, doc in table_columns(format))
    partitions = ", ".join(f"`{name}` {kind} COMMENT '{_quoted(doc)}'" for name, kind, doc in PARTITIONS)
    return (f"-- aws-collector's findings ({format}), as the notify.s3 channel writes them\n"
            f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{columns}\n)\n"
            f"PARTITIONED BY ({partitions})\n"
            f"ROW FORMAT SERDE '{SERDE}'\n"
            f"LOCATION 's3://{bucket}/{prefix}';\n"
            f"-- then, after each run (or from a Glue crawler), load the new partitions:\n"
            f"-- MSCK REPAIR TABLE {table};\n")


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")  # Hive's escapes in a quoted string


def _sample() -> tuple[Entry, Report]:
    when = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    entry = Entry(plugin="p", account_id="111111111111", account_name="n", region="r", resource_id="i",
                  severity="low", line="l", first_seen=iso(when), last_seen=iso(when), summary="s",
                  details={"k": 1})
    return entry, Report(generated=when, run_id="r", run_seq=1, accounts=1)


_SAMPLE, _SAMPLE_REPORT = _sample()


def rows(report: Report, *, format: str, resource_types: Mapping[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(plugin, row) of every open finding of the report, muted ones included (marked), in order."""
    for section in report.sections:
        for entries in (section.open, section.muted):
            for entry in entries:
                yield section.plugin, row(entry, report, format=format,
                                          resource_type=resource_types.get(entry.plugin, ""))
