"""Testing kit for plugin authors: pytest fixtures, loaded through the ``pytest11`` entry point.

Installing aws-collector makes these fixtures available in any pytest run:

- ``aws_credentials``: fake credentials and ``AWS_DEFAULT_REGION=us-east-1`` for one test
  (``fake_aws_environment(monkeypatch)`` sets the same for a fixture of wider scope);
- ``mocked_aws``: moto's ``mock_aws()`` active for one test;
- ``collector_context``: a factory for the ``ctx`` a collector receives;
- ``register_plugin``: registers a plugin for one test, returns the resulting Registry;
- ``channel_context``: a factory for the ``ctx`` a report channel's ``send`` receives.

``run_collector(collector, ctx)`` runs a collector and returns its findings as the runtime stores
them, failing on any the runtime would drop. ``api_calls(client)`` records the API calls a client
makes, so a test can count them (one DescribeVolumes per page, say). ``make_report(open=[...], resolved=[...])`` builds
the report a channel is sent, from findings in the finding schema. ``FakeClock`` is a clock that
moves only when something sleeps, so a channel's pacing and retries are tested without waiting.

Nothing heavy is imported here: pytest loads this module in every run, so moto, boto3 and
structlog are imported inside the fixtures that need them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from collector_core.channel import Channel, ChannelContext
from collector_core.collector import Account, Collector, CollectorContext, Finding, Scope
from collector_core.plugins import PluginError, PluginSpec, Registry, find_plugins, load_plugins

TEST_ACCOUNT_ID = "123456789012"  # moto's default account
TEST_REGION = "us-east-1"
#: Variables that could point a test at a real account or endpoint; removed for every test.
_REAL_AWS_ENV = ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE")

if TYPE_CHECKING:
    from collector_core.aws.clients import Clients
    from collector_core.notify.report import Report

ContextFactory = Callable[..., CollectorContext]
ChannelContextFactory = Callable[..., ChannelContext]
RegisterPlugin = Callable[..., Registry]


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials and region in the environment, so no test can reach a real account."""
    fake_aws_environment(monkeypatch)


def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``aws_credentials`` sets, for a fixture of wider scope than a test (one that seeds moto
    once per module, say): ``with pytest.MonkeyPatch.context() as mp: fake_aws_environment(mp)``."""
    for name in _REAL_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)


@pytest.fixture
def mocked_aws(aws_credentials: None) -> Iterator[None]:
    """Moto's in-process AWS for the duration of one test."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def _test_plugins() -> list[tuple[PluginSpec, object]]:
    """Plugins registered by ``register_plugin`` in the current test."""
    return []


@pytest.fixture
def register_plugin(_test_plugins: list[tuple[PluginSpec, object]]) -> Iterator[RegisterPlugin]:
    """Register a plugin module or object for one test; returns the Registry with it included."""

    def register(plugin: object, name: str | None = None) -> Registry:
        module = getattr(plugin, "__name__", type(plugin).__name__)
        name = name or module.rpartition(".")[2]
        spec = PluginSpec(name=name, distribution="test", version="0", value=module)
        _test_plugins.append((spec, plugin))
        registry = _registry(_test_plugins)
        failed = [f for f in registry.failures if f.plugin == spec]
        if failed:  # the plugin under test must register cleanly; an installed one may not
            raise PluginError(f"plugin {spec.name!r} failed to {failed[0].stage}: {failed[0].error}")
        return registry

    try:
        yield register
    finally:
        _test_plugins.clear()


@pytest.fixture
def collector_context(
    aws_credentials: None, _test_plugins: list[tuple[PluginSpec, object]]
) -> ContextFactory:
    """A factory for the ``ctx`` a collector receives, with boto3 clients for one region."""
    clients = _test_clients()

    def make(
        collector: Collector | str,
        region: str = TEST_REGION,
        account_id: str = TEST_ACCOUNT_ID,
        account_name: str = "test",
        options: Mapping[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> CollectorContext:
        from collector_core.logs import get_logger

        if isinstance(collector, str):
            collector = _registry(_test_plugins)[collector]
        unknown = sorted(set(options or {}) - set(collector.options))
        if unknown:  # the runtime rejects these in config, so a test should not pass them either
            raise ValueError(f"collector {collector.name!r} has no option(s) {unknown}")
        # A global collector runs once per account; its clients point at the partition's home region.
        if collector.scope is Scope.GLOBAL:
            region, client_region = "global", (TEST_REGION if region == "global" else region)
        else:
            client_region = region
        return CollectorContext(
            account=Account(account_id, account_name),
            region=region,
            options={**collector.options, **(options or {})},
            log=get_logger(account=account_id, region=region, plugin=collector.name),
            now=now or dt.datetime.now(dt.UTC),
            clients=clients.client,
            client_region=client_region,
        )

    return make


def run_collector(collector: Collector, ctx: CollectorContext, **seams: Any) -> list[Finding]:
    """Run ``collector.collect(ctx)`` to the end: its findings as the runtime would store them.
    Keywords go to ``collect`` as they are: seams the runtime leaves at their defaults (``sleep=``)."""
    from collector_core.findings import BadFinding, normalise

    findings = []
    for item in collector.collect(ctx, **seams) or ():
        try:
            findings.append(normalise(item))
        except BadFinding as exc:  # the runtime would drop it; a test should fail instead
            raise AssertionError(f"collector {collector.name!r} yielded a bad finding: {exc}") from None
    return findings


def api_calls(client: Any) -> list[str]:
    """The operation names of every API call ``client`` makes from now on, in order (a list that
    grows). Calls a ``Stubber`` or another ``before-call`` handler answers count too; retries do not."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    # First of the handlers, so it runs before any that answers the call in moto's or AWS's place.
    client.meta.events.register_first("before-call.*.*", record)
    return calls


class FakeClock:
    """Wall-clock seconds that move only when something sleeps; every sleep is kept in ``sleeps``."""

    def __init__(self, now: float = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC).timestamp()) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """The time: pass as ``clock``."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move on by it: pass as ``sleep``."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def channel_context(aws_credentials: None, _test_plugins: list[tuple[PluginSpec, object]]) -> ChannelContextFactory:
    """A factory for the ``ctx`` a channel's ``send`` receives: clients of the test account (use with
    ``mocked_aws``), the installed and registered collectors, and a FakeClock (``clock=``) for time."""
    clients = _test_clients()

    def make(channel: Channel | str, *, link: str | None = None, now: dt.datetime | None = None,
             clock: FakeClock | None = None) -> ChannelContext:
        name = channel.name if isinstance(channel, Channel) else channel
        registry = _registry(_test_plugins)
        clock = clock or FakeClock()
        return ChannelContext(where=f"notify.{name}", link=link, now=now,
                              collectors={n: registry[n] for n in registry.names()},
                              clock=clock.clock, sleep=clock.sleep, clients=clients)

    return make


def make_report(open: Iterable[Mapping[str, Any]] = (), resolved: Iterable[Mapping[str, Any]] = (), *,
                run_id: str = "run-1", run_seq: int = 1, now: dt.datetime | None = None) -> Report:
    """The report a channel is sent, holding these findings (dicts in the finding schema; ``new``
    marks one first seen in this run), grouped by plugin as the notifier groups them."""
    from collector_core.notify.report import Entry, PluginSection, Report

    now = now or dt.datetime.now(dt.UTC)
    sections: dict[str, PluginSection] = {}
    for kind, findings in (("open", open), ("resolved", resolved)):
        for f in findings:
            entry = Entry(plugin=f["plugin"], account_id=f["account_id"], account_name=f.get("account_name", ""),
                          region=f["region"], resource_id=f["resource_id"], severity=f.get("severity", "medium"),
                          line=f["summary"], first_seen=f.get("first_seen"), last_seen=f.get("last_seen"),
                          is_new=bool(f.get("new")), summary=f["summary"], details=f.get("details") or {})
            section = sections.setdefault(entry.plugin, PluginSection(entry.plugin))
            if kind == "open":
                section.add_open(entry)
            else:
                section.resolved.append(entry)
    accounts = {e.account_id for s in sections.values() for lst in (s.open, s.resolved) for e in lst}
    return Report(generated=now, run_id=run_id, run_seq=run_seq, accounts=len(accounts),
                  sections=[sections[p] for p in sorted(sections)])


#: botocore's data loader, shared by every test's clients (see _test_clients).
_loaders: list[Any] = []


def _test_clients() -> Clients:
    """Clients of one test's own, reading AWS's service models once per process: they are data
    that never changes, and parsing them again in every test is slow (docs/performance.md)."""
    from collector_core.aws.clients import Clients

    clients = Clients()
    session = clients._botocore  # the kit is part of the package: its own session, never a user's
    if _loaders:
        session.register_component("data_loader", _loaders[0])
    else:
        _loaders.append(session.get_component("data_loader"))
    return clients


def _registry(extra: list[tuple[PluginSpec, object]]) -> Registry:
    """Installed plugins plus the test's own; an installed copy of a test's plugin is left out."""
    own = {spec.value for spec, _ in extra}
    installed = [s for s in find_plugins() if s.value.partition(":")[0] not in own]
    return load_plugins(installed, extra=list(extra))
