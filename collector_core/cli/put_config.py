"""`aws-collector put-config`: a config validated, then stored where the Lambda functions read it
(an SSM parameter or an S3 object), refused with advice when it is too big for its place."""
from __future__ import annotations

import argparse
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_OK, UsageError, command, load

EXAMPLES = """\
examples:
  aws-collector put-config --config config.yaml --to ssm:/collector/config
  aws-collector put-config --config config.yaml --to s3://my-bucket/aws-collector/config.yaml

An SSM parameter holds 4 KB in the standard tier and 8 KB in the advanced tier (chosen by size,
SSM's Intelligent-Tiering); a bigger config is refused, nothing written, with the advice to keep
it in S3 (up to 1 MiB). An invalid config is refused the same way: the functions never read one.
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "put-config", run, "validate a config and store it where the Lambda functions read it (SSM "
                "or S3), refusing one too big for its place", EXAMPLES)
    p.add_argument("--config", required=True, help="the config to store: a YAML file (or s3://, ssm:)")
    p.add_argument("--to", required=True, metavar="WHERE", help="ssm:/parameter/name or s3://bucket/key")
    deadline.add_option(p, "storing the config")


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients, home_region
    from collector_core.config.sources import read_source, reserved_ssm_name, ssm_tier, too_big_for_ssm

    load(args.config)  # exit 2 on a config the functions could not run
    text = read_source(args.config)
    size = len(text.encode())
    where: str = args.to
    clients = Clients()
    if where.startswith("ssm:"):
        name = where[len("ssm:"):]
        if reserved_ssm_name(name):
            raise UsageError(f"{where}: SSM reserves parameter names that begin with 'aws' or 'ssm'; use a name such "
                             "as ssm:/collector/config")
        tier = ssm_tier(size)
        if tier is None:
            raise UsageError(too_big_for_ssm(args.config, size))
        # Intelligent-Tiering: standard while it fits, advanced past 4 KB, and a later, smaller config
        # can be put again (SSM never takes a parameter back from advanced to standard).
        clients.client("ssm", home_region()).put_parameter(
            Name=name, Value=text, Type="SecureString", Tier="Intelligent-Tiering", Overwrite=True)
        cost = " ($0.05 a month: over 4 KB, the standard tier's limit)" if tier == "advanced" else ""
        print(f"{args.config} ({size:,} bytes) put in {where}: a SecureString, {tier} tier{cost}")
    elif where.startswith("s3://"):
        bucket, _, key = where[len("s3://"):].partition("/")
        if not (bucket and key):
            raise UsageError(f"--to {where}: expected s3://bucket/key")
        clients.client("s3", home_region()).put_object(Bucket=bucket, Key=key, Body=text.encode(),
                                                       ServerSideEncryption="AES256")
        print(f"{args.config} ({size:,} bytes) put in {where}; deploy with --param=\"config={where}\"")
    else:
        raise UsageError(f"--to {where}: expected ssm:/parameter/name or s3://bucket/key")
    return EXIT_OK
