"""The ``mute:`` section: which findings the notifier leaves out of messages, and which mutes have
just expired. Muted findings stay in the table, marked.

A mute applies through the whole of its ``expires`` day (UTC) and no longer from the day after.
Patterns are shell globs (``*``, ``?``, ``[...]``), matched case-sensitively as AWS ids are.
``tags`` ({key: value glob}) matches findings whose resource has every key with a matching value;
to mute by one tag or another, write two mutes. A mute with ``route`` applies to that route's
report only; without one, to every report (and the table's muted mark).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from collector_core.documents.schema import NON_EMPTY, Schema, mapping


@dataclass(frozen=True)
class Mute:
    """A finding pattern the notifier leaves out of messages until ``expires``."""

    reason: str
    plugin: str = "*"
    account: str = "*"
    region: str = "*"
    resource: str = "*"
    expires: dt.date | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    route: str | None = None  # the route whose report it applies to; None: every report


def schema(plugins: Sequence[str]) -> Schema:
    """The ``mute:`` section for the installed collectors."""
    item = mapping(
        {
            "plugin": {"enum": list(plugins), "expected": "an installed collector name",
                       "description": "the collector whose findings it mutes (default: any)"},
            "account": {"type": "string", "pattern": r"^([0-9*?]{1,12})$",
                        "expected": "an account id (wildcards * and ? allowed)", "description": "default: any"},
            "region": {"type": "string", "minLength": 1, "expected": "a region or pattern",
                       "description": "default: any"},
            "resource": {"type": "string", "minLength": 1, "expected": "a resource id or pattern",
                         "description": "default: any"},
            "reason": {**NON_EMPTY, "description": "why, shown beside the muted findings"},
            "expires": {"type": "string", "format": "date", "expected": "a date, YYYY-MM-DD",
                        "description": "from this day it no longer applies, and the report says so once"},
            "tags": {"type": "object", "minProperties": 1, "expected": "a mapping of tag key to value glob",
                     "additionalProperties": {"type": "string", "minLength": 1, "expected": "a glob"},
                     "description": "the resource's tags: every key present, its value matching (default: any)"},
            "route": {"type": "string", "minLength": 1, "expected": "a route's name from notify.routes",
                      "description": "mute in that route's report only (default: in every report)"},
        },
        "a mapping with reason and optional plugin, account, region, resource, tags, route, expires",
        required=["reason"],
    )
    return {"type": "array", "items": item, "expected": "a list of mutes",
            "description": "findings left out of the messages (they stay in the table, marked muted)"}


def from_doc(doc: Sequence[Mapping[str, Any]]) -> tuple[Mute, ...]:
    """The validated section as Mutes."""
    return tuple(
        Mute(**{**m, "expires": dt.date.fromisoformat(m["expires"])} if "expires" in m else m)
        for m in doc
    )


def is_active(mute: Mute, today: dt.date) -> bool:
    """True while the mute has not expired."""
    return mute.expires is None or today <= mute.expires


def matches(mute: Mute, finding: Mapping[str, Any]) -> bool:
    """True when the mute's plugin, account, region, resource and tag patterns all match the finding."""
    tags = finding.get("tags") or {}
    return (
        mute.plugin in ("*", finding.get("plugin"))
        and fnmatchcase(str(finding.get("account_id", "")), mute.account)
        and fnmatchcase(str(finding.get("region", "")), mute.region)
        and fnmatchcase(str(finding.get("resource_id", "")), mute.resource)
        and all(key in tags and fnmatchcase(str(tags[key]), glob) for key, glob in mute.tags.items())
    )


def mute_for(finding: Mapping[str, Any], mutes: Iterable[Mute], today: dt.date, *,
             route: str | None = None) -> Mute | None:
    """The first active mute that covers a finding, if any: of every report (``route`` None), or
    limited to that route."""
    return next((m for m in mutes if m.route == route and is_active(m, today) and matches(m, finding)), None)


def newly_expired(mutes: Iterable[Mute], today: dt.date, previous_report: dt.date | None) -> list[Mute]:
    """Mutes that have expired since the previous report (all expired ones if there was none).

    This is what lets the report mention an expiry once rather than forever.
    """
    return [
        m for m in mutes
        if m.expires is not None and not is_active(m, today)
        and (previous_report is None or is_active(m, previous_report))
    ]


def describe(mute: Mute) -> str:
    """One line naming what a mute covers and why."""
    where = [f"account {mute.account}" if mute.account != "*" else "",
             f"region {mute.region}" if mute.region != "*" else "",
             f"resource {mute.resource}" if mute.resource != "*" else "",
             " ".join(f"tag {k}={v}" for k, v in sorted(mute.tags.items()))]
    scope = ", ".join(w for w in where if w) or "everything"
    until = f", expires {mute.expires.isoformat()}" if mute.expires else ""
    route = f" in route {mute.route}" if mute.route else ""
    return f"{mute.plugin if mute.plugin != '*' else 'any plugin'}{route}: {scope} ({mute.reason}{until})"
