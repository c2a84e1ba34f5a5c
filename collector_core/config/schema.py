"""The JSON Schema of a config: the core keys, each installed collector's options, and the
sections of the features that own them (notify, metrics, mute), assembled into one document."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collector_core.checks import options as checks
from collector_core.config.errors import shown_key
from collector_core.documents.schema import ACCOUNT_ID, BOOLEAN, NON_EMPTY, Schema, mapping, regions
from collector_core.metrics import sinks
from collector_core.notify import channels, mutes, routes
from collector_core.plugins import ALLOW_ACTIONS, Registry
from collector_core.runtime import organization


def config_schema(registry: Registry) -> Schema:
    """The whole config's schema for the installed collectors."""
    def plugins(account_level: bool) -> Schema:
        return {
            "type": "object",
            "properties": {name: options_schema(registry[name].options, account_level=account_level)
                           for name in registry.names()},
            "additionalProperties": False,
            "expected": "a mapping of plugin name to settings",
            "description": "per account: the top-level plugins settings for this account alone (allow_actions "
                           "only at the top level)" if account_level else
                           "each collector's settings for every account: enabled, allow_actions and its options",
        }

    account = mapping(
        {"id": {**ACCOUNT_ID, "description": "the account's id"},
         "name": {**NON_EMPTY, "description": "how reports name it (default: its id, or its name in Organizations)"},
         "regions": {**regions(), "description": "its own regions, instead of the top-level regions"},
         "plugins": plugins(True)},
        "a mapping with id, name and optional regions and plugins",
        required=["id"],
    )
    return mapping(
        {
            "table": {**NON_EMPTY, "pattern": r"^[A-Za-z0-9_.-]{3,255}$", "expected": "a DynamoDB table name",
                      "description": "the findings table, in the home region (default aws-collector-findings; "
                                     "the stack's table parameter)"},
            "ttl_days": {"type": "integer", "minimum": 1, "maximum": 3650, "expected": "whole days, 1 to 3650",
                         "description": "findings and run records expire this many days after last written "
                                        "(default 7)"},
            "history_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                             "expected": "whole days, 1 to 3650",
                             "description": "each run's summary (the report's history) is kept this long "
                                            "(default 400)"},
            "scan_threads": {"type": "integer", "minimum": 1, "maximum": 512,
                             "expected": "a whole number of threads, 1 to 512",
                             "description": "scans one worker runs at once (default 32)"},
            "role_name": {**NON_EMPTY, "pattern": r"^[\w+=,.@/-]{1,64}$", "expected": "an IAM role name",
                          "description": "the member role assumed in every account (default aws-collector-readonly; "
                                         "the stack's memberRoleName parameter)"},
            "external_id": {**NON_EMPTY, "pattern": r"^[\w+=,.@:/-]{2,1224}$", "expected": "an STS external id",
                            "secret": True, "description": "the external id the member role requires"},
            "regions": {**regions(), "description": "the regions scanned in every account (default all: those "
                                                    "enabled in each account)"},
            "organization": organization.schema(),
            "accounts": {"type": "array", "items": account, "expected": "a list of accounts",
                         "description": "the accounts to run; with Organizations, the names and overrides of some "
                                        "(and the management account, which runs only when listed)"},
            "plugins": plugins(False),
            "checks": checks.SCHEMA,
            "mute": mutes.schema(registry.names()),
            "notify": channels.schema(registry),
            "metrics": sinks.schema(),
        },
        "a mapping of settings",
    )


#: ``allow_actions``: IAM actions the member role may hold for this collector though not read-only.
ALLOW_ACTIONS_SCHEMA: Schema = {
    "type": "array", "uniqueItems": True,
    "items": {"type": "string", "pattern": r"^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$", "expected": "an IAM action"},
    "expected": "a list of IAM actions such as s3:GetObject",
}
#: One member role serves every account, so an account's own plugins section cannot widen it.
NOT_PER_ACCOUNT: Schema = {
    "not": {}, "expected": "allow_actions only in the top-level plugins section (one member role serves "
                           "every account)",
}


def options_schema(defaults: Mapping[str, Any], *, account_level: bool = False) -> Schema:
    """A collector's settings: ``enabled``, ``allow_actions`` (top level only) and its options, each
    of its default's type."""
    props: dict[str, Any] = {
        "enabled": {**BOOLEAN, "description": "whether the collector runs (default true)"},
        ALLOW_ACTIONS: NOT_PER_ACCOUNT if account_level else {
            **ALLOW_ACTIONS_SCHEMA, "description": "IAM actions the member role may hold for it though not "
                                                   "read-only (iam-policy refuses them otherwise)"}}
    for key, value in defaults.items():
        props[key] = _value_schema(value)
    return mapping(props, "a mapping of enabled and the plugin's options")


def section_problems(doc: Mapping[str, Any]) -> list[str]:
    """What a schema cannot say: duplicates, having something to run, and each section's own rules."""
    problems = []
    seen: dict[str, int] = {}
    for i, account in enumerate(doc.get("accounts") or []):
        if isinstance(account, dict) and isinstance(account.get("id"), str):
            if account["id"] in seen:
                problems.append(
                    f"accounts[{i}].id: duplicate account id {shown_key(account['id'])!r}, "
                    f"also at accounts[{seen[account['id']]}]; expected each account once"
                )
            seen.setdefault(account["id"], i)
    if isinstance(doc.get("metrics"), dict):
        problems += sinks.problems(doc["metrics"])
    org = doc.get("organization")
    if isinstance(org, dict):
        problems += organization.problems(org)
    notify: dict[str, Any] = doc["notify"] if isinstance(doc.get("notify"), dict) else {}
    problems += routes.problems(notify, doc["mute"] if isinstance(doc.get("mute"), list) else [])
    org_on = isinstance(org, dict) and org.get("enabled") is True
    if not doc.get("accounts") and not org_on:
        problems.append("accounts: expected at least one account, or organization.enabled: true")
    return problems


def _value_schema(value: Any) -> Schema:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return {"type": "integer", "expected": "a whole number"}
    if isinstance(value, float):
        return {"type": "number", "expected": "a number"}
    if isinstance(value, str):
        return {"type": "string", "expected": "a string"}
    if isinstance(value, (list, tuple)):
        items = _value_schema(value[0]) if value else {}
        what = items.get("expected", "values")
        return {"type": "array", "items": items, "expected": f"a list, each {what}"}
    if isinstance(value, Mapping):
        return {"type": "object", "expected": "a mapping"}
    return {}
