"""`aws-collector athena-ddl`: the Athena (Glue) table over what the s3 channel writes, printed
from the same definition the channel writes its rows with (collector_core/notify/export.py)."""
from __future__ import annotations

import argparse
import re
from typing import Any

from collector_core.cli.common import EXIT_OK, UsageError, command, load

EXAMPLES = """\
examples:
  aws-collector athena-ddl --config config.yaml          # the bucket, prefix and format of notify.s3
  aws-collector athena-ddl --bucket findings-lake --prefix aws-collector/findings/ --format ocsf
  aws-collector athena-ddl --config config.yaml --table security.aws_collector > table.sql
"""
#: An Athena table name, optionally after its database: letters, digits and _.
TABLE_NAME = re.compile(r"([A-Za-z0-9_]+\.)?[A-Za-z0-9_]+")


def add(sub: Any) -> None:
    """The command's parser."""
    from collector_core.notify.export import DEFAULT_TABLE, FORMATS

    p = command(sub, "athena-ddl", run, "print the Athena table definition for the findings the s3 channel writes",
                EXAMPLES)
    p.add_argument("--config", help="read the bucket, prefix and format from notify.s3")
    p.add_argument("--bucket", help="the bucket (default: notify.s3.bucket)")
    p.add_argument("--prefix", help="the key prefix, ending in / (default: notify.s3.prefix, else the channel's)")
    p.add_argument("--format", choices=FORMATS, help="jsonl or ocsf (default: notify.s3.format, else jsonl)")
    p.add_argument("--table", default=DEFAULT_TABLE, help=f"the table's name, optionally database.table "
                   f"(default: {DEFAULT_TABLE})")


def run(args: argparse.Namespace) -> int:
    from collector_core.notify.export import athena_ddl
    from collector_core.notify.s3 import DEFAULT_PREFIX

    configured: Any = None
    if args.config:
        _, config = load(args.config)
        use = config.notify.get("s3")
        configured = use.settings if use else None
        if configured is None and not args.bucket:
            raise UsageError(f"{args.config}: notify.s3 is not set; give --bucket (and --prefix, --format)")
    bucket = args.bucket or (configured.bucket if configured else None)
    if not bucket:
        raise UsageError("athena-ddl: give --config (with notify.s3) or --bucket")
    prefix = args.prefix if args.prefix is not None else (configured.prefix if configured else DEFAULT_PREFIX)
    if prefix and not prefix.endswith("/"):
        raise UsageError(f"--prefix: expected a key prefix ending in /, got {prefix[:60]!r}")
    if not TABLE_NAME.fullmatch(args.table):
        raise UsageError(f"--table: expected letters, digits and _ (optionally database.table), "
                         f"got {args.table[:60]!r}")
    table = ".".join(f"`{part}`" for part in args.table.split("."))
    fmt = args.format or (configured.format if configured else "jsonl")
    print(athena_ddl(bucket=bucket, prefix=prefix, format=fmt, table=table), end="")
    return EXIT_OK
