"""The fault tests' shared pieces: fake secrets, the leak record, and a run-and-verify harness."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import boto3
from proxy import FaultProxy

from collector_core.aws.clients import Clients
from collector_core.collector import Account
from collector_core.config.load import parse_config
from collector_core.demo.simulate import Expected, SimulatedOrg
from collector_core.findings import AccountState, current_findings
from collector_core.plugins import Registry, load_plugins
from collector_core.runtime import director
from collector_core.runtime.director import RunResult
from collector_core.runtime.invokers import LocalInvoker
from collector_core.store import Store

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
SECRET_ACCESS_KEY = "fakeSecretKEY/do-not-log/8f3b1c2d7e"
SESSION_TOKEN = "FakeSessionTOKEN//do-not-log//a1b2c3d4e5f6"
EXTERNAL_ID = "ext-id-do-not-log-5e6f7a8b"
WEBHOOK_URL = "https://hooks.slack.com/services/T00FAKE/B00FAKE/doNotLogThisWebhook42"


@dataclass
class Leaks:
    """Secrets a test must never print, and the text it printed."""

    secrets: set[str] = field(default_factory=lambda: {SECRET_ACCESS_KEY, SESSION_TOKEN, EXTERNAL_ID,
                                                       WEBHOOK_URL})
    texts: list[str] = field(default_factory=list)
    proxies: list[FaultProxy] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Include more output (e.g. a subprocess's) in the check."""
        self.texts.append(text)

    def found(self, extra: str) -> list[str]:
        """The secrets that appear anywhere in the collected output."""
        secrets = set(self.secrets)
        for proxy in self.proxies:
            secrets |= proxy.secrets
        text = "\n".join([*self.texts, extra])
        return sorted(s for s in secrets if s in text)


@dataclass
class Faults:
    """A test's view: the proxy in front of moto, the seeded org, and how to run and verify."""

    proxy: FaultProxy
    org: SimulatedOrg
    table: str
    registry: Registry = field(default_factory=load_plugins)

    def clients(self, *, max_attempts: int = 8, timeout: float = 5) -> Clients:
        """Runtime clients with short timeouts, so a silent endpoint costs seconds, not minutes."""
        return Clients(max_attempts=max_attempts, connect_timeout=timeout, read_timeout=timeout)

    def config(self, **overrides: Any) -> Any:
        """A config for the seeded accounts and regions, with this test's table."""
        doc: dict[str, Any] = {
            "table": self.table,
            "regions": list(REGIONS),
            "external_id": EXTERNAL_ID,
            "accounts": [{"id": a.id, "name": a.name} for a in self.org.accounts],
            "notify": {"slack": {"webhook_url": WEBHOOK_URL}},
            **overrides,
        }
        return parse_config(doc, "faults.yaml", self.registry)

    def run(self, config: Any = None, *, clients: Clients | None = None, timeout: float | None = 60,
            registry: Registry | None = None) -> RunResult:
        """Director and in-process workers, every AWS call through the proxy."""
        config = config or self.config()
        registry = registry or self.registry
        clients = clients or self.clients()
        store = Store(config.table, clients.client("dynamodb", "us-east-1"))
        with self.proxy.rules_off():
            store.ensure_table()
        invoker = LocalInvoker(registry=registry, clients=clients, store=store, timeout=timeout)
        return director.run(config, registry, invoker, clients=clients, store=store)

    def store(self) -> Store:
        """The table, read from moto directly (no faults)."""
        return Store(self.table, direct_client("dynamodb", self.org.endpoint))

    def states(self) -> list[AccountState]:
        """Every account's state in the table."""
        store = self.store()
        return list(store.account_states([a for a, _ in store.accounts()]))

    def stored(self) -> list[tuple[str, str, str, str]]:
        """(plugin, account, region, resource) of every stored finding, duplicates kept."""
        return [(f["plugin"], f["account_id"], f["region"], f["resource_id"])
                for state in self.states() for f in (s.finding for s in state.findings)]

    def current(self) -> set[Expected]:
        """The current findings, as a user would list them."""
        now = dt.datetime.now(dt.UTC)
        return {(f["plugin"], f["account_id"], f["region"], f["resource_id"])
                for state in self.states() for f in current_findings(state, now)}

    def expected(self, *, accounts: list[Account] | None = None,
                 regions: tuple[str, ...] | None = None) -> set[Expected]:
        """Seeded findings, optionally only some accounts' and regions' ("global" counts as a region)."""
        ids = {a.id for a in accounts or self.org.accounts}
        return {e for e in self.org.expected
                if e[1] in ids and (regions is None or e[2] in regions)}


def direct_client(service: str, endpoint: str) -> Any:
    """A client straight to moto, bypassing the proxy."""
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")



#: Figures each scenario measured, printed at the end of the run for the report.
FIGURES: dict[str, dict[str, Any]] = {}
