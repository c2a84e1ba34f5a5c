"""The hooks a plugin implements. Each docstring here is the plugin author's reference.

The plugin API has a version of its own, MAJOR.MINOR, apart from aws-collector's release version:
a minor version only adds (a hook, a ``Collector`` field, a ``ctx`` attribute), so a plugin built
for 1.0 works with every 1.x; a major version changes or removes something a plugin may use. A
plugin declares the range it is built for in its module, ``PLUGIN_API = ">=1.0,<2"``; one whose
range leaves out this version is reported as failed to load and never runs.

What each plugin API version added:

- 1.0 (aws-collector 0.2.0): the ``register_collectors`` hook; ``Collector`` (name, scope, summary,
  collect, permissions, options, format), ``Scope``, ``Finding`` and ``CollectorContext`` (client,
  clients, client_region, account, region, options, log, now); ``PLUGIN_API``, the range a plugin
  declares.
- 1.1 (aws-collector 0.3.0): ``Collector.resource_type``, the kind of resource a collector's findings
  are about (an AWS Security Finding Format name such as ``AwsEc2Volume``), carried into the OCSF
  and Security Hub outputs.
- 1.2 (aws-collector 0.4.0): the ``register_channels`` hook; ``Channel`` (name, summary, send, schema,
  settings, permissions, links, fallback) and ``ChannelContext`` (where, link, collectors, now, clock,
  sleep, log, client, partition, history): report channels come in through the same door as collectors.
  ``Account.ou`` (``ctx.account.ou``), the account's organizational unit path
  (``Root/Workloads/Payments``) when the accounts come from AWS Organizations, else None.
  The ``register_checks`` hook: a plugin ships declarative checks as YAML files (a package may be
  checks only, with no collector code).
  ``Finding.tags``, the resource's tags (a bounded map; ``collector_core.findings.tags_from`` reads
  them from an AWS item's ``Tags``/``TagList``/``TagSet``/``tags``), which routes and mutes match.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pluggy

from collector_core.channel import Channel
from collector_core.collector import Collector

PROJECT = "aws_collector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The plugin API this aws-collector provides (the history is above).
PLUGIN_API_VERSION = "1.2"


@hookspec
def register_collectors(register: Callable[[Collector], None]) -> None:
    """Register the collectors this plugin provides.

    Call ``register(Collector(...))`` once per collector. The runtime keeps them by name
    (a name must be unique across all installed plugins), decides per account from config
    whether each runs, and calls ``collector.collect(ctx)`` itself, once per region for
    ``Scope.REGIONAL`` and once per account for ``Scope.GLOBAL``.

    :param register: callback that adds one :class:`collector_core.Collector`.
    :return: nothing; anything returned is ignored.

    .. versionadded:: 1.0 (plugin API)
    """


@hookspec
def register_channels(register: Callable[[Channel], None]) -> None:
    """Register the report channels this plugin provides.

    Call ``register(Channel(...))`` once per channel. The runtime keeps them by name (unique
    across all installed plugins), validates each one's section under ``notify:`` against its
    ``schema`` with the rest of the config, and calls ``channel.send(report, settings, ctx)``
    itself, once per report, for every channel the config turns on. The built-in channels
    (stdout, slack, email, securityhub, html, webhook, teams, s3) register through this hook too.

    :param register: callback that adds one :class:`collector_core.Channel`.
    :return: nothing; anything returned is ignored.

    .. versionadded:: 1.2 (plugin API)
    """


@hookspec
def register_checks(register: Callable[[Path], None]) -> None:
    """Register files of declarative checks this plugin ships.

    Call ``register(path)`` once per file, with the :class:`pathlib.Path` of a YAML file whose top
    level is a ``checks:`` map in the config's format (docs/checks.md), typically a file next to the
    plugin's module: ``register(Path(__file__).with_name("checks.yaml"))``. Each check becomes a
    collector named after it, registered for this plugin as if ``register_collectors`` had made it.
    Every check is validated when the plugin loads (service, operation and parameters against
    botocore's model, JMESPath, message, severity, scope, and a read-only IAM action); a file with
    any problem fails this plugin's load, by name, and nothing of it runs.

    :param register: callback that adds one file of checks.
    :return: nothing; anything returned is ignored.

    .. versionadded:: 1.2 (plugin API)
    """
