"""Every check docs/checks.md and the README show validates, as `checks validate` would."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from collector_core.aws.iam_actions import READ_ONLY, access_level
from collector_core.checks.model import parse_checks

ROOT = Path(__file__).resolve().parents[2]


def examples(path: Path) -> list[str]:
    """The YAML blocks of a document whose top level is checks:."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", path.read_text(), re.M | re.S)
    return [b for b in blocks if b.startswith("checks:")]


DOC = examples(ROOT / "docs" / "checks.md")
README = examples(ROOT / "README.md")


def test_the_guide_has_ten_worked_examples_and_the_readme_one() -> None:
    drawer = (ROOT / "docs" / "checks.md").read_text().split("## Ten drawer scripts as checks")[1]
    assert len(examples_in(drawer)) >= 10
    assert README


def examples_in(text: str) -> list[str]:
    return [b for b in re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S) if b.startswith("checks:")]


@pytest.mark.parametrize("block", DOC + README, ids=[f"example-{i}" for i in range(len(DOC + README))])
def test_each_example_validates(block: str) -> None:
    checks = parse_checks(yaml.safe_load(block)["checks"], "docs")  # raises CheckError naming the problem
    assert checks and all(access_level(c.action) in READ_ONLY for c in checks)
