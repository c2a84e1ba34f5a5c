"""Shared fixtures for the built-in collectors' tests: moto, counted clients, a context."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
import structlog
from moto import mock_aws

from collector_core import Account, Collector, CollectorContext

ACCOUNT = Account("123456789012", "test")
#: A fixed "now" to the second, so ages measured by the collectors are exact.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and moto in-process; nothing can reach a real AWS account."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # halves the first EC2 call
    with mock_aws():
        yield


@dataclass
class Harness:
    """Clients that record every API call they make, and contexts that use them."""

    now: dt.datetime = NOW
    calls: list[str] = field(default_factory=list)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """One cached client per (service, region); each call's operation name is recorded."""
        key = (service, region)
        if key not in self.clients:
            client = boto3.client(service, region_name=region)
            # First of the most specific handlers, so it also sees calls a Stubber answers.
            client.meta.events.register_first("before-call.*.*", self._record)
            self.clients[key] = client
        return self.clients[key]

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def ctx(self, options: Mapping[str, Any] | None = None, *, region: str = "us-east-1",
            now: dt.datetime | None = None) -> CollectorContext:
        """A context for one account; region "global" sends clients to us-east-1."""
        return CollectorContext(
            account=ACCOUNT,
            region=region,
            options=dict(options or {}),
            log=structlog.get_logger(),
            now=now or self.now,
            clients=self.client,
            client_region="us-east-1" if region == "global" else "",
        )


@pytest.fixture
def harness(aws: None) -> Harness:
    """A fresh Harness inside moto."""
    return Harness()


@pytest.fixture
def registered() -> Callable[[ModuleType], Collector]:
    """Get the one Collector a plugin module registers, the way the runtime gets it."""

    def get(module: ModuleType) -> Collector:
        found: list[Collector] = []
        module.register_collectors(register=found.append)
        assert len(found) == 1
        return found[0]

    return get
