"""Plugin discovery: find entry points, load them, and collect their collectors and report
channels into a registry.

Finding, loading and registering are separate steps so each failure can be named: a plugin that
fails to import, is built for another plugin API, or fails to register is skipped and reported
(strict mode makes that fatal), and two collectors with one name stop start-up with both
distributions named.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from collector_core import __version__, hookspecs
from collector_core.channel import Channel, channel_problem
from collector_core.collector import Collector, Scope
from collector_core.hookspecs import PLUGIN_API_VERSION

ENTRY_POINT_GROUP = "aws_collector.plugins"
#: Comma-separated plugin (entry point) or distribution names: load only these.
ALLOW_ENV = "AWS_COLLECTOR_PLUGINS"
#: Comma-separated plugin or distribution names never to load.
BLOCK_ENV = "AWS_COLLECTOR_DISABLE_PLUGINS"
#: Any non-empty value other than "0": a plugin that fails to load stops start-up.
STRICT_ENV = "AWS_COLLECTOR_STRICT_PLUGINS"
#: The attribute of a plugin module declaring the plugin API range it is built for, e.g. ">=1.0,<2".
PLUGIN_API_ATTRIBUTE = "PLUGIN_API"
#: The config key, next to ``enabled``, that lets the member role hold actions that are not read-only.
ALLOW_ACTIONS = "allow_actions"
#: Keys of a collector's config section that belong to the runtime: no option may take their names.
RESERVED_KEYS = ("enabled", ALLOW_ACTIONS)


class PluginError(Exception):
    """A plugin problem that stops start-up (duplicate names, or any failure in strict mode)."""


@dataclass(frozen=True, order=True)
class PluginSpec:
    """An entry point found in the group, before anything is imported."""

    name: str
    distribution: str
    version: str
    value: str


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or could not register its collectors."""

    plugin: PluginSpec
    stage: str  # "load" (the import failed, or the plugin API does not fit) or "register"
    error: str


@dataclass(frozen=True)
class RegisteredCollector:
    """A collector and the plugin that registered it."""

    collector: Collector
    plugin: PluginSpec


@dataclass(frozen=True)
class RegisteredChannel:
    """A report channel and the plugin that registered it."""

    channel: Channel
    plugin: PluginSpec


@dataclass
class Registry:
    """Every collector and report channel available to this process, by name, plus what failed to load."""

    collectors: dict[str, RegisteredCollector] = field(default_factory=dict)
    channels: dict[str, RegisteredChannel] = field(default_factory=dict)
    plugins: list[PluginSpec] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)

    def __getitem__(self, name: str) -> Collector:
        return self.collectors[name].collector

    def __contains__(self, name: object) -> bool:
        return name in self.collectors

    def names(self) -> list[str]:
        return sorted(self.collectors)

    def add(self, collector: Collector, plugin: PluginSpec) -> None:
        if collector.name in self.collectors:
            raise _twice("collector", collector.name, self.collectors[collector.name].plugin, plugin)
        self.collectors[collector.name] = RegisteredCollector(collector, plugin)

    def with_collectors(self, collectors: Iterable[Collector], plugin: PluginSpec) -> Registry:
        """A copy of this registry with more collectors (a config's checks); PluginError on a clash."""
        extended = Registry(dict(self.collectors), dict(self.channels), list(self.plugins), list(self.failures))
        added = list(collectors)
        for collector in added:
            extended.add(collector, plugin)
        if added:
            extended.plugins = sorted({*extended.plugins, plugin})
        return extended

    def add_channel(self, channel: Channel, plugin: PluginSpec) -> None:
        if channel.name in self.channels:
            raise _twice("channel", channel.name, self.channels[channel.name].plugin, plugin)
        self.channels[channel.name] = RegisteredChannel(channel, plugin)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready listing: plugins with their collectors and channels, and failures."""
        by_plugin: dict[PluginSpec, list[dict[str, Any]]] = {p: [] for p in self.plugins}
        for name in self.names():
            reg = self.collectors[name]
            c = reg.collector
            by_plugin.setdefault(reg.plugin, []).append(
                {
                    "name": c.name,
                    "scope": c.scope.value,
                    "summary": c.summary,
                    "permissions": sorted(c.permissions),
                    "options": dict(c.options),
                }
            )
        return {
            "plugins": [
                {
                    "name": p.name,
                    "distribution": p.distribution,
                    "version": p.version,
                    "module": p.value,
                    "collectors": by_plugin[p],
                    "channels": [
                        {"name": r.channel.name, "summary": r.channel.summary,
                         "permissions": sorted(r.channel.permissions), "links": r.channel.links,
                         "fallback": r.channel.fallback}
                        for _, r in sorted(self.channels.items()) if r.plugin == p
                    ],
                }
                for p in sorted(by_plugin)
            ],
            "failed": [
                {
                    "name": f.plugin.name,
                    "distribution": f.plugin.distribution,
                    "version": f.plugin.version,
                    "stage": f.stage,
                    "error": f.error,
                }
                for f in self.failures
            ],
        }


def _twice(kind: str, name: str, first: PluginSpec, second: PluginSpec) -> PluginError:
    return PluginError(
        f"{kind} name {name!r} is registered twice: by plugin {first.name!r} "
        f"(distribution {first.distribution} {first.version}) and by plugin "
        f"{second.name!r} (distribution {second.distribution} {second.version})"
    )


def get_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager that knows the hook specifications and nothing else."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def find_plugins(env: Mapping[str, str] | None = None) -> list[PluginSpec]:
    """Entry points in the group, one per (distribution, name), filtered by allow/block lists."""
    environ: Mapping[str, str] = os.environ if env is None else env
    allow = _names(environ.get(ALLOW_ENV))
    block = _names(environ.get(BLOCK_ENV))
    found: dict[tuple[str, str], PluginSpec] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        spec = PluginSpec(
            name=ep.name,
            distribution=dist.metadata["Name"] if dist else "unknown",
            version=dist.version if dist else "unknown",
            value=ep.value,
        )
        if allow and not ({spec.name, spec.distribution} & allow):
            continue
        if {spec.name, spec.distribution} & block:
            continue
        # A distribution seen twice on sys.path yields the same entry point twice: keep one.
        found.setdefault((_normalise(spec.distribution), spec.name), spec)
    return sorted(found.values())


def load_plugins(
    specs: Iterable[PluginSpec] | None = None,
    *,
    strict: bool | None = None,
    extra: Iterable[tuple[PluginSpec, object]] = (),
) -> Registry:
    """Import each plugin, let it register its collectors and channels, and return the registry.

    ``extra`` adds already-imported plugin objects (the testing kit uses it).
    """
    if strict is None:
        strict = os.environ.get(STRICT_ENV, "") not in ("", "0")
    pm = get_plugin_manager()
    registry = Registry()
    imported: list[tuple[PluginSpec, object]] = []
    for spec in find_plugins() if specs is None else specs:
        try:
            module = metadata.EntryPoint(spec.name, spec.value, ENTRY_POINT_GROUP).load()
        except Exception as exc:  # a plugin's import error must not stop the others
            _fail(registry, PluginFailure(spec, "load", _describe(exc)), strict)
            continue
        imported.append((spec, module))
    loaded: list[tuple[PluginSpec, object]] = []
    for spec, module in [*imported, *extra]:
        # Before its hooks are registered: a plugin built for another plugin API never runs.
        mismatch = api_mismatch(module)
        if mismatch:
            _fail(registry, PluginFailure(spec, "load", mismatch), strict)
            continue
        loaded.append((spec, module))
    for spec, module in loaded:
        name = f"{spec.distribution}:{spec.name}"
        try:
            pm.register(module, name=name)
            pm.check_pending()  # a misspelled hook name fails loudly, and only this plugin
        except Exception as exc:
            if pm.is_registered(module):
                pm.unregister(module)
            _fail(registry, PluginFailure(spec, "register", _describe(exc)), strict)
            continue
        registry.plugins.append(spec)
    owners = {pm.get_name(module): spec for spec, module in loaded}
    # A plugin registers all it has or nothing: its collectors and channels are kept only if both hooks succeed.
    collectors, channels = _registered(pm, "register_collectors", owners), _registered(pm, "register_channels", owners)
    check_files = _registered(pm, "register_checks", owners)
    for spec in list(registry.plugins):
        try:
            for registered in (collectors, channels, check_files):
                if isinstance(registered.get(spec), Exception):
                    raise registered[spec]
            # A plugin's checks are collectors of that plugin; a file with any problem fails the plugin.
            collectors[spec] = [*collectors.get(spec, []), *checks_from_files(check_files.get(spec, []))]
            for collector in collectors.get(spec, []):
                _check_collector(collector, spec)
            for channel in channels.get(spec, []):
                problem = channel_problem(channel)
                if problem:
                    raise PluginError(f"plugin {spec.name!r}: {problem}")
        except Exception as exc:
            registry.plugins.remove(spec)
            _fail(registry, PluginFailure(spec, "register", _describe(exc)), strict)
            continue
        for collector in collectors.get(spec, []):
            registry.add(collector, spec)
        for channel in channels.get(spec, []):
            registry.add_channel(channel, spec)
    registry.plugins.sort()
    return registry


def _registered(pm: pluggy.PluginManager, hook: str, owners: Mapping[Any, PluginSpec]) -> dict[PluginSpec, Any]:
    """Per plugin, what it registered through ``hook`` (a list), or what it raised."""
    return {spec: error or added for spec, added, error in call_each(pm, hook, owners)}


def call_each(pm: pluggy.PluginManager, hook: str,
              owners: Mapping[str | None, PluginSpec]) -> Iterator[tuple[PluginSpec, list[Any], Exception | None]]:
    """Call a ``register_*(register)`` hook through pluggy once per plugin, so that one that raises
    cannot hide the others: (plugin, what it registered, what it raised). A wrapper implementation
    would wrap nothing and register nothing, silently: it is an error named for its plugin."""
    everyone = pm.get_plugins()
    for impl in getattr(pm.hook, hook).get_hookimpls():
        spec = owners[impl.plugin_name]
        added: list[Any] = []
        if impl.hookwrapper or impl.wrapper:
            yield spec, added, PluginError(
                f"{hook} is a wrapper implementation (@hookimpl(wrapper=True) or hookwrapper=True); "
                f"a plugin registers through a plain @hookimpl")
            continue
        # pluggy passes the arguments the implementation names (by argnames), as for any hook call.
        caller = pm.subset_hook_caller(hook, remove_plugins=[p for p in everyone if p is not impl.plugin])
        try:
            caller(register=added.append)
        except Exception as exc:  # a plugin's own failure, named by the caller
            yield spec, added, exc
            continue
        yield spec, added, None


def api_mismatch(plugin: object) -> str | None:
    """Why a plugin cannot run on this plugin API, or None if it can (or declares no range)."""
    declared = getattr(plugin, PLUGIN_API_ATTRIBUTE, None)
    if declared is None:  # plugins written before the plugin API had versions
        return None
    try:
        needed = SpecifierSet(declared) if isinstance(declared, str) else None
    except InvalidSpecifier:
        needed = None
    if needed is None:
        return f"{PLUGIN_API_ATTRIBUTE} = {declared!r} is not a version range such as '>=1.0,<2'"
    if needed.contains(PLUGIN_API_VERSION, prereleases=True):
        return None
    return (f"built for plugin API {declared} ({PLUGIN_API_ATTRIBUTE}), but aws-collector {__version__} "
            f"provides plugin API {PLUGIN_API_VERSION}")


def checks_from_files(paths: Iterable[Any]) -> list[Collector]:
    """The collectors of the checks in each registered file; CheckError naming file, check and key."""
    from pathlib import Path

    from collector_core.checks.collect import as_collector
    from collector_core.checks.files import load_check_file

    found = []
    for path in paths:
        if not isinstance(path, Path):
            raise PluginError(f"register_checks registered {path!r}, not a pathlib.Path of a file of checks")
        found += [as_collector(check) for check in load_check_file(path)]
    return found


def _check_collector(collector: object, plugin: PluginSpec) -> None:
    if not isinstance(collector, Collector):
        raise PluginError(f"plugin {plugin.name!r} registered {collector!r}, not a Collector")
    if not collector.name or not collector.name.replace("_", "").isalnum():
        raise PluginError(
            f"plugin {plugin.name!r}: collector name {collector.name!r} must be letters, digits, _"
        )
    if not isinstance(collector.scope, Scope):
        raise PluginError(f"plugin {plugin.name!r}: collector {collector.name!r} has no Scope")
    if not callable(collector.collect):
        raise PluginError(f"plugin {plugin.name!r}: collector {collector.name!r}.collect is not callable")
    if not isinstance(collector.resource_type, str):
        raise PluginError(f"plugin {plugin.name!r}: collector {collector.name!r}.resource_type must be a string")
    # "enabled" and "allow_actions" are the runtime's own keys in every collector's config section.
    for key in RESERVED_KEYS:
        if key in collector.options:
            raise PluginError(f"plugin {plugin.name!r}: collector {collector.name!r} may not have an option {key!r}")


def _fail(registry: Registry, failure: PluginFailure, strict: bool) -> None:
    if strict:
        raise PluginError(
            f"plugin {failure.plugin.name!r} (distribution {failure.plugin.distribution}) "
            f"failed to {failure.stage}: {failure.error}"
        )
    registry.failures.append(failure)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _names(value: str | None) -> set[str]:
    return {n.strip() for n in (value or "").split(",") if n.strip()}


def _normalise(distribution: str) -> str:
    return distribution.lower().replace("_", "-").replace(".", "-")
