"""A validated configuration, and what it says per account."""
from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collector_core.checks.collect import as_collector
from collector_core.checks.model import Check
from collector_core.collector import Account
from collector_core.metrics.sinks import MetricsSettings
from collector_core.notify.channels import NotifySettings
from collector_core.notify.history import DEFAULT_HISTORY_DAYS
from collector_core.notify.mutes import Mute
from collector_core.plugins import ALLOW_ACTIONS, PluginSpec, Registry
from collector_core.runtime.events import DEFAULT_SCAN_THREADS
from collector_core.runtime.organization import OrganizationSettings


@dataclass(frozen=True)
class AccountConfig:
    """An account listed in the config, with its overrides."""

    id: str
    name: str
    regions: str | list[str] | None = None
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """A validated configuration."""

    source: str
    table: str = "aws-collector-findings"
    ttl_days: int = 7
    history_days: int = DEFAULT_HISTORY_DAYS  # how long each run's summary outlives its findings
    scan_threads: int = DEFAULT_SCAN_THREADS  # scans one worker runs at once
    role_name: str = "aws-collector-readonly"
    external_id: str | None = None
    regions: str | list[str] = "all"
    organization: OrganizationSettings = field(default_factory=OrganizationSettings)
    accounts: tuple[AccountConfig, ...] = ()
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    mute: tuple[Mute, ...] = ()
    notify: NotifySettings = field(default_factory=NotifySettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    checks: tuple[Check, ...] = ()  # the config's own declarative checks (its collectors are in the registry)

    def registry(self, installed: Registry) -> Registry:
        """The installed plugins' registry plus this config's checks: what every command runs with."""
        if not self.checks:
            return installed
        # One per installed registry: a warm Lambda's director and notifier plan with the same one.
        key = id(installed)
        if key not in self._registries:
            self._registries[key] = (installed, with_checks(installed, self.checks, self.source))
        return self._registries[key][1]

    @functools.cached_property
    def _registries(self) -> dict[int, tuple[Registry, Registry]]:
        return {}  # keeps the installed registry alive with its key, so an id is never reused

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
        """Enabled collectors for an account with options merged: defaults < plugins < account.

        Accounts without a plugins section of their own share one merge (a thousand accounts, one
        deep copy of the options); each gets its own outer dicts, and workers copy options per scan."""
        entry = self.account(account_id)
        if entry is None or not entry.plugins:
            key = id(registry)
            if key not in self._default_plans:
                self._default_plans[key] = self._merge(None, registry)
            return {name: dict(options) for name, options in self._default_plans[key].items()}
        return self._merge(entry, registry)

    @functools.cached_property
    def _default_plans(self) -> dict[int, dict[str, dict[str, Any]]]:
        return {}

    def _merge(self, entry: AccountConfig | None, registry: Registry) -> dict[str, dict[str, Any]]:
        plan: dict[str, dict[str, Any]] = {}
        for name in registry.names():
            # A deep copy: a collector's default list must not be shared with anything that may change it.
            settings = {"enabled": True, **copy.deepcopy(dict(registry[name].options))}
            settings.update(copy.deepcopy(dict(self.plugins.get(name, {}))))
            if entry:
                settings.update(copy.deepcopy(dict(entry.plugins.get(name, {}))))
            settings.pop(ALLOW_ACTIONS, None)  # the member role's business, not the collector's
            if settings.pop("enabled"):
                plan[name] = settings
        return plan

    def allowed_actions(self, collector: str) -> frozenset[str]:
        """Actions (lower case) the config lets the member role hold for this collector, though not
        read-only: one role serves every account, so only the top-level plugins section says."""
        return frozenset(a.lower() for a in self.plugins.get(collector, {}).get(ALLOW_ACTIONS, []))

    def configured_accounts(self) -> list[Account]:
        """Accounts listed in the config, in order."""
        return [Account(a.id, a.name) for a in self.accounts]


def config_checks_plugin(source: str) -> PluginSpec:
    """The plugin a config's checks are listed under (`plugins --config`, clashes, failures)."""
    return PluginSpec(name="checks", distribution="config", version=source, value=source)


def with_checks(registry: Registry, checks: Any, source: str) -> Registry:
    """The registry plus a config's checks, as collectors of the plugin ``checks`` of distribution ``config``."""
    return registry.with_collectors([as_collector(c) for c in checks], config_checks_plugin(source))
