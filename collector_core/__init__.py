"""aws-collector: run collector plugins across many AWS accounts and regions at once."""
from __future__ import annotations

from collector_core.channel import Channel, ChannelContext, ChannelError
from collector_core.collector import (
    SEVERITIES,
    Account,
    Collector,
    CollectorContext,
    Finding,
    Scope,
)
from collector_core.findings import tags_from
from collector_core.hookspecs import PLUGIN_API_VERSION, hookimpl

#: This release; setup.cfg reads it from here, so it is written in one place.
__version__ = "0.4.0"

__all__ = [
    "PLUGIN_API_VERSION",
    "SEVERITIES",
    "Account",
    "Channel",
    "ChannelContext",
    "ChannelError",
    "Collector",
    "CollectorContext",
    "Finding",
    "Scope",
    "__version__",
    "hookimpl",
    "tags_from",
]
