"""The `aws-collector` command: one module per command, each a thin shell over the functions the
Lambda handlers also call.

Exit codes: 0 all well; 1 finished with recorded failures (or gave up at --deadline); 2 bad usage
or config, nothing ran.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from collector_core.cli import deadline, demo, findings, notify, plugins, policy, run
from collector_core.cli.common import EXIT_FAILURES, EXIT_USAGE, UsageError

#: Each command module adds its parser with ``add(subparsers)``, in the order --help lists them.
COMMANDS = (run, findings, notify, plugins, policy, demo)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    from collector_core import logs

    logs.configure(level="debug" if args.verbose > 1 else "info" if args.verbose else "warning",
                   json_output=False if sys.stderr.isatty() else None)
    try:
        with deadline.deadline(getattr(args, "deadline", None)):
            return int(args.command(args))
    except deadline.DeadlineExceeded as exc:
        print(f"aws-collector: {exc}", file=sys.stderr)
        return EXIT_FAILURES
    except UsageError as exc:
        print(f"aws-collector: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURES


def parser() -> argparse.ArgumentParser:
    """The command line, assembled from the command modules."""
    top = argparse.ArgumentParser(
        prog="aws-collector",
        description="Know what is wrong across all your AWS accounts: run collector plugins in every "
                    "account and region, store the findings, and report them.")
    top.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    sub = top.add_subparsers(required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return top
