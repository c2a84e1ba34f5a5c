"""`aws-collector notify`: the report of the current findings, to the configured channels or the
ones named on the command line (Security Hub: open findings imported, resolved ones archived)."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, command, load
from collector_core.errors import describe

EXAMPLES = """\
examples:
  aws-collector notify --config config.yaml              # to the channels the config names
  aws-collector notify --config config.yaml --stdout
  aws-collector notify --config config.yaml --slack-webhook https://hooks.slack.com/services/T0/B0/XXXX
  aws-collector notify --config config.yaml --email security@example.com
  aws-collector notify --config config.yaml --securityhub   # notify.securityhub.region, else the home region
  aws-collector notify --config config.yaml --stdout --route payments   # what that route would receive
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "notify", run, "send the report of the current findings to Slack, email, Security Hub or "
                "the terminal", EXAMPLES)
    p.add_argument("--config", required=True)
    p.add_argument("--slack-webhook", metavar="URL", help="post to this Slack incoming webhook")
    p.add_argument("--email", metavar="ADDR", action="append",
                   help="email this address through SES (repeatable; sender from notify.email.sender)")
    p.add_argument("--stdout", action="store_true", help="print the report")
    p.add_argument("--securityhub", action="store_true",
                   help="import the open findings into Security Hub and archive the resolved ones (region: "
                        "notify.securityhub.region, else the home region)")
    p.add_argument("--route", metavar="NAME",
                   help="only that route's report (notify.routes), to its own channels or to the ones the flags name")
    deadline.add_option(p)


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.notify.channels import notify
    from collector_core.store import Store

    registry, config = load(args.config)
    settings = _from_flags(args, registry, config) if _flagged(args) else config.notify
    if args.route:
        settings = _one_route(args, settings, config)
    clients = Clients()
    try:
        result = notify(settings, mutes=config.mute, registry=registry, store=Store.open(config.table, clients),
                        clients=clients)
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    for channel, error in result.failures:
        print(f"aws-collector: the report did not reach {channel}: {error}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILURES


def _one_route(args: argparse.Namespace, settings: Any, config: Any) -> Any:
    """Only the named route, through its own channels, or through those the flags name."""
    import dataclasses

    from collector_core.notify.channels import NotifySettings

    route = config.notify.route(args.route)
    if route is None:
        names = ", ".join(r.name for r in config.notify.routes) or "none configured"
        raise UsageError(f"--route: {args.config} has no route {args.route!r} under notify.routes; expected one of: "
                         f"{names}")
    if _flagged(args):
        route = dataclasses.replace(route, channels=settings.channels)
    return NotifySettings((), on_run_complete=settings.on_run_complete, routes=(route,))


def _flagged(args: argparse.Namespace) -> bool:
    return bool(args.slack_webhook or args.email or args.stdout or args.securityhub)


def _from_flags(args: argparse.Namespace, registry: Any, config: Any) -> Any:
    """The channels the flags name, which replace the config's; each flag's channel must be installed."""
    from collector_core.notify.channels import ChannelSettings, NotifySettings

    def channel(name: str, flag: str) -> Any:
        if name not in registry.channels:
            raise UsageError(f"{flag}: the {name} channel is not installed (aws-collector plugins lists the channels)")
        return registry.channels[name].channel

    chosen = []
    if args.stdout:
        chosen.append(ChannelSettings.of(channel("stdout", "--stdout"), True))
    if args.slack_webhook:
        if not args.slack_webhook.startswith(("https://", "http://")):
            raise UsageError("--slack-webhook: expected an https:// webhook URL")
        chosen.append(ChannelSettings.of(channel("slack", "--slack-webhook"), {"webhook_url": args.slack_webhook}))
    if args.email:
        configured = config.notify.get("email")
        if configured is None:
            raise UsageError(f"{args.config}: --email needs notify.email.sender, the SES-verified "
                             "address to send from")
        chosen.append(ChannelSettings.of(configured.channel, {**configured.section, "recipients": args.email}))
    if args.securityhub:  # the configured region, if any
        configured = config.notify.get("securityhub")
        chosen.append(configured or ChannelSettings.of(channel("securityhub", "--securityhub"), {}))
    return NotifySettings(tuple(chosen), on_run_complete=config.notify.on_run_complete)
