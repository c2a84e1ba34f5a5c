"""A check as a Collector: one call (every page of it), a JMESPath selection, one finding per item.

The result is an ordinary Collector, so enabling, per-account options, planning, the IAM policy,
the worker, the bounds on findings and the store treat it exactly as a plugin's.
"""
from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator, Mapping
from typing import Any

import jmespath

from collector_core.checks.model import Check
from collector_core.collector import Collector, CollectorContext, Finding
from collector_core.findings import tags_from

#: The options a check has, per account as for any collector: its request parameters and severity.
OPTION_KEYS = ("params", "severity")


def as_collector(check: Check) -> Collector:
    """The collector that runs ``check``."""
    select, resource_id = jmespath.compile(check.select), jmespath.compile(check.id)

    def collect(ctx: CollectorContext) -> Iterator[Finding]:
        params = ctx.options.get("params", check.params)
        severity = ctx.options.get("severity", check.severity)
        response = fetch(ctx.client(check.service), check.operation, params)
        selected = select.search(response)
        if selected is None:
            return
        for item in selected if isinstance(selected, list) else [selected]:
            found = resource_id.search(item)
            if found is None or isinstance(found, (dict, list)):
                raise ValueError(f"check {check.name}: id {check.id!r} gives {found!r} for an item, not a "
                                 "resource id (a string or number)")
            yield Finding(resource_id=str(found), summary=render(check.message, item), severity=severity,
                          details=plain(item) if isinstance(item, Mapping) else {"value": plain(item)},
                          tags=tags_from(item) if isinstance(item, Mapping) else {})

    return Collector(name=check.name, scope=check.scope, summary=check.summary, collect=collect,
                     permissions=[check.action], options={"params": dict(check.params), "severity": check.severity},
                     resource_type=check.resource_type)


def fetch(client: Any, operation: str, params: Mapping[str, Any]) -> Any:
    """The operation's whole response: every page merged when botocore can paginate it."""
    if client.can_paginate(operation):
        return client.get_paginator(operation).paginate(**params).build_full_result()
    response = getattr(client, operation)(**params)
    response.pop("ResponseMetadata", None)
    return response


class _Fields(string.Formatter):
    """Formats ``{Field}`` from the item's top-level fields; a missing one reads as "-"."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        value = kwargs.get(str(key))
        return "-" if value is None else plain(value)


_FIELDS = _Fields()


def render(message: str, item: Any) -> str:
    """The finding's summary: the message with the item's fields."""
    return _FIELDS.vformat(message, (), item if isinstance(item, Mapping) else {})


def plain(value: Any) -> Any:
    """The value as JSON can hold it: datetimes as ISO-8601 strings, bytes dropped to their size."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value
