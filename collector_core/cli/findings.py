"""`aws-collector findings`: the current findings, as a table, JSON, CSV or OCSF."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, account_id, command, load
from collector_core.collector import SEVERITIES
from collector_core.errors import describe
from collector_core.findings import SCHEMA_FIELDS
from collector_core.notify import safe

if TYPE_CHECKING:
    from collector_core.plugins import Registry

EXAMPLES = """\
examples:
  aws-collector findings --config config.yaml
  aws-collector findings --config config.yaml --plugin iam_key_age --format csv > old-keys.csv
  aws-collector findings --config config.yaml --account 111111111111 --format json
  aws-collector findings --config config.yaml --region eu-west-1 --severity high
  aws-collector findings --config config.yaml --format ocsf > findings.ocsf.json
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "findings", run, "print the current findings from the table, as a table, JSON, CSV or OCSF "
                "Detection Findings", EXAMPLES)
    p.add_argument("--config", required=True)
    p.add_argument("--plugin", help="only this collector")
    p.add_argument("--account", type=account_id, help="only this account id")
    p.add_argument("--region", help="only this region (global collectors: global)")
    p.add_argument("--severity", choices=SEVERITIES, help="only this severity and above")
    p.add_argument("--format", choices=tuple(WRITERS), default="table",
                   help="table (default), json (the finding schema), csv, or ocsf (a JSON array of OCSF "
                        "Detection Findings, class_uid 2004)")
    deadline.add_option(p)


def run(args: argparse.Namespace) -> int:
    from collector_core.aws.clients import Clients
    from collector_core.findings import current_findings
    from collector_core.store import Store

    registry, config = load(args.config)
    store = Store.open(config.table, Clients())
    now = dt.datetime.now(dt.timezone.utc)
    lowest = SEVERITIES.index(args.severity) if args.severity else 0
    writer = WRITERS[args.format](sys.stdout, registry)
    try:
        # Only the partitions a filter names are read, one account at a time.
        accounts = [args.account] if args.account else [a for a, _ in store.accounts()]
        for state in store.account_states(accounts, region=args.region):
            for finding in current_findings(state, now):
                if (not args.plugin or finding["plugin"] == args.plugin) \
                        and SEVERITIES.index(finding["severity"]) >= lowest:
                    writer.write(finding)
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    writer.close()
    return EXIT_OK


class JsonWriter:
    """A JSON array, written as the findings arrive."""

    def __init__(self, out: IO[str]) -> None:
        self.out, self.count = out, 0

    def write(self, finding: dict[str, Any]) -> None:
        self.out.write(("[\n" if not self.count else ",\n") + _indent(json.dumps(finding, indent=2, sort_keys=True)))
        self.count += 1

    def close(self) -> None:
        self.out.write("\n]\n" if self.count else "[]\n")


class OcsfWriter(JsonWriter):
    """A JSON array of OCSF Detection Findings, written as the findings arrive."""

    def __init__(self, out: IO[str], registry: Registry) -> None:
        super().__init__(out)
        self.resource_types = {name: registry[name].resource_type for name in registry.names()}

    def write(self, finding: dict[str, Any]) -> None:
        from collector_core.notify.ocsf import detection_finding

        super().write(detection_finding(finding, resource_type=self.resource_types.get(finding["plugin"], "")))


class CsvWriter:
    """CSV with a header row: the finding schema's fields, details and tags as JSON."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.DictWriter(out, fieldnames=SCHEMA_FIELDS, lineterminator="\n")
        self.writer.writeheader()

    def write(self, finding: dict[str, Any]) -> None:
        row = {**finding, "details": json.dumps(finding["details"], sort_keys=True),
               "tags": json.dumps(finding.get("tags") or {}, sort_keys=True)}
        # Cells a spreadsheet would run as formulas are neutralised.
        self.writer.writerow({key: safe.csv_cell(value) for key, value in row.items()})

    def close(self) -> None:
        pass


class TableWriter:
    """Columns as wide as their longest value (at most 60): for a person, so it waits for every row."""

    COLUMNS = ("plugin", "account_id", "region", "resource_id", "severity", "summary")

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.rows: list[list[str]] = []

    def write(self, finding: dict[str, Any]) -> None:
        self.rows.append([safe.terminal(str(finding[c])) for c in self.COLUMNS])  # before cutting to width

    def close(self) -> None:
        widths = [min(60, max([len(c)] + [len(r[i]) for r in self.rows])) for i, c in enumerate(self.COLUMNS)]
        lines = ["  ".join(c.upper().ljust(w) for c, w in zip(self.COLUMNS, widths, strict=True)).rstrip()]
        lines += ["  ".join(v[:w].ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in self.rows]
        lines.append(f"{len(self.rows)} findings")
        self.out.write("\n".join(lines) + "\n")


class Writer(Protocol):
    """Writes findings as they arrive, in one format."""

    def write(self, finding: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


#: Each format's writer, made from the output and the registry (OCSF names each collector's resource type).
WRITERS: dict[str, Callable[[IO[str], Registry], Writer]] = {
    "table": lambda out, _: TableWriter(out),
    "json": lambda out, _: JsonWriter(out),
    "csv": lambda out, _: CsvWriter(out),
    "ocsf": OcsfWriter,
}


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
