"""`aws-collector demo`: the whole pipeline against a simulated organization, no AWS account."""
from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TextIO

from collector_core.aws.clients import Clients
from collector_core.config.load import parse_config
from collector_core.demo.checks import DEMO_CHECKS
from collector_core.demo.simulate import DEFAULT_REGIONS, moto_server, seed_organization
from collector_core.findings import current_findings
from collector_core.notify.channels import report_from_table
from collector_core.notify.summary import render_summary
from collector_core.notify.text import render
from collector_core.plugins import load_plugins
from collector_core.runtime import director
from collector_core.runtime.invokers import LocalInvoker
from collector_core.store import Store


def run_demo(*, accounts: int = 3, regions: int = 3, out: TextIO | None = None) -> int:
    """Start moto's server, seed an organization, run director -> workers -> table, report."""
    out = out or sys.stdout
    region_names = list(DEFAULT_REGIONS + ("us-west-2", "eu-central-1", "ap-northeast-1"))[:regions]
    print(f"Starting a simulated AWS on 127.0.0.1 with {accounts} member accounts "
          f"in {', '.join(region_names)}...", file=out)
    with moto_server() as endpoint:
        sim = seed_organization(endpoint, accounts=accounts, regions=region_names, checks=True)
        installed = load_plugins()
        # A plugin's own check of the same name (the catalog's unassociated_eips) stands in for the demo's.
        checks = {name: check for name, check in DEMO_CHECKS.items() if name not in installed}
        config = parse_config(
            {"organization": {"enabled": True}, "regions": region_names, "table": "aws-collector-demo",
             "checks": checks},
            "demo", installed,
        )
        registry = config.registry(installed)  # the plugins' collectors and the config's two checks
        clients = Clients()
        store = Store.open(config.table, clients)
        store.ensure_table()
        started = time.monotonic()
        result = director.run(config, registry,
                              LocalInvoker(registry=registry, clients=clients, store=store),
                              clients=clients, store=store)
        print(render_summary(result, registry, time.monotonic() - started), file=out)
        now = dt.datetime.now(dt.timezone.utc)
        print(file=out)
        print(render(report_from_table(store, registry=registry, mutes=(), now=now, run_seq=result.run_seq)),
              file=out)
        seen = {(f["plugin"], f["account_id"], f["region"], f["resource_id"])
                for state in store.account_states([a for a, _ in store.accounts()])
                for f in current_findings(state, now)}
        # A check seeded for but not installed here finds nothing.
        expected = {e for e in sim.expected | sim.expected_checks if e[0] in registry}
        missing, extra = expected - seen, seen - expected
        verdict = "match" if not (missing or extra) else f"DIFFER ({len(missing)} missing, {len(extra)} extra)"
        collectors = len({e[0] for e in expected})
        print(f"\nThe findings {verdict} the {len(expected)} problems seeded in the simulation "
              f"for {collectors} collectors.", file=out)
        # What the demo's checks must find: what was seeded for them (and, where an installed plugin's
        # check of the same name stands in, for it too).
        for_checks = {e for e in expected if e[0] in DEMO_CHECKS}
        print(f"The declarative checks ({', '.join(DEMO_CHECKS)}): their findings "
              f"{_verdict(for_checks, {s for s in seen if s[0] in DEMO_CHECKS})} the "
              f"{len(for_checks)} resources seeded for them.", file=out)
    return 0 if not (missing or extra or result.failed) else 1


def _verdict(expected: set[tuple[str, str, str, str]], seen: set[tuple[str, str, str, str]]) -> str:
    missing, extra = expected - seen, seen - expected
    return "match" if not (missing or extra) else f"DIFFER from ({len(missing)} missing, {len(extra)} extra)"

