"""Report entries in the AWS Security Finding Format (ASFF), as Security Hub imports them. A
mapping only (notify/securityhub.py sends); docs/outputs.md describes it field by field.

Findings go to the default product of the collector's own account, and BatchImportFindings under
a default product ARN takes only findings whose ``AwsAccountId`` is the calling account. So
``AwsAccountId`` is the collector's account, and the member account the finding is about is
named in the description, in ``ProductFields`` and in the resource's ``Details.Other``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from collector_core.collector import Scope
from collector_core.findings import finding_key, iso
from collector_core.notify.report import Entry

SCHEMA_VERSION = "2018-10-08"
#: Security Hub's Id and GeneratorId hold at most 512 characters, a Title 256, a Description 1024.
MAX_ID, MAX_TITLE, MAX_DESCRIPTION, MAX_FIELD = 512, 256, 1024, 2048
#: A finding type is namespace/category/classifier; the classifier is the collector's name.
TYPE_PREFIX = "Software and Configuration Checks/AWS Security Best Practices/"
LABELS = {"info": "INFORMATIONAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}
OTHER = "Other"  # the resource type of a collector that declares none


@dataclass(frozen=True)
class Product:
    """Where findings are imported: the default product of the collector's own account in a region."""

    account_id: str
    region: str
    partition: str = "aws"

    @property
    def arn(self) -> str:
        """``arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default``."""
        return f"arn:{self.partition}:securityhub:{self.region}:{self.account_id}:product/{self.account_id}/default"


def finding_id(entry: Entry) -> str:
    """The finding's Id in Security Hub: its key, the same for every run that sees it (hashed when
    a long resource id would make it longer than Security Hub allows)."""
    key = finding_key(entry.account_id, entry.region, entry.plugin, entry.resource_id)
    if len(key) <= MAX_ID:
        return key
    return f"{entry.account_id}/{entry.region}/{entry.plugin}/sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def asff_finding(entry: Entry, product: Product, *, resource_type: str = "",
                 archived_at: dt.datetime | None = None) -> dict[str, Any]:
    """One report entry as an ASFF finding: ACTIVE, or ARCHIVED (updated at ``archived_at``) when
    the report says it was resolved."""
    last_seen = entry.last_seen or entry.first_seen or ""
    first_seen = entry.first_seen or last_seen
    severity = {"Label": LABELS.get(entry.severity, "INFORMATIONAL"), "Original": entry.severity}
    types = [TYPE_PREFIX + entry.plugin]
    where = f"account {entry.account_id} ({entry.account_name}), " + (
        Scope.GLOBAL.value if entry.region == Scope.GLOBAL.value else f"region {entry.region}")
    resource: dict[str, Any] = {
        "Type": resource_type or OTHER,
        "Id": entry.resource_id[:MAX_ID],
        "Partition": product.partition,
        "Details": {"Other": {"AccountId": entry.account_id, "AccountName": entry.account_name[:MAX_FIELD],
                              "Collector": entry.plugin}},
    }
    if entry.region != Scope.GLOBAL.value:
        resource["Region"] = entry.region
    if entry.tags:  # bounded as ASFF bounds them (keys 128, values 256 characters)
        resource["Tags"] = dict(entry.tags)
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(entry),
        "ProductArn": product.arn,
        "ProductName": "aws-collector",
        "CompanyName": "aws-collector",
        "GeneratorId": f"aws-collector/{entry.plugin}",
        "AwsAccountId": product.account_id,
        "Types": types,
        "CreatedAt": first_seen,
        "UpdatedAt": iso(archived_at) if archived_at else last_seen,
        "FirstObservedAt": first_seen,
        "LastObservedAt": last_seen,
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": types},
        "Title": entry.line[:MAX_TITLE],
        "Description": f"In {where}, aws-collector's {entry.plugin} found: {entry.line}"[:MAX_DESCRIPTION],
        "ProductFields": {"aws-collector/Collector": entry.plugin, "aws-collector/AccountId": entry.account_id,
                          "aws-collector/AccountName": entry.account_name[:MAX_FIELD],
                          "aws-collector/Region": entry.region},
        "Resources": [resource],
        "RecordState": "ARCHIVED" if archived_at else "ACTIVE",
    }
