"""`aws-collector plan`: what a run would do (accounts, regions, collectors and their options),
collecting nothing. With Organizations it lists the accounts (ListAccounts); nothing is written."""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, command, load
from collector_core.errors import describe

if TYPE_CHECKING:
    from collector_core.config.model import Config
    from collector_core.plugins import Registry
    from collector_core.runtime.planning import AccountPlan

EXAMPLES = """\
examples:
  aws-collector plan --config config.yaml
  aws-collector plan --config config.yaml --format json > plan.json
  aws-collector plan --config config.yaml --routes   # per route: its accounts, its findings in the last run
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "plan", run, "show what a run would do, per account its regions and its enabled collectors "
                "with their options, collecting nothing", EXAMPLES)
    p.add_argument("--config", required=True, help="YAML file, s3://bucket/key or ssm:/name")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help='table (default) or json: {"accounts": [{"id", "name", "ou", "regions", "collectors"}]}')
    p.add_argument("--routes", action="store_true",
                   help='per route of notify.routes, the accounts it covers and the findings it would get from the '
                        'table (json: {"routes": [{"name", "accounts", "open", "new", "muted"}], "default": {...}})')
    deadline.add_option(p, "listing the organization's accounts")


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.runtime.director import resolve_accounts
    from collector_core.runtime.planning import plan_accounts

    registry, config = load(args.config)
    try:
        accounts = resolve_accounts(config, Clients())
    except Exception as exc:  # Organizations unreachable or refusing: say why
        print(f"aws-collector: cannot list the organization's accounts: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    plans = plan_accounts(config, registry, accounts)
    if args.routes:
        return routes_plan(args, config, registry, plans)
    if args.format == "json":
        print(json.dumps(as_json(plans), indent=2))
    else:
        print("\n".join(table(plans, config, registry)))
    return EXIT_OK


def routes_plan(args: argparse.Namespace, config: Config, registry: Registry, plans: list[AccountPlan]) -> int:
    """Per route, the accounts it covers and what it would get from the table (one pass over it)."""
    import datetime as dt

    from collector_core.aws.clients import Clients
    from collector_core.notify import safe
    from collector_core.notify.channels import reports_from_table
    from collector_core.notify.routes import covered_accounts
    from collector_core.store import Store

    notify = config.notify
    try:
        reports = reports_from_table(Store.open(config.table, Clients()), registry=registry, mutes=config.mute,
                                     now=dt.datetime.now(dt.UTC), routes=notify.routes,
                                     unmatched_only=notify.unmatched_only)
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    ids = [(p.account.id, p.account.ou) for p in plans]
    rows: list[dict[str, Any]] = [{"name": r.name, "accounts": covered_accounts(r, ids),
                                   "channels": [c.name for c in r.channels], **_counts(reports.routes[r.name])}
                                  for r in notify.routes]
    default: dict[str, Any] = {"name": "default (unmatched)" if notify.unmatched_only else "default (all)",
               "accounts": [i for i, _ in ids], "channels": [c.name for c in notify.channels],
               **_counts(reports.default)}
    if args.format == "json":
        print(json.dumps({"routes": rows, "default": default, "run_id": reports.full.run_id}, indent=2))
        return EXIT_OK
    print(f"{len(rows)} route{'s' if len(rows) != 1 else ''}; findings as of run {reports.full.run_id or '(none)'}")
    for row in [*rows, default]:
        accounts = row["accounts"]
        shown = ", ".join(accounts[:8]) + (f" and {len(accounts) - 8} more" if len(accounts) > 8 else "")
        for line in (row["name"], f"  channels  {', '.join(row['channels']) or 'none'}",
                     f"  accounts  {len(accounts)}: {shown or 'none'}",
                     f"  findings  {row['open']} open ({row['new']} new), {row['muted']} muted"):
            print(safe.terminal(line))
    return EXIT_OK


def _counts(report: Any) -> dict[str, int]:
    return {"open": report.open, "new": report.new, "muted": report.muted}


def as_json(plans: list[AccountPlan]) -> dict[str, Any]:
    """The plan in the public shape: ``{"accounts": [{"id", "name", "ou", "regions", "collectors"}]}``
    (``ou``: the organizational unit's path with Organizations, else null)."""
    return {"accounts": [{"id": p.account.id, "name": p.account.name, "ou": p.account.ou, "regions": p.regions,
                          "collectors": p.collectors} for p in plans]}


def table(plans: list[AccountPlan], config: Config, registry: Registry) -> list[str]:
    """The plan for a person: one block per account, one line per collector with its options."""
    from collector_core.collector import Scope
    from collector_core.notify import safe

    source = "the config's list"
    org = config.organization
    if org.enabled:
        units = [f"in {', '.join(org.include_ous)}"] if org.include_ous else []
        units += [f"not in {', '.join(org.exclude_ous)}"] if org.exclude_ous else []
        units += [f"minus {len(org.exclude)} excluded"] if org.exclude else []
        source = ", ".join(["the organization's active accounts", *units])
    lines = [f"{len(plans)} account{'s' if len(plans) != 1 else ''} ({source}); nothing is collected by plan"]
    def shown(name: str) -> str:
        return name + (" (global)" if registry[name].scope is Scope.GLOBAL else "")

    width = max([len(shown(n)) for n in registry.names()] or [0])
    for plan in plans:
        lines.append(safe.terminal(f"{plan.account.id}  {plan.account.name}"))
        if plan.account.ou is not None:
            lines.append(safe.terminal(f"  ou          {plan.account.ou}"))
        regions = plan.regions if isinstance(plan.regions, str) else ", ".join(plan.regions)
        lines.append(f"  regions     {regions}" + (" (those enabled in the account)" if plan.regions == "all" else ""))
        label = "  collectors  "
        for name, options in plan.collectors.items():
            settings = " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(options.items()))
            lines.append(safe.terminal(f"{label}{shown(name):<{width}}  {settings}".rstrip()))
            label = " " * len(label)
        if not plan.collectors:
            lines.append(f"{label}none (nothing runs in this account)")
    return lines
