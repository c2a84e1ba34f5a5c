"""`aws-collector demo`: the whole pipeline against a simulated organization, no AWS account."""
from __future__ import annotations

import argparse
from typing import Any

from collector_core.cli.common import command, positive

EXAMPLES = """\
examples:
  aws-collector demo
  aws-collector demo --accounts 10 --regions 5
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "demo", run, "see it work with no AWS account: the whole pipeline against a simulated "
                "organization", EXAMPLES)
    p.add_argument("--accounts", type=positive, default=3, help="simulated accounts (default 3)")
    p.add_argument("--regions", type=positive, default=3, help="simulated regions (default 3)")


def run(args: argparse.Namespace) -> int:
    from collector_core.demo.run import run_demo

    return run_demo(accounts=args.accounts, regions=args.regions)
