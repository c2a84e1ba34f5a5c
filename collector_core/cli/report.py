"""`aws-collector report`: the report of the current findings, with its history, as one HTML file."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, command, load, positive
from collector_core.errors import describe

EXAMPLES = """\
examples:
  aws-collector report --config config.yaml --html report.html
  aws-collector report --config config.yaml --html report.html --runs 365   # a year of daily runs
  AWS_PROFILE=audit aws-collector report --config ssm:/collector/config --html /tmp/findings.html
"""
DEFAULT_RUNS = 30


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "report", run, "write the current findings and their history as one HTML page that opens "
                "from disk", EXAMPLES)
    p.add_argument("--config", required=True, help="YAML file, s3://bucket/key or ssm:/name")
    p.add_argument("--html", required=True, metavar="FILE", help="the page to write (replaced if it exists)")
    p.add_argument("--runs", type=positive, default=DEFAULT_RUNS, metavar="N",
                   help=f"runs of history to chart (default {DEFAULT_RUNS})")
    deadline.add_option(p)


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.notify import page
    from collector_core.notify.channels import reports_from_table
    from collector_core.store import Store

    registry, config = load(args.config)
    target = Path(args.html)
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK) or target.is_dir():
        raise UsageError(f"--html {args.html}: expected a file in a folder this user can write to")
    store = Store.open(config.table, Clients())
    try:
        # With the config's routes, the page filters by route (its Route control, ?route=NAME).
        report = reports_from_table(store, registry=registry, mutes=config.mute, now=dt.datetime.now(dt.UTC),
                                    routes=config.notify.routes).full
        history = store.history(args.runs)
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    # Written beside the target and renamed over it: a reader never sees half a page.
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.",
                                     suffix=".tmp", delete=False) as out:
        try:
            page.write(report, history, out)
        except BaseException:
            os.unlink(out.name)
            raise
    os.chmod(out.name, _mode(target))
    os.replace(out.name, target)
    size = target.stat().st_size
    print(f"{target}: {report.headline()}; {len(history)} run{'s' if len(history) != 1 else ''} of history; "
          f"{size / 1024:,.0f} KB")
    return EXIT_OK


def _mode(target: Path) -> int:
    """The mode a new file gets here (the umask's), or the replaced file's own."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
