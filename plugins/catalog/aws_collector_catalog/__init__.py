"""aws-collector-catalog: the checks people actually run, for aws-collector.

Cost waste and security hygiene across every account and region. The checks one API call and a
filter can say are declarative YAML (checks.yaml, through aws-collector's checks engine); the
rest are collectors written against the public plugin API only, one module each.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aws_collector_catalog import (
    cloudtrail_not_logging,
    deprecated_lambda_runtimes,
    guardduty_disabled,
    iam_users_without_mfa,
    idle_load_balancers,
    old_snapshots,
    public_s3_buckets,
    root_access_keys,
    stopped_instances,
)
from collector_core import Collector, hookimpl

__version__ = "0.1.0"
#: The aws-collector plugin API this catalog is built for.
PLUGIN_API = ">=1.2,<2"

#: The declarative checks: one API call and a filter each, run by aws-collector's checks engine.
CHECKS = Path(__file__).with_name("checks.yaml")
#: The checks written in Python, each a module's COLLECTOR.
COLLECTORS: tuple[Collector, ...] = (
    old_snapshots.COLLECTOR,
    stopped_instances.COLLECTOR,
    idle_load_balancers.COLLECTOR,
    root_access_keys.COLLECTOR,
    iam_users_without_mfa.COLLECTOR,
    public_s3_buckets.COLLECTOR,
    cloudtrail_not_logging.COLLECTOR,
    guardduty_disabled.COLLECTOR,
    deprecated_lambda_runtimes.COLLECTOR,
)


@hookimpl
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the catalog's Python checks."""
    for collector in COLLECTORS:
        register(collector)


@hookimpl
def register_checks(register: Callable[[Path], None]) -> None:
    """Hand aws-collector the catalog's declarative checks; it validates each when the plugin loads."""
    register(CHECKS)
