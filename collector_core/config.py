"""Configuration: read YAML from a file, S3 or SSM, validate it whole, and answer per account.

Validation runs before any work starts and reports every problem at once, each naming the
source, the key path and what was expected, so a bad config never half-runs.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import yaml

from collector_core.collector import Account
from collector_core.plugins import Registry

MAX_CONFIG_BYTES = 1024 * 1024
ACCOUNT_ID = r"^[0-9]{12}$"
RegionSpec = "str | list[str]"  # "all" or a list of region names


class ConfigError(Exception):
    """The configuration is unusable; the message names the source, key and expectation."""


@dataclass(frozen=True)
class AccountConfig:
    """An account listed in the config, with its overrides."""

    id: str
    name: str
    regions: str | list[str] | None = None
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Mute:
    """A finding pattern the notifier leaves out of messages until `expires`."""

    plugin: str
    reason: str
    account: str = "*"
    region: str = "*"
    resource: str = "*"
    expires: dt.date | None = None


@dataclass(frozen=True)
class Config:
    """A validated configuration."""

    source: str
    table: str = "aws-collector-findings"
    ttl_days: int = 7
    role_name: str = "aws-collector-readonly"
    external_id: str | None = None
    regions: str | list[str] = "all"
    organization: bool = False
    exclude: frozenset[str] = frozenset()
    accounts: tuple[AccountConfig, ...] = ()
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    mute: tuple[Mute, ...] = ()
    notify: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def _by_id(self) -> dict[str, AccountConfig]:
        return {a.id: a for a in self.accounts}

    def account(self, account_id: str) -> AccountConfig | None:
        """The config entry for an account, if it has one (a dict: the director asks for each)."""
        return self._by_id.get(account_id)

    def regions_for(self, account_id: str) -> str | list[str]:
        """The account's regions: its own list, else the default ("all" or a list)."""
        entry = self.account(account_id)
        return entry.regions if entry and entry.regions is not None else self.regions

    def collectors_for(self, account_id: str, registry: Registry) -> dict[str, dict[str, Any]]:
        """Enabled collectors for an account with options merged: defaults < plugins < account."""
        entry = self.account(account_id)
        plan: dict[str, dict[str, Any]] = {}
        for name in registry.names():
            settings = {"enabled": True, **registry[name].options}
            settings.update(self.plugins.get(name, {}))
            if entry:
                settings.update(entry.plugins.get(name, {}))
            if settings.pop("enabled"):
                plan[name] = settings
        return plan

    def configured_accounts(self) -> list[Account]:
        """Accounts listed in the config, in order."""
        return [Account(a.id, a.name) for a in self.accounts]


def load_config(source: str, registry: Registry, *, text: str | None = None) -> Config:
    """Read and validate a config from a path, ``s3://bucket/key`` or ``ssm:/name``."""
    if text is None:
        text = read_source(source)
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: the file is {len(text.encode())} bytes; a config is at most 1 MiB")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. a date like 2027-13-01
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if doc is None:
        raise ConfigError(f"{source}: the file is empty; expected a mapping with 'accounts' or 'organization'")
    return parse_config(doc, source, registry)


def parse_config(doc: Any, source: str, registry: Registry) -> Config:
    """Validate a loaded document and build the Config, or raise ConfigError listing every problem."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {_kind(doc)}")
    doc = _normalise_ids(doc)
    schema = config_schema(registry)
    problems = sorted(
        {_explain(err, registry) for err in _validator(schema).iter_errors(doc)}
    )
    problems += _semantic_problems(doc)
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))
    org = doc.get("organization", {})
    accounts = tuple(
        AccountConfig(
            id=a["id"],
            name=a.get("name", a["id"]),
            regions=a.get("regions"),
            plugins=a.get("plugins", {}),
        )
        for a in doc.get("accounts", [])
    )
    return Config(
        source=source,
        table=doc.get("table", Config.table),
        ttl_days=doc.get("ttl_days", Config.ttl_days),
        role_name=doc.get("role_name", Config.role_name),
        external_id=doc.get("external_id"),
        regions=doc.get("regions", "all"),
        organization=org.get("enabled", False),
        exclude=frozenset(org.get("exclude", [])),
        accounts=accounts,
        plugins=doc.get("plugins", {}),
        mute=tuple(
            Mute(**{**m, "expires": dt.date.fromisoformat(m["expires"])} if "expires" in m else m)
            for m in doc.get("mute", [])
        ),
        notify=doc.get("notify", {}),
        metrics=doc.get("metrics", {}),
    )


def read_source(source: str) -> str:
    """The text of a config from a local path, S3 or SSM Parameter Store."""
    try:
        if source.startswith("s3://"):
            from collector_core.aws import Clients, home_region

            bucket, _, key = source[len("s3://") :].partition("/")
            body = Clients().client("s3", home_region()).get_object(Bucket=bucket, Key=key)["Body"]
            return body.read(MAX_CONFIG_BYTES + 1).decode()
        if source.startswith("ssm:"):
            from collector_core.aws import Clients, home_region

            ssm = Clients().client("ssm", home_region())
            name = source[len("ssm:") :]
            return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        with open(source, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, expected a YAML file") from None
    except Exception as exc:  # S3/SSM/permission errors all mean: nothing to run
        raise ConfigError(f"{source}: cannot read it: {type(exc).__name__}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text; expected a YAML file") from None


@functools.lru_cache(maxsize=1)
def known_regions() -> list[str]:
    """Every region botocore knows, across partitions."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return sorted(regions)


def config_schema(registry: Registry) -> dict[str, Any]:
    """The JSON Schema of a config for the installed collectors.

    Each node's ``expected`` text (ignored by the validator) is what error messages quote.
    """
    region = {"type": "string", "enum": known_regions(), "expected": "an AWS region name such as eu-west-1"}
    regions = {
        "oneOf": [
            {"const": "all"},
            {"type": "array", "items": region, "minItems": 1, "uniqueItems": True},
        ],
        "expected": '"all" or a list of region names',
    }
    account_id = {"type": "string", "pattern": ACCOUNT_ID, "expected": "a 12-digit account id in quotes"}
    plugin_settings = {
        name: _options_schema(registry[name].options) for name in registry.names()
    }
    plugins = {
        "type": "object",
        "properties": plugin_settings,
        "additionalProperties": False,
        "expected": "a mapping of plugin name to settings",
    }
    name_str = {"type": "string", "minLength": 1, "expected": "a non-empty string"}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "table": {**name_str, "pattern": r"^[A-Za-z0-9_.-]{3,255}$", "expected": "a DynamoDB table name"},
            "ttl_days": {"type": "integer", "minimum": 1, "maximum": 3650, "expected": "whole days, 1 to 3650"},
            "role_name": {**name_str, "pattern": r"^[\w+=,.@/-]{1,64}$", "expected": "an IAM role name"},
            "external_id": {**name_str, "pattern": r"^[\w+=,.@:/-]{2,1224}$", "expected": "an STS external id",
                            "secret": True},
            "regions": regions,
            "organization": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "enabled": {"type": "boolean", "expected": "true or false"},
                    "exclude": {"type": "array", "items": account_id, "uniqueItems": True,
                                "expected": "a list of account ids"},
                },
                "expected": "a mapping with enabled and exclude",
            },
            "accounts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "additionalProperties": False,
                    "properties": {
                        "id": account_id,
                        "name": name_str,
                        "regions": regions,
                        "plugins": plugins,
                    },
                    "expected": "a mapping with id, name and optional regions and plugins",
                },
                "expected": "a list of accounts",
            },
            "plugins": plugins,
            "mute": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["plugin", "reason"],
                    "additionalProperties": False,
                    "properties": {
                        "plugin": {"enum": registry.names(), "expected": "an installed collector name"},
                        "account": {"type": "string", "pattern": r"^([0-9*?]{1,12})$",
                                    "expected": "an account id (wildcards * and ? allowed)"},
                        "region": {"type": "string", "minLength": 1, "expected": "a region or pattern"},
                        "resource": {"type": "string", "minLength": 1, "expected": "a resource id or pattern"},
                        "reason": name_str,
                        "expires": {"type": "string", "format": "date", "expected": "a date, YYYY-MM-DD"},
                    },
                    "expected": "a mapping with plugin, reason and optional account, region, resource, expires",
                },
                "expected": "a list of mutes",
            },
            "notify": _notify_schema(region, name_str),
            "metrics": _metrics_schema(name_str),
        },
    }


ENV_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "expected": "an environment variable name"}
WEBHOOK_KEYS = ("webhook_url", "webhook_url_env", "webhook_url_ssm", "webhook_url_secret")
METRICS_SINKS = ("none", "emf", "cloudwatch", "wavefront")


def _notify_schema(region: dict[str, Any], name_str: dict[str, Any]) -> dict[str, Any]:
    """notify: where reports go. Nodes marked ``secret`` never echo their value in errors."""
    address = {"type": "string", "pattern": r"^([^<>@]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$",
               "expected": "an email address"}
    slack = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "webhook_url": {"type": "string", "pattern": r"^https?://\S+$", "secret": True,
                            "expected": "an https:// webhook URL"},
            "webhook_url_env": ENV_NAME,
            "webhook_url_ssm": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-/]{1,2048}$",
                                "expected": "an SSM parameter name (a SecureString)"},
            "webhook_url_secret": {**name_str, "expected": "a Secrets Manager secret name or ARN"},
            "max_findings_per_plugin": {"type": "integer", "minimum": 1, "maximum": 1000,
                                        "expected": "a whole number, 1 to 1000"},
        },
        "oneOf": [{"required": [key]} for key in WEBHOOK_KEYS],
        "secret": True,
        "expected": f"a mapping with exactly one of {', '.join(WEBHOOK_KEYS)}",
    }
    email = {
        "type": "object",
        "additionalProperties": False,
        "required": ["sender", "recipients"],
        "properties": {
            "sender": address,
            "recipients": {"type": "array", "items": address, "minItems": 1, "uniqueItems": True,
                           "expected": "a list of email addresses"},
            "region": region,
        },
        "expected": "a mapping with sender, recipients and optional region",
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "slack": slack,
            "email": email,
            "stdout": {"type": "boolean", "expected": "true or false"},
            "on_run_complete": {"type": "boolean", "expected": "true or false"},
        },
        "expected": "a mapping with slack, email, stdout and on_run_complete",
    }


def _metrics_schema(name_str: dict[str, Any]) -> dict[str, Any]:
    """metrics: which sinks a run's metrics go to."""
    sink = {"enum": list(METRICS_SINKS), "expected": f"one of {', '.join(METRICS_SINKS)}"}
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sink": {"anyOf": [sink, {"type": "array", "items": sink, "minItems": 1, "uniqueItems": True}],
                     "expected": f"one of {', '.join(METRICS_SINKS)}, or a list of them"},
            "namespace": {
                "type": "string", "pattern": r"^[^:][^\s]{0,254}$",
                "expected": "a CloudWatch namespace (1-255 characters, no spaces, not starting with ':')",
            },
            "wavefront": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "proxy": {"type": "string", "pattern": r"^[A-Za-z0-9.\-]+:[0-9]{1,5}$",
                              "expected": "host:port of a Wavefront proxy"},
                    "url": {"type": "string", "pattern": r"^https?://\S+$", "expected": "an http(s) URL"},
                    "token_env": ENV_NAME,
                    "source": {**name_str, "expected": "a source name"},
                },
                "oneOf": [{"required": ["proxy"]}, {"required": ["url"]}],
                "expected": "a mapping with proxy (host:port) or url (with token_env for direct ingestion)",
            },
        },
        "expected": "a mapping with sink, namespace and wavefront",
    }


def _options_schema(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Each option must have its default's type; unknown options are errors."""
    props: dict[str, Any] = {"enabled": {"type": "boolean", "expected": "true or false"}}
    for key, value in defaults.items():
        props[key] = _value_schema(value)
    return {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
        "expected": "a mapping of enabled and the plugin's options",
    }


def _value_schema(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean", "expected": "true or false"}
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


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _explain(err: jsonschema.ValidationError, registry: Registry) -> str:
    if err.validator in ("oneOf", "anyOf") and err.context:
        # "all" or a list: when the list branch failed deeper, name the bad element itself.
        deepest = max(err.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(err.absolute_path):
            return _explain(deepest, registry)
    path = _path(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        is_plugins = path.endswith("plugins") and len(err.absolute_path) in (1, 3)
        what = "plugin" if is_plugins else "key"
        key = ".".join(filter(None, [path, str(extra[0])]))
        hint = "installed collectors" if is_plugins else "expected one of"
        more = f" (and {', '.join(map(repr, extra[1:]))})" if len(extra) > 1 else ""
        return f"{key}: unknown {what} {extra[0]!r}{more}; {hint}: {', '.join(allowed) or 'none'}"
    if err.validator == "required":
        return f"{path or '(top level)'}: {err.message.replace(' is a required property', '')} is required"
    expected = schema.get("expected") or err.message
    got = "a value not shown here (it may be a secret)" if schema.get("secret") else _show(err.instance)
    return f"{path or '(top level)'}: expected {expected}, got {got}"


def _semantic_problems(doc: Mapping[str, Any]) -> list[str]:
    """What a schema cannot say: duplicates and having something to run."""
    problems = []
    seen: dict[str, int] = {}
    for i, account in enumerate(doc.get("accounts") or []):
        if isinstance(account, dict) and isinstance(account.get("id"), str):
            if account["id"] in seen:
                problems.append(
                    f"accounts[{i}].id: duplicate account id {account['id']!r}, "
                    f"also at accounts[{seen[account['id']]}]; expected each account once"
                )
            seen.setdefault(account["id"], i)
    metrics = doc.get("metrics")
    if isinstance(metrics, dict):
        sinks = metrics.get("sink")
        if (sinks == "wavefront" or (isinstance(sinks, list) and "wavefront" in sinks)) \
                and "wavefront" not in metrics:
            problems.append("metrics.wavefront: required when metrics.sink includes wavefront; "
                            "expected a mapping with proxy (host:port) or url")
    org = doc.get("organization")
    org_on = isinstance(org, dict) and org.get("enabled") is True
    if not doc.get("accounts") and not org_on:
        problems.append("accounts: expected at least one account, or organization.enabled: true")
    return problems


def _normalise_ids(doc: dict[str, Any]) -> dict[str, Any]:
    """Accept unquoted 12-digit ids and YAML dates, which YAML turns into ints and dates."""
    def fix_id(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 12:
            return str(value)
        return value

    doc = dict(doc)
    if isinstance(doc.get("accounts"), list):
        doc["accounts"] = [
            {**a, "id": fix_id(a.get("id"))} if isinstance(a, dict) else a for a in doc["accounts"]
        ]
    org = doc.get("organization")
    if isinstance(org, dict) and isinstance(org.get("exclude"), list):
        doc["organization"] = {**org, "exclude": [fix_id(x) for x in org["exclude"]]}
    if isinstance(doc.get("mute"), list):
        doc["mute"] = [
            {
                **m,
                **({"account": fix_id(m["account"])} if "account" in m else {}),
                **({"expires": m["expires"].isoformat()} if isinstance(m.get("expires"), dt.date) else {}),
            }
            if isinstance(m, dict)
            else m
            for m in doc["mute"]
        ]
    return doc


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return f"{_kind(value)} {text[:60] + '…' if len(text) > 60 else text}"


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "the string", bool: "the boolean",
            int: "the number", float: "the number", type(None): "nothing"}.get(type(value), type(value).__name__)


def config_path_from_env() -> str | None:
    """Where a Lambda function finds its config (a path in the package, s3:// or ssm:)."""
    return os.environ.get("AWS_COLLECTOR_CONFIG")
