"""What the sdist and wheel carry, read from setup.cfg: every package, one version."""
from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def listed(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_every_package_of_the_runtime_is_shipped() -> None:
    packages = listed(setup_cfg()["options"]["packages"])

    found = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "collector_core").rglob("__init__.py"))
    assert sorted(p for p in packages if p.startswith("collector_core")) == found
    assert "aws_collector_plugins" in packages


def test_the_version_is_read_from_the_package() -> None:
    assert setup_cfg()["metadata"]["version"] == "attr: collector_core.__version__"
