"""The benchmark harness runs end to end in its tiny configuration and prints every figure.

This checks that the harness works, not how fast anything is: speed is measured by running
``python -m benchmarks``, never asserted in a test.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = (
    "one worker: 1 account x",
    "one worker, warm",
    "one worker: peak RSS",
    "worker under RLIMIT_DATA",
    "API calls per account-region",
    "DynamoDB calls per account",
    "worker cold start",
    "director fan-out",
    "whole run:",
    "model check:",
    "declarative check vs plugin",
    "report page: build at 20,000 findings",
    "report page: browser load at 20,000 findings",
)


@pytest.mark.slow
def test_quick_benchmark_prints_every_figure_beside_its_target_and_baseline() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]]
            for line in done.stdout.splitlines() if line.count("|") >= 4}
    for figure in FIGURES:
        matching = [cells for name, cells in rows.items() if name.startswith(figure)]
        assert matching, f"figure {figure!r} missing from:\n{done.stdout}"
        measured, target = matching[0][0], matching[0][1]
        assert measured and target, f"figure {figure!r} has no measurement or no target"
    # Every figure with a baseline names it, and the three runs found the same seeded problems.
    assert "laptop script" in rows[next(n for n in rows if n.startswith("one worker: 1 account"))][2]
    found = next(line for line in done.stdout.splitlines() if line.startswith("- findings written"))
    counts = [int(word.rstrip(";,")) for word in found.split() if word.rstrip(";,").isdigit()]
    assert len(set(counts)) == 1 and counts[0] > 0, found
