"""`aws-collector demo`: the whole pipeline against a simulated organization, no AWS account."""
from __future__ import annotations

import argparse
from typing import Any

from collector_core.cli.common import command, positive


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "demo", run, "run the whole pipeline against a simulated organization")
    p.add_argument("--accounts", type=positive, default=3, help="simulated accounts (default 3)")
    p.add_argument("--regions", type=positive, default=3, help="simulated regions (default 3)")


def run(args: argparse.Namespace) -> int:
    from collector_core.demo.run import run_demo

    return run_demo(accounts=args.accounts, regions=args.regions)
