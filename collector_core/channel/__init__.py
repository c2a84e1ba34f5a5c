"""What a channel author builds: a Channel, and the context its ``send`` is handed.

A report channel takes the report the notifier built (collector_core.notify.report.Report: open
and resolved findings grouped by plugin, what is new, the accounts whose scans cannot be vouched
for) somewhere: a chat, a mailbox, a bucket, an endpoint. It is registered through the
``register_channels`` hook, as the built-in channels are, and configured under ``notify:`` by its
name. Its settings are values handed to each ``send``, never module state, so one kind of channel
can be configured more than once.

This module imports nothing heavy (no boto3): importing ``collector_core`` must stay cheap.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from collector_core.collector import Collector

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from collector_core.aws.clients import Clients
    from collector_core.findings import RunSummary

#: Keys of the ``notify:`` section that belong to the notifier itself: no channel may take them.
RESERVED_NAMES = ("on_run_complete", "routes", "default")
#: A channel's name: its key under ``notify:``.
NAME = re.compile(r"[a-z][a-z0-9_]*")

#: ``send(report, settings, ctx)``: deliver one report; return a link to what it published, if anything.
Send = Callable[[Any, Any, "ChannelContext"], "str | None"]
#: The JSON Schema of a channel's section, with an ``expected`` text on each node for error messages.
Schema = dict[str, Any]


def _as_is(section: Any) -> Any:
    return section


def _any_mapping() -> Schema:
    return {"type": "object", "expected": "a mapping"}


@dataclass(frozen=True)
class Channel:
    """A report channel: what ``register_channels`` hands back."""

    name: str
    summary: str
    send: Send
    #: The JSON Schema of its section under ``notify:``, validated with the rest of the config.
    schema: Schema = field(default_factory=_any_mapping)
    #: Builds what ``send`` receives from the validated section (default: the section as it is).
    settings: Callable[[Any], Any] = _as_is
    #: IAM actions ``send`` may call in the collector's own account (the notifier's role).
    permissions: Sequence[str] = ()
    #: It publishes a page the others link to: it is sent first, and ``send`` returns the page's URL.
    links: bool = False
    #: It is sent when the config turns on no channel at all (as stdout is).
    fallback: bool = False


class ChannelError(Exception):
    """A channel could not deliver; the message says why, and never holds a secret."""


class ChannelContext:
    """What ``send(report, settings, ctx)`` receives besides the report and its settings: where its
    settings sit in the config, the report page's link, clients for the collector's own account,
    and the clock and sleep it must use (tests replace them)."""

    __slots__ = ("where", "link", "collectors", "now", "clock", "sleep", "out", "_log", "_clients", "_history")

    def __init__(self, *, where: str, link: str | None = None, collectors: Mapping[str, Collector] | None = None,
                 now: dt.datetime | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, out: IO[str] | None = None,
                 log: FilteringBoundLogger | None = None,
                 clients: Clients | None = None,
                 history: Callable[[int], Sequence[RunSummary]] | None = None) -> None:
        self.where = where  # this channel's settings in the config, for messages: "notify.slack"
        self.link = link  # the report page a `links` channel published, if one did
        self.collectors = collectors or {}  # every installed collector by name (format, resource_type)
        self.now = now or dt.datetime.now(dt.UTC)  # when the report was built
        self.clock = clock  # wall-clock seconds since the epoch
        self.sleep = sleep
        self.out = out or sys.stdout  # where a channel that prints writes
        self._log = log
        self._clients = clients
        self._history = history

    @property
    def log(self) -> FilteringBoundLogger:
        """A structlog logger bound to this channel."""
        if self._log is None:
            from collector_core.logs import get_logger

            self._log = get_logger(channel=self.where)
        return self._log

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of the collector's own account (the notifier's credentials), in ``region``
        (default: the home region), with the runtime's retry and timeout settings."""
        from collector_core.aws.clients import home_region

        return self._own_clients().client(service, region or home_region())

    def partition(self, region: str | None = None) -> str:
        """The partition ("aws", "aws-cn", "aws-us-gov") of ``region`` (default: the home region)."""
        from collector_core.aws.clients import home_region

        return self._own_clients().partition(region or home_region())

    def history(self, runs: int = 30) -> list[RunSummary]:
        """The summaries of the latest ``runs`` runs, oldest first (empty where none is kept)."""
        return list(self._history(runs)) if self._history else []

    def _own_clients(self) -> Clients:
        if self._clients is None:
            from collector_core.aws.clients import Clients

            self._clients = Clients()
        return self._clients

    def __repr__(self) -> str:
        return f"ChannelContext(where={self.where})"


def channel_problem(channel: object) -> str | None:
    """Why a registered object cannot be a channel, or None if it can."""
    if not isinstance(channel, Channel):
        return f"registered {channel!r}, not a Channel"
    if not isinstance(channel.name, str) or not NAME.fullmatch(channel.name):
        return f"channel name {channel.name!r} must be lower-case letters, digits and _, starting with a letter"
    if channel.name in RESERVED_NAMES:
        return f"channel name {channel.name!r} is the notifier's own key under notify:"
    if not callable(channel.send) or not callable(channel.settings):
        return f"channel {channel.name!r}: send and settings must be callable"
    if isinstance(channel.permissions, str) or not all(isinstance(p, str) for p in channel.permissions):
        return f"channel {channel.name!r}: permissions must be a list of IAM actions"
    if not isinstance(channel.schema, dict):
        return f"channel {channel.name!r}: schema must be a JSON Schema (a dict)"
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(channel.schema)
    except jsonschema.SchemaError as exc:
        return f"channel {channel.name!r}: its schema is not a valid JSON Schema: {exc.message}"
    return None
