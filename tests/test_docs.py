"""The plugin author's guide covers every hook, every hook parameter and every Collector field."""
from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest
from packaging.version import Version

from collector_core import PLUGIN_API_VERSION
from collector_core.channel import Channel, ChannelContext
from collector_core.collector import Collector
from collector_core.plugins import ENTRY_POINT_GROUP, PLUGIN_API_ATTRIBUTE, get_plugin_manager

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
    doc = inspect.getdoc(spec.function) or ""
    first_line = doc.splitlines()[0]
    assert first_line in body, f"the hookspec docstring of {hook!r} is not in the guide"
    added = re.search(r"^\.\. versionadded:: (\S+) \(plugin API\)$", doc, re.M)
    assert added, f"the hookspec of {hook!r} does not say in which plugin API version it was added"
    assert Version(added.group(1)) <= Version(PLUGIN_API_VERSION)
    assert f"*Added in plugin API {added.group(1)}.*" in body


def test_the_guide_explains_the_plugin_api_version_and_how_to_declare_a_range() -> None:
    body = section("Plugin API versions")
    assert f"plugin API {PLUGIN_API_VERSION})" in body  # the `--version` line
    assert f"{PLUGIN_API_ATTRIBUTE} = " in body
    assert f"| {PLUGIN_API_VERSION} |" in body, "the version history has no row for the current plugin API"


def test_every_collector_field_is_documented() -> None:
    body = section("Collector")
    missing = [f.name for f in dataclasses.fields(Collector) if f"`{f.name}`" not in body]
    assert not missing, f"Collector fields missing from docs/plugins.md: {missing}"


def test_every_channel_field_and_context_attribute_is_documented() -> None:
    fields = section("Channel")
    missing = [f.name for f in dataclasses.fields(Channel) if f"`{f.name}`" not in fields]
    assert not missing, f"Channel fields missing from docs/plugins.md: {missing}"
    context = section("The channel context: `ctx`")
    public = sorted({n for n in (*ChannelContext.__slots__, *vars(ChannelContext)) if not n.startswith("_")})
    missing = [n for n in public if f"`ctx.{n}" not in context]
    assert not missing, f"ChannelContext attributes missing from docs/plugins.md: {missing}"


def test_the_guide_says_how_to_publish_a_plugin() -> None:
    body = " ".join(section("Publish your plugin").split())  # as it reads, whatever the line breaks
    for needed in ("`aws-collector-<name>`", f"`{ENTRY_POINT_GROUP}`", "`permissions`", "List, Describe and Get",
                   "`mocked_aws`", "`collector_context`", "`run_collector`", f"`{PLUGIN_API_ATTRIBUTE}`",
                   "semantic versioning", "twine check --strict"):
        assert needed in body, f"'Publish your plugin' does not mention {needed}"


def test_every_part_of_the_testing_kit_is_documented() -> None:
    import collector_core.testing as kit

    body = section("Testing your plugin")
    # Fixtures, functions and classes the kit itself defines (not what it imports).
    parts = [n for n, v in vars(kit).items() if not n.startswith("_") and getattr(v, "__module__", "") == kit.__name__]
    assert {"mocked_aws", "collector_context", "register_plugin", "api_calls", "run_collector"} <= set(parts)
    missing = [n for n in parts if f"`{n}" not in body]
    assert not missing, f"testing kit parts missing from docs/plugins.md's testing section: {missing}"
