"""`aws-collector iam-policy`: the member role's least-privilege policy for the enabled collectors."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_OK, UsageError, command, load

EXAMPLES = """\
examples:
  aws-collector iam-policy --config config.yaml > member-policy.json
  aws-collector iam-policy --config config.yaml --format cloudformation > member-role.yaml
  aws-collector iam-policy --config config.yaml --format stackset > member-role-stackset.yaml
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "iam-policy", run, "print the least-privilege policy of the role the collectors assume in "
                "each account", EXAMPLES)
    p.add_argument("--config", required=True)
    p.add_argument("--format", choices=("json", "cloudformation", "stackset"), default="json",
                   help="the policy document (default); the member role's template (a stack, or a StackSet's "
                        "template); or a stack that deploys it to the organization as a StackSet")
    deadline.add_option(p, "reading the config")  # from S3 or SSM, it waits for AWS


def run(args: argparse.Namespace) -> int:
    from collector_core.iam_policy import (
        PolicyError,
        member_actions,
        member_role_template,
        member_stack_set_template,
        policy_document,
    )

    registry, config = load(args.config)
    try:
        actions = member_actions(config, registry)
    except PolicyError as exc:  # a permission the read-only role may not hold: nothing is printed
        raise UsageError(str(exc)) from None
    if args.format == "cloudformation":
        sys.stdout.write(member_role_template(actions, role_name=config.role_name))
    elif args.format == "stackset":
        sys.stdout.write(member_stack_set_template(actions, role_name=config.role_name))
    else:
        print(json.dumps(policy_document(actions, role_name=config.role_name), indent=2))
    return EXIT_OK
