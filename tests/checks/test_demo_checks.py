"""The demo's simulated organization runs two declarative checks, and says they find exactly what
it seeded for them."""
from __future__ import annotations

import io

import pytest

from collector_core.demo.checks import DEMO_CHECKS
from collector_core.demo.run import run_demo

pytestmark = pytest.mark.slow


def test_the_demo_runs_its_checks_and_they_match_what_it_seeded() -> None:
    out = io.StringIO()
    assert run_demo(accounts=2, regions=2, out=out) == 0
    text = out.getvalue()
    assert len(DEMO_CHECKS) >= 2
    assert "The declarative checks (unassociated_eips, logs_kept_forever): their findings match the" in text
    assert "keeps its logs forever" in text and "is not associated" in text  # in the report, as any collector's
