"""`aws-collector checks`: validate a file of declarative checks offline, or try one check once
against an account and region, printing what it would report and writing nothing."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, account_id, command, load

EXAMPLES = """\
examples:
  aws-collector checks validate my-checks.yaml
  aws-collector checks try unassociated_eips --config config.yaml --account 111111111111 --region eu-west-1
"""


def add(sub: Any) -> None:
    """The command's parsers."""
    p = command(sub, "checks", lambda args: args.p.error("expected validate or try"),
                "declarative checks (docs/checks.md): validate a file of them, or try one", EXAMPLES)
    p.set_defaults(p=p)
    inner = p.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    v = inner.add_parser("validate", help="validate a file of checks (a checks: map), offline; exit 2 on a problem",
                         description="Validate a file of checks offline, against botocore's service models.")
    v.add_argument("file", metavar="FILE", type=Path, help="a YAML file whose top level is checks:")
    v.set_defaults(command=validate)
    t = inner.add_parser("try", help="run one check once in one account and region; print its findings, write nothing",
                         description="Run one check (of the config, or of an installed plugin) once, through the "
                                     "member role, and print what it would report. Nothing is written.")
    t.add_argument("name", metavar="NAME", help="the check's name (any collector's name works too)")
    t.add_argument("--config", required=True, metavar="FILE", help="the config (role_name, external_id, checks)")
    t.add_argument("--account", required=True, type=account_id, metavar="ID", help="the account to run it in")
    t.add_argument("--region", required=True, metavar="R", help="the region (a global check ignores it but for its "
                   "clients' endpoint)")
    t.add_argument("--json", action="store_true", help="the findings as a JSON array")
    t.set_defaults(command=try_check)


def validate(args: argparse.Namespace) -> int:
    from collector_core.checks.files import load_check_file
    from collector_core.checks.model import CheckError

    try:
        checks = load_check_file(args.file)
    except CheckError as exc:
        raise UsageError(f"invalid checks\n{exc}") from None
    for check in checks:
        print(f"{check.name}: {check.service}.{check.operation} ({check.action}, {check.scope.value}, "
              f"{check.severity})")
    print(f"{args.file}: {len(checks)} check{'' if len(checks) == 1 else 's'}, valid")
    return EXIT_OK


def try_check(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.collector import Account, CollectorContext, Scope
    from collector_core.findings import BadFinding, normalise
    from collector_core.logs import get_logger
    from collector_core.notify import safe

    registry, config = load(args.config)
    if args.name not in registry:
        raise UsageError(f"no check or collector named {args.name!r} (known: {', '.join(registry.names()) or 'none'})")
    collector = registry[args.name]
    options = config.collectors_for(args.account, registry).get(args.name, dict(collector.options))
    clients = Clients()
    credentials = clients.assume_role(args.account, config.role_name, session_name="aws-collector-checks-try",
                                      external_id=config.external_id, region=args.region)
    entry = config.account(args.account)
    region = "global" if collector.scope is Scope.GLOBAL else args.region
    ctx = CollectorContext(account=Account(args.account, entry.name if entry else args.account), region=region,
                           options=options, log=get_logger(plugin=args.name, account=args.account, region=region),
                           now=dt.datetime.now(dt.timezone.utc),
                           clients=lambda service, where: clients.client(service, where, credentials),
                           client_region=args.region)
    found, failed = [], 0
    try:
        for raw in collector.collect(ctx):
            try:
                finding = normalise(raw)
            except BadFinding as exc:
                failed += 1
                print(f"aws-collector: rejected a finding: {exc}", file=sys.stderr)
                continue
            found.append({"plugin": args.name, "account_id": args.account, "region": region,
                          "resource_id": finding.resource_id, "severity": finding.severity,
                          "summary": finding.summary, "details": dict(finding.details)})
    except Exception as exc:  # the check's own failure, said as the worker would record it
        print(f"aws-collector: {args.name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    if args.json:
        print(json.dumps(found, indent=2, sort_keys=True, default=str))
    else:
        for f in found:
            print(safe.terminal(f"{f['severity']:<8} {f['resource_id']}  {f['summary']}"))
        print(f"{len(found)} finding{'' if len(found) == 1 else 's'} in {args.account} {region} (nothing written)")
    return EXIT_FAILURES if failed else EXIT_OK
