"""docs/notify.md's worked example is a config that loads, and its table of what goes where is what
the routes and mutes of that config do."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from collector_core.config.load import parse_config
from collector_core.config.model import Config
from collector_core.notify import mutes
from collector_core.plugins import load_plugins

DOC = Path(__file__).parents[2] / "docs" / "notify.md"
TODAY = dt.date(2026, 12, 5)


@pytest.fixture(scope="module")
def example() -> Config:
    import yaml

    block = DOC.read_text().split("## A worked example", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", block, re.S)
    assert found, "the worked example has no YAML block"
    text = found.group(1)
    return parse_config(yaml.safe_load(text), "docs/notify.md", load_plugins())


# (plugin, unit, severity, tags) -> the routes it reaches, and whether the platform channel gets it
ROWS = [
    (("unattached_ebs", "Root/Workloads/Payments", "low", {}), ["payments"], False),
    (("open_security_groups", "Root/Workloads/Search", "high", {"team": "data"}), ["search", "data"], False),
    (("iam_key_age", "Root/Data", "medium", {"team": "data"}), ["data"], False),
    (("unattached_ebs", "Root/Data", "low", {"team": "data"}), [], True),
    (("unattached_ebs", "Root/Data", "low", {}), [], True),
]


@pytest.mark.parametrize(("finding", "routes", "unmatched"), ROWS)
def test_the_table_of_what_goes_where(example: Config, finding: tuple, routes: list[str], unmatched: bool) -> None:
    plugin, ou, severity, tags = finding
    doc = {"plugin": plugin, "account_id": "111111111111", "region": "eu-west-1", "resource_id": "r-1",
           "severity": severity, "tags": tags}
    matched = [r.name for r in example.notify.routes
               if r.match.covers_account("111111111111", ou) and r.match.covers(doc)]
    assert matched == routes
    assert example.notify.unmatched_only and (not matched) is unmatched


def test_the_sandbox_is_muted_everywhere_and_the_backfill_in_the_data_route_only(example: Config) -> None:
    sandbox = {"plugin": "open_security_groups", "account_id": "1", "region": "r", "resource_id": "sg-1",
               "tags": {"env": "sandbox"}}
    assert mutes.mute_for(sandbox, example.mute, TODAY) is not None
    backfill = {"plugin": "unattached_ebs", "account_id": "1", "region": "r", "resource_id": "vol-1",
                "tags": {"team": "data", "purpose": "backfill-2026"}}
    assert mutes.mute_for(backfill, example.mute, TODAY) is None
    assert mutes.mute_for(backfill, example.mute, TODAY, route="data") is not None
