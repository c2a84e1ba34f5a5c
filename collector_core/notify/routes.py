"""The ``notify.routes`` section: which findings each team hears about, through its own channels.

A route matches a finding when every criterion it gives matches (a criterion left out matches
anything): ``accounts`` (account id globs), ``ou`` (organizational unit path globs; a unit's path
covers the units below it, as in ``organization.ous``), ``tags`` ({key: value glob}, every key
present and matching), ``plugins`` (collector name globs) and ``min_severity``. Within one list,
any glob may match. A finding goes to every route it matches; ``notify.default`` decides whether the
top-level channels get every finding (``all``, the default) or only those no route matched
(``unmatched``). Globs are shell globs (``*``, ``?``, ``[...]``), case-sensitive as AWS ids are.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from collector_core.collector import SEVERITIES
from collector_core.documents.schema import Schema, mapping

#: A route's name: it shows in messages, in ``--route`` and in the page's ``?route=``.
ROUTE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DEFAULTS = ("all", "unmatched")


@dataclass(frozen=True)
class Match:
    """What a route's findings have in common; an empty criterion matches anything."""

    accounts: tuple[str, ...] = ()
    ous: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    min_severity: str = "info"

    def covers_account(self, account_id: str, ou: str | None) -> bool:
        """Whether findings of this account can match (its id and its unit's path)."""
        if self.accounts and not any(fnmatchcase(account_id, p) for p in self.accounts):
            return False
        return not self.ous or (ou is not None and any(in_unit(ou, p) for p in self.ous))

    def covers(self, finding: Mapping[str, Any]) -> bool:
        """Whether a finding of a covered account matches: plugin, tags and severity."""
        if self.plugins and not any(fnmatchcase(str(finding.get("plugin", "")), p) for p in self.plugins):
            return False
        if finding.get("severity") in SEVERITIES and SEVERITIES.index(finding["severity"]) < SEVERITIES.index(
                self.min_severity):
            return False
        return tags_match(self.tags, finding.get("tags") or {})


@dataclass(frozen=True)
class Route:
    """A named match and the channels its findings go to."""

    name: str
    match: Match
    channels: tuple[Any, ...] = ()  # notify.channels.ChannelSettings (which imports this module)


def in_unit(ou: str, pattern: str) -> bool:
    """An OU path matches a pattern naming it or a unit above it (``Root/Workloads`` covers
    ``Root/Workloads/Payments``)."""
    return fnmatchcase(ou, pattern) or fnmatchcase(ou, pattern.rstrip("/") + "/*")


def tags_match(wanted: Mapping[str, str], tags: Mapping[str, Any]) -> bool:
    """Every wanted key is among the tags, its value matching the glob."""
    return all(key in tags and fnmatchcase(str(tags[key]), glob) for key, glob in wanted.items())


def covered_accounts(route: Route, accounts: Iterable[tuple[str, str | None]]) -> list[str]:
    """The ids among (id, ou) whose findings the route can receive."""
    return [account_id for account_id, ou in accounts if route.match.covers_account(account_id, ou)]


def schema(channel_properties: Mapping[str, Schema]) -> Schema:
    """The ``routes`` list; each route's ``channels`` take any installed channel's section."""
    globs = {"type": "array", "items": {"type": "string", "minLength": 1, "expected": "a glob"},
             "minItems": 1, "expected": "a list of globs"}
    match = mapping({
        "accounts": {**globs, "description": "account id globs (any may match)"},
        "ou": {**globs, "description": "organizational unit path globs, e.g. Root/Workloads/Payments (covers "
                                       "the units below)"},
        "tags": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1, "expected": "a glob"},
                 "minProperties": 1, "expected": "a mapping of tag key to value glob",
                 "description": "every key must be on the resource, its value matching"},
        "plugins": {**globs, "description": "collector name globs"},
        "min_severity": {"enum": list(SEVERITIES), "expected": f"one of {', '.join(SEVERITIES)}",
                         "description": "the least severe finding it gets (default info)"},
    }, "a mapping with accounts, ou, tags, plugins and min_severity",
        description="what its findings have in common (all given must match; none given: everything)")
    channels = mapping(dict(channel_properties), "a mapping of channels", minProperties=1,
                       description="its own channels, each with its own settings, as under notify:")
    route = mapping({"name": {"type": "string", "pattern": ROUTE_NAME,
                              "expected": "a name of letters, digits, _ . - (at most 64)",
                              "description": "how messages, --route and the page's ?route= name it"},
                     "match": match, "channels": channels},
                    "a mapping with name, match and channels", required=["name", "channels"])
    return {"type": "array", "items": route, "expected": "a list of routes",
            "description": "teams' own reports: each finding goes to every route it matches"}


def problems(notify: Mapping[str, Any], mutes: Sequence[Any]) -> list[str]:
    """What the schema cannot say: duplicate route names, malformed globs, mutes naming no route."""
    found: list[str] = []
    names: dict[str, int] = {}
    routes: list[Any] = notify["routes"] if isinstance(notify.get("routes"), list) else []
    for i, route in enumerate(routes):
        if not isinstance(route, dict):
            continue
        name = route.get("name")
        if isinstance(name, str):
            if name in names:
                found.append(f"notify.routes[{i}].name: duplicate route {name!r}, also at notify.routes[{names[name]}]"
                             "; expected each name once")
            names.setdefault(name, i)
        match: dict[str, Any] = route["match"] if isinstance(route.get("match"), dict) else {}
        for key in ("accounts", "ou", "plugins"):
            patterns: list[Any] = match[key] if isinstance(match.get(key), list) else []
            for j, pattern in enumerate(patterns):
                found += [f"notify.routes[{i}].match.{key}[{j}]: {p}" for p in glob_problems(pattern)]
        found += _tag_problems(match, f"notify.routes[{i}].match")
    for i, mute in enumerate(mutes):
        if not isinstance(mute, dict):
            continue
        if isinstance(mute.get("route"), str) and mute["route"] not in names:
            found.append(f"mute[{i}].route: unknown route {mute['route']!r}; expected one of notify.routes' names: "
                         f"{', '.join(names) or 'none configured'}")
        found += _tag_problems(mute, f"mute[{i}]")
    return found


def _tag_problems(doc: Mapping[str, Any], where: str) -> list[str]:
    tags: dict[str, Any] = doc["tags"] if isinstance(doc.get("tags"), dict) else {}
    return [f"{where}.tags.{tag}: {p}" for tag, pattern in tags.items() for p in glob_problems(pattern)]


_CLASS = re.compile(r"\[!?\]?[^\]]*\]")


def glob_problems(pattern: Any) -> list[str]:
    """Why a glob is malformed: a ``[`` that no ``]`` closes (fnmatch would take it literally)."""
    if not isinstance(pattern, str):
        return []
    if "[" in _CLASS.sub("", pattern):
        return [f"expected a glob, got {pattern!r:.80} (a '[' without its ']')"]
    return []


def from_doc(routes: Sequence[Mapping[str, Any]], channels: Any) -> tuple[Route, ...]:
    """The validated list as Routes; ``channels(section, where)`` builds one route's channels."""
    built = []
    for i, doc in enumerate(routes):
        match = doc.get("match") or {}
        built.append(Route(doc["name"], Match(
            accounts=tuple(match.get("accounts", ())), ous=tuple(match.get("ou", ())),
            tags=dict(match.get("tags", {})), plugins=tuple(match.get("plugins", ())),
            min_severity=match.get("min_severity", "info")),
            channels=tuple(channels(doc["channels"], f"notify.routes[{i}].channels"))))
    return tuple(built)
