"""Loading a config: read it, parse the YAML, validate it whole, and build the Config.

Validation runs before any work starts and reports every problem at once, each naming the
source, the key path and what was expected, so a bad config never half-runs.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import yaml

from collector_core.checks.model import Check, CheckError, parse_checks
from collector_core.checks.options import option_problems
from collector_core.config.errors import ConfigError, explain, kind
from collector_core.config.model import AccountConfig, Config, with_checks
from collector_core.config.schema import config_schema, section_problems
from collector_core.config.sources import MAX_CONFIG_BYTES, read_source
from collector_core.documents.loader import AliasBomb, load_yaml
from collector_core.metrics.sinks import MetricsSettings
from collector_core.notify import mutes
from collector_core.notify.channels import NotifySettings
from collector_core.plugins import Registry
from collector_core.runtime.organization import OrganizationSettings


def load_config(source: str, registry: Registry, *, text: str | None = None) -> Config:
    """Read and validate a config from a path, ``s3://bucket/key`` or ``ssm:/name``."""
    if text is None:
        text = read_source(source)
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: the file is {len(text.encode())} bytes; a config is at most 1 MiB")
    try:
        doc = load_yaml(text)
    except AliasBomb as exc:
        raise ConfigError(f"{source}: line {exc.problem_mark.line + 1}: {exc.problem}") from None
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
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {kind(doc)}")
    doc = _normalise_ids(doc)
    checks, check_problems = _checks(doc.get("checks", {}), source, registry)
    # The checks are collectors: the plugins sections may enable them and give them options.
    validator = jsonschema.Draft202012Validator(config_schema(with_checks(registry, checks, source)),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    # The checks module says what is wrong with a check (against botocore's model too): once.
    problems = sorted({explain(err) for err in validator.iter_errors(doc) if not _in_checks(err)})
    problems += section_problems(doc) + option_problems(doc, checks)
    if problems or check_problems:
        raise ConfigError("\n".join(check_problems + [f"{source}: {p}" for p in problems]))
    return Config(
        source=source,
        table=doc.get("table", Config.table),
        ttl_days=doc.get("ttl_days", Config.ttl_days),
        history_days=doc.get("history_days", Config.history_days),
        scan_threads=doc.get("scan_threads", Config.scan_threads),
        role_name=doc.get("role_name", Config.role_name),
        external_id=doc.get("external_id"),
        regions=doc.get("regions", "all"),
        organization=OrganizationSettings.from_doc(doc.get("organization", {})),
        accounts=tuple(
            AccountConfig(id=a["id"], name=a.get("name", a["id"]), regions=a.get("regions"),
                          plugins=a.get("plugins", {}))
            for a in doc.get("accounts", [])
        ),
        plugins=doc.get("plugins", {}),
        mute=mutes.from_doc(doc.get("mute", [])),
        notify=NotifySettings.from_doc(doc.get("notify", {}), registry),
        metrics=MetricsSettings.from_doc(doc.get("metrics", {})),
        checks=tuple(checks),
    )


def _in_checks(error: jsonschema.ValidationError) -> bool:
    return len(error.absolute_path) > 0 and error.absolute_path[0] == "checks"


def _checks(doc: Any, source: str, registry: Registry) -> tuple[list[Check], list[str]]:
    """The config's checks and every problem with them, each naming the file, the check and the key."""
    if doc == {}:
        return [], []
    try:
        checks = parse_checks(doc, source)
    except CheckError as exc:
        return [], exc.problems
    problems = []
    for check in checks:
        if check.name in registry:
            owner = registry.collectors[check.name].plugin
            problems.append(f"{source}: checks.{check.name}: the name is taken by a collector of plugin "
                            f"{owner.name!r} (distribution {owner.distribution}); a check needs a name of its own")
    return ([], problems) if problems else (checks, [])


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
