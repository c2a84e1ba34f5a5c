"""What the sdist and wheel carry, read from setup.cfg: every package, the plugin template, one version.

tox -e package builds them and installs the wheel outside the source tree (tests/package/); these
are the fast checks of the same promises.
"""
from __future__ import annotations

import configparser
import glob
from pathlib import Path

from collector_core.cli.new_plugin import template_files

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


def test_the_wheel_carries_every_file_of_the_plugin_templates() -> None:
    # new-plugin renders what it finds: from a checkout, every file of plugins/template; from the
    # wheel, what package_data shipped. The two must be the same files.
    patterns = listed(setup_cfg()["options.package_data"]["aws_collector_plugins"])
    shipped = {path for pattern in patterns for path in glob.glob(pattern, root_dir=ROOT / "plugins")}

    rendered = {f"{template}/{relative}" for template in ("template", "channel_template", "checks_template")
                for relative, _ in template_files(ROOT / "plugins" / template)}
    assert {"template/tests/test_plugin.py", "channel_template/tests/test_channel.py",
            "checks_template/aws_collector_checks_example/checks.yaml"} <= rendered
    assert {p for p in shipped if (ROOT / "plugins" / p).is_file()} == rendered


def test_the_version_is_read_from_the_package() -> None:
    assert setup_cfg()["metadata"]["version"] == "attr: collector_core.__version__"


def test_the_wheel_carries_the_html_reports_stylesheet_and_script() -> None:
    # page.py inlines them into every page: a wheel without them would fail at the first report.
    patterns = listed(setup_cfg()["options.package_data"]["collector_core.notify"])
    shipped = {path for pattern in patterns for path in glob.glob(pattern, root_dir=ROOT / "collector_core" / "notify")}

    assert shipped == {"assets/report.css", "assets/report.js", "schemas/webhook-report-v1.json"}
