"""Findings as OCSF Detection Findings (class_uid 2004, OCSF 1.5.0): the schema of Amazon Security
Lake and of Prowler's default output, for a security data lake or a SIEM. A mapping only, one
finding at a time; docs/outputs.md describes it field by field.

Every current finding is an open one (resolved findings are not current), so each maps to the
activity "Create" and the status "New"; ``time`` is when it was last seen.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from collector_core import __version__
from collector_core.findings import finding_key, iso, parse_time

#: The OCSF version these objects follow (the one py-ocsf-models, which the tests validate with, models).
OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID = 2004, 2  # Detection Finding, in the Findings category
CREATE = 1  # activity_id: a finding was created (type_uid = class_uid * 100 + activity_id)
NEW = 1  # status_id
AWS_ACCOUNT = 10  # account type_id
RULE = 1  # analytic type_id: a collector is a rule run against the account's configuration
#: severity -> (severity_id, its caption)
SEVERITY_IDS = {"info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium"),
                "high": (4, "High"), "critical": (5, "Critical")}


def detection_finding(finding: Mapping[str, Any], *, resource_type: str = "") -> dict[str, Any]:
    """One finding (the public schema) as an OCSF Detection Finding; ``resource_type`` is its
    collector's, if it declares one."""
    last = _time(finding["last_seen"])
    first = _time(finding.get("first_seen")) if finding.get("first_seen") else last
    severity_id, severity = SEVERITY_IDS[finding["severity"]]
    plugin, region = finding["plugin"], finding["region"]
    resource: dict[str, Any] = {"uid": finding["resource_id"], "region": region}
    if resource_type:
        resource["type"] = resource_type
    if finding.get("details"):
        resource["data"] = dict(finding["details"])
    if finding.get("tags"):  # the models validated against have labels, not 1.5's key-value tags
        resource["labels"] = [f"{key}:{value}" for key, value in sorted(finding["tags"].items())]
    return {
        "activity_id": CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": NEW,
        "status": "New",
        "message": finding["summary"],
        "time": _ms(last),
        "time_dt": iso(last),
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": ["cloud", "datetime"],
            "product": {"name": "aws-collector", "vendor_name": "aws-collector", "version": __version__},
        },
        "finding_info": {
            "uid": finding_key(finding["account_id"], region, plugin, finding["resource_id"]),
            "title": finding["summary"],
            "types": [plugin],
            "analytic": {"uid": plugin, "name": plugin, "type_id": RULE, "type": "Rule"},
            "created_time": _ms(first),
            "created_time_dt": iso(first),
            "first_seen_time": _ms(first),
            "first_seen_time_dt": iso(first),
            "last_seen_time": _ms(last),
            "last_seen_time_dt": iso(last),
        },
        "cloud": {
            "provider": "AWS",
            "region": region,
            "account": {"uid": finding["account_id"], "name": finding.get("account_name") or finding["account_id"],
                        "type_id": AWS_ACCOUNT, "type": "AWS Account"},
        },
        "resources": [resource],
    }


def _time(text: Any) -> dt.datetime:
    moment = parse_time(text)
    if moment is None:
        raise ValueError(f"not an ISO-8601 time: {str(text)[:40]!r}")
    return moment


def _ms(moment: dt.datetime) -> int:
    """OCSF's timestamp: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)
