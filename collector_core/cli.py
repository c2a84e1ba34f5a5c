"""The `aws-collector` command: thin wrappers over the functions Lambda handlers also call.

Exit codes: 0 all well; 1 finished with recorded failures; 2 bad usage or config, nothing ran.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from collector_core.errors import describe

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or config: print it and exit 2, having done nothing."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    from collector_core import logs

    logs.configure(level="debug" if args.verbose > 1 else "info" if args.verbose else "warning",
                   json_output=False if sys.stderr.isatty() else None)
    try:
        return int(args.command(args))
    except UsageError as exc:
        print(f"aws-collector: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aws-collector", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(command=func)
        return p

    p = command("run", cmd_run, "run a collection locally and store the findings")
    p.add_argument("--config", required=True, help="YAML file, s3://bucket/key or ssm:/name")
    p.add_argument("--concurrency", type=_positive, default=8, help="accounts at once (default 8)")
    p.add_argument("--timeout", type=_positive, default=900,
                   help="seconds one account may take before it is cut off (default 900)")

    p = command("findings", cmd_findings, "print the current findings from the table")
    p.add_argument("--config", required=True)
    p.add_argument("--plugin", help="only this collector")
    p.add_argument("--account", help="only this account id")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")

    p = command("notify", cmd_notify, "send the current findings report (Slack, email, stdout)")
    p.add_argument("--config", required=True)
    p.add_argument("--slack-webhook", metavar="URL", help="post to this Slack incoming webhook")
    p.add_argument("--email", metavar="ADDR", action="append",
                   help="email this address through SES (repeatable; sender from notify.email.sender)")
    p.add_argument("--stdout", action="store_true", help="print the report")

    p = command("plugins", cmd_plugins, "list discovered plugins and collectors")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("iam-policy", cmd_iam_policy, "print the member role's least-privilege policy")
    p.add_argument("--config", required=True)
    p.add_argument("--format", choices=("json", "cloudformation"), default="json",
                   help="the policy document (default), or the member role's StackSet template")

    p = command("demo", cmd_demo, "run the whole pipeline against a simulated organization")
    p.add_argument("--accounts", type=_positive, default=3, help="simulated accounts (default 3)")
    p.add_argument("--regions", type=_positive, default=3, help="simulated regions (default 3)")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return value


# -- shared steps --------------------------------------------------------------------------
def load_registry() -> Any:
    """Discover plugins; a strict-mode failure or duplicate names is a usage error."""
    from collector_core.plugins import PluginError, load_plugins

    try:
        return load_plugins()
    except PluginError as exc:
        raise UsageError(str(exc)) from None


def load(path: str) -> tuple[Any, Any]:
    """(registry, config), or UsageError naming the file and key."""
    from collector_core.config.errors import ConfigError
    from collector_core.config.load import load_config

    registry = load_registry()
    try:
        return registry, load_config(path, registry)
    except ConfigError as exc:
        raise UsageError(f"invalid configuration\n{exc}") from None


# -- commands ------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from collector_core.runtime import director
    from collector_core.runtime.clients import Clients
    from collector_core.runtime.invokers import LocalInvoker
    from collector_core.runtime.summary import render_summary
    from collector_core.store import Store

    registry, config = load(args.config)
    clients = Clients(max_pool_connections=max(10, args.concurrency * 2))
    store = Store.open(config.table, clients)
    started = time.monotonic()
    try:
        store.ensure_table()
    except Exception as exc:
        print(f"aws-collector: cannot reach the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    progress = _Progress()
    completed: list[str] = []  # the run id, once the last worker has counted itself done
    invoker = LocalInvoker(registry=registry, clients=clients, store=store,
                           concurrency=args.concurrency, timeout=args.timeout, on_result=progress,
                           on_run_complete=completed.append if config.notify.on_run_complete else None)
    try:
        result = director.run(config, registry, invoker, clients=clients, store=store)
    except Exception as exc:  # e.g. Organizations unreachable: nothing ran, say why
        print(f"aws-collector: the run could not start: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    print(render_summary(result, registry, time.monotonic() - started))
    from collector_core.metrics.sinks import emit

    emit(result.results or [], config.metrics, clients=clients)  # never fails the run
    notified = all([_notify_run(run_id, config, registry, store, clients) for run_id in completed])
    return EXIT_FAILURES if result.failed or not notified else EXIT_OK


def _notify_run(run_id: str, config: Any, registry: Any, store: Any, clients: Any) -> bool:
    """Send a finished run's report once; False if it could not be sent."""
    from collector_core.notify.channels import notify_run_complete

    try:
        result = notify_run_complete(run_id, config.notify, mutes=config.mute, registry=registry, store=store,
                                     clients=clients)
    except Exception as exc:
        print(f"aws-collector: the report could not be built: {describe(exc)}", file=sys.stderr)
        return False
    for channel, error in result.failures if result else []:
        print(f"aws-collector: the report did not reach {channel}: {error}", file=sys.stderr)
    return result is None or result.ok


class _Progress:
    """One line per finished account, on a terminal only."""

    def __init__(self) -> None:
        self.done = 0

    def __call__(self, result: Any) -> None:
        self.done += 1
        if sys.stderr.isatty():
            found = sum(result.findings_by_plugin().values())
            print(f"  [{self.done}] {result.account.id} {result.account.name}: {result.status}, "
                  f"{found} findings, {len(result.errors)} errors, {result.seconds:.1f} s",
                  file=sys.stderr)


def cmd_findings(args: argparse.Namespace) -> int:
    from collector_core.findings import current_findings
    from collector_core.runtime.clients import Clients
    from collector_core.store import Store

    _, config = load(args.config)
    store = Store.open(config.table, Clients())
    try:
        contents = store.read()
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    findings = [
        f for f in current_findings(contents, dt.datetime.now(dt.timezone.utc))
        if (not args.plugin or f["plugin"] == args.plugin)
        and (not args.account or f["account_id"] == args.account)
    ]
    sys.stdout.write(render_findings(findings, args.format))
    return EXIT_OK


def render_findings(findings: list[dict[str, Any]], fmt: str) -> str:
    """Findings as a table, a JSON array or CSV."""
    if fmt == "json":
        return json.dumps(findings, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        from collector_core.findings import SCHEMA_FIELDS

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=SCHEMA_FIELDS, lineterminator="\n")
        writer.writeheader()
        for f in findings:
            writer.writerow({**f, "details": json.dumps(f["details"], sort_keys=True)})
        return out.getvalue()
    columns = ("plugin", "account_id", "region", "resource_id", "severity", "summary")
    rows = [[str(f[c]) for c in columns] for f in findings]
    widths = [min(60, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip()]
    lines += ["  ".join(v[:w].ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.append(f"{len(findings)} findings")
    return "\n".join(lines) + "\n"


def cmd_notify(args: argparse.Namespace) -> int:
    import dataclasses

    from collector_core.notify.channels import NotifySettings, notify
    from collector_core.notify.slack import SlackSettings
    from collector_core.runtime.clients import Clients
    from collector_core.store import Store

    registry, config = load(args.config)
    settings = config.notify
    if args.slack_webhook or args.email or args.stdout:  # flags replace the config's channels
        if args.slack_webhook and not args.slack_webhook.startswith(("https://", "http://")):
            raise UsageError("--slack-webhook: expected an https:// webhook URL")
        email = None
        if args.email:
            if not config.notify.email:
                raise UsageError(f"{args.config}: --email needs notify.email.sender, the SES-verified "
                                 "address to send from")
            email = dataclasses.replace(config.notify.email, recipients=tuple(args.email))
        slack = SlackSettings(webhook_url=args.slack_webhook) if args.slack_webhook else None
        settings = NotifySettings(stdout=args.stdout, slack=slack, email=email)
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


def cmd_plugins(args: argparse.Namespace) -> int:
    registry = load_registry()
    listing = registry.describe()
    if args.json:
        print(json.dumps(listing, indent=2, sort_keys=True))
        return EXIT_OK
    for plugin in listing["plugins"]:
        print(f"{plugin['name']} ({plugin['distribution']} {plugin['version']})")
        for c in plugin["collectors"]:
            print(f"  {c['name']:<24} {c['scope']:<8} {c['summary']}")
            print(f"  {'':<24} permissions: {', '.join(c['permissions']) or 'none'}")
    for failed in listing["failed"]:
        print(f"FAILED {failed['name']} ({failed['distribution']} {failed['version']}): "
              f"could not {failed['stage']}: {failed['error']}")
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from collector_core.iam_policy import collector_actions, enabled_collectors, member_policy, member_role_template

    registry, config = load(args.config)
    if args.format == "cloudformation":
        actions = collector_actions(registry, enabled_collectors(config, registry))
        sys.stdout.write(member_role_template(actions, role_name=config.role_name))
    else:
        print(json.dumps(member_policy(config, registry), indent=2))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from collector_core.demo.run import run_demo

    return run_demo(accounts=args.accounts, regions=args.regions)


if __name__ == "__main__":
    sys.exit(main())
