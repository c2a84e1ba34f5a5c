"""The plugin author's guide covers every hook, every hook parameter and every Collector field."""
from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from collector_core.collector import Collector
from collector_core.plugins import get_plugin_manager

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(name for name in vars(get_plugin_manager().hook) if not name.startswith("_"))


def section(heading: str) -> str:
    """The text under the first heading that starts with ``heading``, up to the next heading."""
    text = GUIDE.read_text()
    match = re.search(rf"^(#+) {re.escape(heading)}.*?$(.*?)(?=^#{{1,6}} |\Z)", text, re.M | re.S)
    assert match, f"docs/plugins.md has no heading {heading!r}"
    return match.group(2)


def test_there_are_hooks_to_document() -> None:
    assert "register_collectors" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_parameters(hook: str) -> None:
    spec = getattr(get_plugin_manager().hook, hook).spec
    params = list(inspect.signature(spec.function).parameters)
    body = section(f"{hook}({', '.join(params)})")
    for param in params:
        assert f"`{param}`" in body, f"parameter {param!r} of hook {hook!r} is not described"
    first_line = (inspect.getdoc(spec.function) or "").splitlines()[0]
    assert first_line in body, f"the hookspec docstring of {hook!r} is not in the guide"


def test_every_collector_field_is_documented() -> None:
    body = section("Collector")
    missing = [f.name for f in dataclasses.fields(Collector) if f"`{f.name}`" not in body]
    assert not missing, f"Collector fields missing from docs/plugins.md: {missing}"
