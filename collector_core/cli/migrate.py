"""`aws-collector migrate`: bring a table written by version 0.1 to this version's layout."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, command, load
from collector_core.errors import describe

EXAMPLES = """\
examples:
  aws-collector migrate --config config.yaml     once, after upgrading from 0.1 (running it again is safe)
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "migrate", run,
                "copy the findings of a table written by aws-collector 0.1 into this version's layout", EXAMPLES)
    p.add_argument("--config", required=True)


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.store import Store, TableError

    _, config = load(args.config)
    store = Store.open(config.table, Clients())
    now = dt.datetime.now(dt.timezone.utc)
    copied = kept = 0
    try:
        store.check_table()
        for item in store.legacy_findings():
            if store.adopt_legacy(item, now=now, ttl_days=config.ttl_days):
                copied += 1
            else:
                kept += 1
    except TableError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        print(f"aws-collector: the migration stopped after {copied} findings: {describe(exc)} "
              "(running it again carries on)", file=sys.stderr)
        return EXIT_FAILURES
    print(f"{copied} findings copied into the new layout (first_seen kept), {kept} already there; "
          f"the old items expire with their TTL (ttl_days: {config.ttl_days})")
    return EXIT_OK
