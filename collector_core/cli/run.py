"""`aws-collector run`: a collection on this machine, with the same director and workers as Lambda."""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, UsageError, account_id, command, load, positive
from collector_core.errors import describe

EXAMPLES = """\
examples:
  aws-collector run --config config.yaml
  aws-collector run --config s3://my-bucket/aws-collector.yaml --concurrency 16
  AWS_PROFILE=audit aws-collector run --config ssm:/collector/config
  aws-collector run --config config.yaml --account 111111111111 --plugin unattached_ebs --region eu-west-1

--account, --plugin and --region run a subset: each is repeatable, and the run scans only what all
three select among what the config enables (global collectors are region "global"), and resolves
only what it scanned.
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "run", run, "collect every account and region in the config on this machine, and store the "
                "findings", EXAMPLES)
    p.add_argument("--config", required=True, help="YAML file, s3://bucket/key or ssm:/name")
    p.add_argument("--concurrency", type=positive, default=8, help="accounts at once (default 8)")
    p.add_argument("--timeout", type=positive, default=900,
                   help="seconds one account may take before it is cut off (default 900)")
    p.add_argument("--account", type=account_id, action="append", metavar="ID",
                   help="only this account (repeatable)")
    p.add_argument("--plugin", action="append", metavar="NAME", help="only this collector (repeatable)")
    p.add_argument("--region", action="append", metavar="R",
                   help="only this region; global for global collectors (repeatable)")
    deadline.add_option(p, "the steps outside the collection (the config, the table, the report)")


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.notify.summary import render_summary
    from collector_core.runtime import director
    from collector_core.runtime.invokers import LocalInvoker
    from collector_core.runtime.planning import Subset, SubsetError
    from collector_core.store import Store, TableError

    registry, config = load(args.config)
    subset = Subset.of(args.account or (), args.plugin or (), args.region or ())
    unknown = subset.unknown_names(registry)
    if unknown:  # before the table is touched
        raise UsageError("\n".join(unknown))
    clients = Clients(max_pool_connections=max(10, args.concurrency * 2))
    store = Store.open(config.table, clients)
    started = time.monotonic()
    try:
        store.ensure_table()
    except TableError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        print(f"aws-collector: cannot reach the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    progress = _Progress()
    completed: list[int] = []  # the run's number, once its last account is recorded

    def complete(run_id: str, run_seq: int) -> None:
        completed.append(run_seq)

    invoker = LocalInvoker(registry=registry, clients=clients, store=store,
                           concurrency=args.concurrency, timeout=args.timeout, on_result=progress,
                           on_run_complete=complete)
    try:
        # In this process every worker ends within --timeout: the run's deadline follows from it,
        # and the command's own --deadline pauses meanwhile (the collection is bounded per account).
        with deadline.suspended():
            result = director.run(config, registry, invoker, clients=clients, store=store,
                                  deadline_seconds=args.timeout + 60, subset=subset or None)
    except SubsetError as exc:  # checked against the accounts before the run is recorded: nothing ran
        raise UsageError(str(exc)) from None
    except Exception as exc:  # e.g. Organizations unreachable: nothing ran, say why
        print(f"aws-collector: the run could not start: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    print(render_summary(result, registry, time.monotonic() - started))
    from collector_core.metrics.sinks import emit

    emit(result.results or [], config.metrics, clients=clients)  # never fails the run
    finish = _notify_run if config.notify.on_run_complete else _record_run
    reported = all([finish(run_seq, config, registry, store, clients) for run_seq in completed])
    return EXIT_FAILURES if result.failed or not reported else EXIT_OK


def _record_run(run_seq: int, config: Any, registry: Any, store: Any, clients: Any) -> bool:
    """Keep a finished run's summary in the history when no report goes out; False if it could not."""
    from collector_core.notify.channels import record_run

    try:
        record_run(run_seq, mutes=config.mute, registry=registry, store=store, history_days=config.history_days)
    except Exception as exc:
        print(f"aws-collector: the run's summary could not be kept in the history: {describe(exc)}", file=sys.stderr)
        return False
    return True


def _notify_run(run_seq: int, config: Any, registry: Any, store: Any, clients: Any) -> bool:
    """Send a finished run's report once (which keeps its summary in the history); False if it
    could not be sent."""
    from collector_core.notify.channels import notify_run_complete

    try:
        result = notify_run_complete(run_seq, config.notify, mutes=config.mute, registry=registry, store=store,
                                     clients=clients, history_days=config.history_days)
    except Exception as exc:
        print(f"aws-collector: the report could not be built: {describe(exc)}", file=sys.stderr)
        return False
    for channel, error in result.failures if result else []:
        print(f"aws-collector: the report did not reach {channel}: {error}", file=sys.stderr)
    return result is None or result.ok


class _Progress:
    """One line per finished account, on a terminal only."""

    def __init__(self) -> None:
        self.done = 0

    def __call__(self, result: Any) -> None:
        from collector_core.notify import safe

        self.done += 1
        if sys.stderr.isatty():
            found = sum(result.findings_by_plugin().values())
            line = (f"  [{self.done}] {result.account.id} {result.account.name}: {result.status}, "
                    f"{found} findings, {len(result.errors)} errors, {result.seconds:.1f} s")
            print(safe.terminal(line), file=sys.stderr)
