"""aws-collector: run collector plugins across many AWS accounts and regions at once."""
from __future__ import annotations

from collector_core.collector import (
    SEVERITIES,
    Account,
    Collector,
    CollectorContext,
    Finding,
    Scope,
)
from collector_core.hookspecs import hookimpl

__all__ = [
    "SEVERITIES",
    "Account",
    "Collector",
    "CollectorContext",
    "Finding",
    "Scope",
    "hookimpl",
]
