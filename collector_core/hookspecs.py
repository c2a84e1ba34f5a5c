"""The hooks a plugin implements. Each docstring here is the plugin author's reference."""
from __future__ import annotations

from collections.abc import Callable

import pluggy

from collector_core.collector import Collector

PROJECT = "aws_collector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the collectors this plugin provides.

    Call ``register(Collector(...))`` once per collector. The runtime keeps them by name
    (a name must be unique across all installed plugins), decides per account from config
    whether each runs, and calls ``collector.collect(ctx)`` itself, once per region for
    ``Scope.REGIONAL`` and once per account for ``Scope.GLOBAL``.

    :param register: callback that adds one :class:`collector_core.Collector`.
    :return: nothing; anything returned is ignored.

    .. versionadded:: 0.1
    """
