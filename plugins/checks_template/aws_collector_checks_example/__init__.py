"""aws-collector checks, written as YAML in checks.yaml next to this file: no collector code.

This is aws-collector's checks template (`aws-collector new-plugin NAME --checks` writes a copy
under your names). Edit checks.yaml (docs/checks.md in aws-collector describes the format); this
module only tells aws-collector where the file is.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collector_core import hookimpl

#: The aws-collector plugin API this plugin is built for: 1.2 (register_checks) and any later 1.x.
PLUGIN_API = ">=1.2,<2"
#: The checks this package ships.
CHECKS = Path(__file__).with_name("checks.yaml")


@hookimpl
def register_checks(register: Callable[[Path], None]) -> None:
    """Hand aws-collector the file of checks; it validates every check when the plugin loads."""
    register(CHECKS)
