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

from collector_core.cli import (
    athena,
    checks,
    deadline,
    demo,
    deploy_init,
    doctor,
    findings,
    migrate,
    new_plugin,
    notify,
    plan,
    plugins,
    policy,
    put_config,
    report,
    run,
)
from collector_core.cli.common import EXIT_FAILURES, EXIT_USAGE, UsageError

#: Each command module adds its parser with ``add(subparsers)``, in the order --help lists them.
COMMANDS = (run, plan, findings, notify, report, plugins, checks, new_plugin, policy, migrate, demo, doctor,
            put_config, deploy_init, athena)


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


DESCRIPTION = """\
aws-collector finds what is wrong across all your AWS accounts: it runs collector plugins
(unattached EBS volumes, old IAM access keys, open security groups, and any you install) in every
account and region, keeps the findings in DynamoDB and reports them to Slack, email or a terminal.
"""

EXAMPLES = """\
examples:
  aws-collector demo                                     see it work, with no AWS account
  aws-collector plugins                                  what is installed
  aws-collector plan --config config.yaml                what a run would do, collecting nothing
  aws-collector run --config config.yaml                 collect every account and region
  aws-collector findings --config config.yaml --format csv
  aws-collector report --config config.yaml --html report.html
  aws-collector new-plugin stale-snapshots               start a plugin of your own

'aws-collector COMMAND --help' shows a command's options and examples. Exit codes: 0 all well,
1 finished with recorded failures, 2 bad usage or configuration (nothing ran).
"""


def parser() -> argparse.ArgumentParser:
    """The command line, assembled from the command modules."""
    top = argparse.ArgumentParser(prog="aws-collector", description=DESCRIPTION, epilog=EXAMPLES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=version(),
                     help="print the version of aws-collector and of its plugin API, and exit")
    top.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(sub)
    return top


def version() -> str:
    """What `--version` prints: this release and the plugin API it provides."""
    from collector_core import PLUGIN_API_VERSION, __version__

    return f"aws-collector {__version__} (plugin API {PLUGIN_API_VERSION})"
