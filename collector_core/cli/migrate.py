"""`aws-collector migrate`: convert a table written by an earlier version to this version's layout."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, command, load
from collector_core.errors import describe

EXAMPLES = """\
examples:
  aws-collector migrate --config config.yaml     once, after upgrading (running it again is safe)
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "migrate", run,
                "convert a table written by aws-collector 0.1 to 0.3 to this version's layout, in place", EXAMPLES)
    p.add_argument("--config", required=True)


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.store import TableError
    from collector_core.store.layout import LAYOUT
    from collector_core.store.migration import Migrating

    _, config = load(args.config)
    store = Migrating.open(config.table, Clients())
    try:
        done = store.migrate(now=dt.datetime.now(dt.timezone.utc), ttl_days=config.ttl_days)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        print(f"aws-collector: the migration stopped: {describe(exc)} (running it again carries on)", file=sys.stderr)
        return EXIT_FAILURES
    print(f"{done.adopted} findings copied into the new layout (first_seen kept), {done.kept} already there; "
          f"{done.converted} findings given their sightings; the table holds layout {LAYOUT}"
          + ("" if done.layout == LAYOUT else f" (it held {done.layout or 'nothing yet'})"))
    if done.adopted or done.kept:
        print(f"the old items expire with their TTL (ttl_days: {config.ttl_days})")
    return EXIT_OK
