"""`aws-collector findings`: the current findings, as a table, JSON or CSV."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from typing import Any

from collector_core.cli import deadline
from collector_core.cli.common import EXIT_FAILURES, EXIT_OK, command, load
from collector_core.errors import describe
from collector_core.notify import safe


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "findings", run, "print the current findings from the table")
    p.add_argument("--config", required=True)
    p.add_argument("--plugin", help="only this collector")
    p.add_argument("--account", help="only this account id")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    deadline.add_option(p)


def run(args: argparse.Namespace) -> int:
    from collector_core.findings import current_findings
    from collector_core.runtime.clients import Clients
    from collector_core.store import Store

    _, config = load(args.config)
    store = Store.open(config.table, Clients())
    try:
        contents = store.read()
    except Exception as exc:
        print(f"aws-collector: cannot read the table {config.table!r}: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURES
    findings = [
        f for f in current_findings(contents, dt.datetime.now(dt.timezone.utc))
        if (not args.plugin or f["plugin"] == args.plugin)
        and (not args.account or f["account_id"] == args.account)
    ]
    sys.stdout.write(render_findings(findings, args.format))
    return EXIT_OK


def render_findings(findings: list[dict[str, Any]], fmt: str) -> str:
    """Findings as a table, a JSON array or CSV."""
    if fmt == "json":
        return json.dumps(findings, indent=2, sort_keys=True) + "\n"
    if fmt == "csv":
        from collector_core.findings import SCHEMA_FIELDS

        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=SCHEMA_FIELDS, lineterminator="\n")
        writer.writeheader()
        for f in findings:  # cells a spreadsheet would run as formulas are neutralised
            row = {**f, "details": json.dumps(f["details"], sort_keys=True)}
            writer.writerow({key: safe.csv_cell(value) for key, value in row.items()})
        return out.getvalue()
    columns = ("plugin", "account_id", "region", "resource_id", "severity", "summary")
    rows = [[safe.terminal(str(f[c])) for c in columns] for f in findings]  # before cutting to width
    widths = [min(60, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip()]
    lines += ["  ".join(v[:w].ljust(w) for v, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    lines.append(f"{len(findings)} findings")
    return "\n".join(lines) + "\n"
