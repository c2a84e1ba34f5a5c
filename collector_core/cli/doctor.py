"""`aws-collector doctor`: what would stop a run, named, before one runs (collector_core.doctor)."""
from __future__ import annotations

import argparse
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, account_id, command, load

EXAMPLES = """\
examples:
  aws-collector doctor --config config.yaml
  aws-collector doctor --config ssm:/collector/config --account 111111111111 --account 222222222222

It checks: the config (exit 2 if invalid); the table (reachable, with the right keys); per account:
the member role assumable, the configured regions enabled, each enabled collector's permissions
(one cheap read call each), the role's policy against `iam-policy`; the Slack webhook answering
and the SES sender verified. It writes nothing and sends no message. Exit 0: all well; 1: problems,
each named.
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "doctor", run, "check everything a run needs (table, roles, regions, permissions, channels), "
                "naming each problem, collecting nothing", EXAMPLES)
    p.add_argument("--config", required=True, help="YAML file, s3://bucket/key or ssm:/name")
    p.add_argument("--account", action="append", default=[], type=account_id, metavar="ID",
                   help="check only this account (repeatable); default: every account the config runs")
    deadline.add_option(p, "checking the accounts")


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.doctor import UnknownAccount, diagnose
    from collector_core.notify import safe

    registry, config = load(args.config)
    try:
        found = diagnose(config, registry, Clients(), accounts=args.account)
    except UnknownAccount as exc:
        raise UsageError(str(exc)) from None
    for line in found.well:
        print(safe.terminal(f"ok  {line}"))
    if not found.problems:
        print("aws-collector doctor: all well")
        return EXIT_OK
    rows = [(p.where, p.check, p.detail) for p in found.problems]
    widths = [max(len(r[i]) for r in [("where", "check", ""), *rows]) for i in range(2)]
    count = len(rows)
    print(f"aws-collector doctor: {count} problem{'s' if count != 1 else ''}")
    print(f"{'where':<{widths[0]}}  {'check':<{widths[1]}}  why")
    for where, check, detail in rows:
        print(safe.terminal(f"{where:<{widths[0]}}  {check:<{widths[1]}}  {detail}"))
    return EXIT_FAILURES
