"""Problems an installed plugin seeds in the demo's simulated organization, besides the built-ins'.

A distribution names a seeder in the ``aws_collector.demo`` entry-point group, under the same name
as its plugin: ``seed(session, endpoint, account_id, regions, index)`` makes its problems in one
member account (``session`` is a boto3 Session with that account's credentials; ``index`` the
account's position, so accounts differ) and returns what a correct run must find there, as
(collector, region, resource_id). A seeder runs only when its plugin is loaded, so the
allow-list and block-list of plugins apply to the demo's expectations too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from typing import Any

from collector_core.plugins import find_plugins

GROUP = "aws_collector.demo"
Seeder = Callable[[Any, str, str, Sequence[str], int], Iterable[tuple[str, str, str]]]


def installed_seeders() -> dict[str, Seeder]:
    """The seeders of the plugins this process loads, by plugin name."""
    loaded = {spec.name for spec in find_plugins()}
    found: dict[str, Seeder] = {}
    for entry in metadata.entry_points(group=GROUP):
        if entry.name in loaded and entry.name not in found:
            found[entry.name] = entry.load()
    return dict(sorted(found.items()))
