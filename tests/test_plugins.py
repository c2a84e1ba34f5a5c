"""Plugin discovery, with throwaway distributions written to a temporary sys.path entry."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from collector_core import PLUGIN_API_VERSION, Collector, Scope, __version__, hookimpl
from collector_core.plugins import (
    ALLOW_ENV,
    BLOCK_ENV,
    STRICT_ENV,
    PluginError,
    PluginSpec,
    find_plugins,
    load_plugins,
)
from collector_core.testing import run_collector

BUILT_INS = {"unattached_ebs", "iam_key_age", "open_security_groups"}

GOOD = """
    from collector_core import Collector, Finding, Scope, hookimpl

    def collect(ctx):
        yield Finding(resource_id="r-1", summary="one thing", severity="low")

    @hookimpl
    def register_collectors(register):
        register(Collector(name="{collector}", scope=Scope.REGIONAL, summary="good things",
                           permissions=["ec2:DescribeThings"], options={{"limit": 3}}, collect=collect))
"""

MakeDistribution = Callable[..., Path]


def write_distribution(
    root: Path, name: str, version: str, plugins: dict[str, str], modules: dict[str, str]
) -> Path:
    """An installed distribution as pip leaves it: ``<name>-<version>.dist-info`` and modules."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    entries = "".join(f"{plugin} = {module}\n" for plugin, module in plugins.items())
    (info / "entry_points.txt").write_text(f"[aws_collector.plugins]\n{entries}")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture(autouse=True)
def no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ALLOW_ENV, BLOCK_ENV, STRICT_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeDistribution]:
    """Install a throwaway distribution on sys.path for this test: one plugin, one module."""
    modules: list[str] = []

    def make(name: str, source: str, plugin: str | None = None, version: str = "1.0",
             where: Path | None = None) -> Path:
        module = name.replace("-", "_")
        modules.append(module)
        root = where or tmp_path / name
        write_distribution(root, name, version, {plugin or module: module}, {module: source})
        monkeypatch.syspath_prepend(str(root))
        return root

    yield make
    for module in modules:  # the next test may write a module of the same name
        sys.modules.pop(module, None)


def good(collector: str, plugin_api: str | None = None) -> str:
    """A plugin module registering one collector, declaring ``PLUGIN_API`` if given."""
    declaration = f"\n    PLUGIN_API = {plugin_api!r}\n" if plugin_api is not None else ""
    return GOOD.format(collector=collector) + declaration


def test_community_plugin_is_found_with_its_distribution_and_version(distribution: MakeDistribution) -> None:
    distribution("aws-collector-good", good("good_things"), plugin="good", version="1.2.3")

    registry = load_plugins()

    assert registry.collectors["good_things"].plugin == PluginSpec(
        name="good", distribution="aws-collector-good", version="1.2.3", value="aws_collector_good"
    )
    assert BUILT_INS | {"good_things"} <= set(registry.names())
    listed = next(p for p in registry.describe()["plugins"] if p["name"] == "good")
    assert listed["collectors"] == [
        {"name": "good_things", "scope": "regional", "summary": "good things",
         "permissions": ["ec2:DescribeThings"], "options": {"limit": 3}}
    ]
    assert registry.failures == []


def test_plugin_that_fails_to_import_is_reported_and_the_others_load(distribution: MakeDistribution) -> None:
    distribution("aws-collector-broken", "raise ImportError('no module named nowhere')", plugin="broken")
    distribution("aws-collector-good", good("good_things"))

    registry = load_plugins()

    [failure] = registry.failures
    assert (failure.plugin.name, failure.plugin.distribution, failure.stage) == (
        "broken", "aws-collector-broken", "load"
    )
    assert failure.error == "ImportError: no module named nowhere"
    assert BUILT_INS | {"good_things"} <= set(registry.names())
    assert "broken" not in {p.name for p in registry.plugins}
    assert registry.describe()["failed"] == [
        {"name": "broken", "distribution": "aws-collector-broken", "version": "1.0", "stage": "load",
         "error": "ImportError: no module named nowhere"}
    ]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_strict_mode_makes_a_broken_plugin_fatal(
    how: str, distribution: MakeDistribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution("aws-collector-broken", "raise RuntimeError('boom')", plugin="broken")
    if how == "environment":
        monkeypatch.setenv(STRICT_ENV, "1")

    expected = r"'broken' \(distribution aws-collector-broken\) failed to load: RuntimeError: boom"
    with pytest.raises(PluginError, match=expected):
        load_plugins(strict=True if how == "argument" else None)


def test_strict_mode_off_when_the_variable_is_zero(
    distribution: MakeDistribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution("aws-collector-broken", "raise RuntimeError('boom')", plugin="broken")
    monkeypatch.setenv(STRICT_ENV, "0")

    assert [f.plugin.name for f in load_plugins().failures] == ["broken"]


def test_plugin_whose_register_collectors_raises_is_skipped(distribution: MakeDistribution) -> None:
    distribution("aws-collector-raises", """
        from collector_core import Collector, Scope, hookimpl

        @hookimpl
        def register_collectors(register):
            register(Collector(name="first", scope=Scope.GLOBAL, summary="s", collect=lambda ctx: []))
            raise KeyError("no such setting")
    """, plugin="raises")

    registry = load_plugins()

    [failure] = registry.failures
    assert (failure.plugin.name, failure.stage) == ("raises", "register")
    assert failure.error == "KeyError: 'no such setting'"
    assert "first" not in registry  # nothing of a half-registered plugin is kept
    assert set(registry.names()) >= BUILT_INS


@pytest.mark.parametrize("marker", ["wrapper=True", "hookwrapper=True"])
def test_a_wrapper_implementation_is_a_named_failure(marker: str, distribution: MakeDistribution) -> None:
    distribution("aws-collector-wrapper", f"""
        from collector_core import Collector, Scope, hookimpl

        @hookimpl({marker})
        def register_collectors(register):
            register(Collector(name="wrapped", scope=Scope.GLOBAL, summary="s", collect=lambda ctx: []))
            yield
    """, plugin="wrapper")

    registry = load_plugins()

    [failure] = registry.failures
    assert (failure.plugin.name, failure.stage) == ("wrapper", "register")
    assert "wrapper implementation" in failure.error
    assert "wrapped" not in registry
    assert set(registry.names()) >= BUILT_INS


def test_hooks_are_called_through_pluggy_by_argnames(distribution: MakeDistribution) -> None:
    # An implementation that names none of the hook's arguments is called with none, as pluggy does.
    distribution("aws-collector-noargs", """
        from collector_core import hookimpl

        CALLED = []

        @hookimpl
        def register_collectors():
            CALLED.append(True)
    """, plugin="noargs")

    registry = load_plugins()

    assert not registry.failures
    assert "noargs" in [p.name for p in registry.plugins]
    assert sys.modules["aws_collector_noargs"].CALLED == [True]


@pytest.mark.parametrize(
    ("registered", "error"),
    [
        ("object()", "not a Collector"),
        ("Collector(name='has space', scope=Scope.REGIONAL, summary='s', collect=print)", "letters, digits"),
        ("Collector(name='x', scope='regional', summary='s', collect=print)", "has no Scope"),
        ("Collector(name='x', scope=Scope.REGIONAL, summary='s', collect=None)", "not callable"),
        ("Collector(name='x', scope=Scope.REGIONAL, summary='s', collect=print, options={'enabled': False})",
         "option 'enabled'"),
        ("Collector(name='x', scope=Scope.REGIONAL, summary='s', collect=print, resource_type=None)",
         "resource_type must be a string"),
    ],
)
def test_an_invalid_collector_is_reported(
    registered: str, error: str, distribution: MakeDistribution
) -> None:
    distribution("aws-collector-invalid", f"""
        from collector_core import Collector, Scope, hookimpl

        @hookimpl
        def register_collectors(register):
            register({registered})
    """, plugin="invalid")

    [failure] = load_plugins().failures

    assert failure.plugin.name == "invalid" and failure.stage == "register"
    assert error in failure.error


def test_misspelled_hook_name_is_reported(distribution: MakeDistribution) -> None:
    distribution("aws-collector-typo", """
        from collector_core import hookimpl

        @hookimpl
        def register_collector(register):
            pass
    """, plugin="typo")

    registry = load_plugins()

    [failure] = registry.failures
    assert (failure.plugin.name, failure.plugin.distribution) == ("typo", "aws-collector-typo")
    assert failure.stage == "register"
    assert "register_collector" in failure.error
    assert set(registry.names()) >= BUILT_INS


def test_plugin_built_for_another_plugin_api_is_reported_and_never_registered(
    distribution: MakeDistribution,
) -> None:
    distribution("aws-collector-future", good("future_things", plugin_api=">=2.0,<3"), plugin="future",
                 version="3.1")

    registry = load_plugins()

    [failure] = registry.failures
    assert (failure.plugin.name, failure.plugin.distribution, failure.stage) == (
        "future", "aws-collector-future", "load"
    )
    assert failure.error == (
        f"built for plugin API >=2.0,<3 (PLUGIN_API), but aws-collector {__version__} "
        f"provides plugin API {PLUGIN_API_VERSION}"
    )
    assert "future_things" not in registry
    assert "future" not in {p.name for p in registry.plugins}
    assert set(registry.names()) >= BUILT_INS


def test_plugin_whose_range_includes_this_plugin_api_loads(distribution: MakeDistribution) -> None:
    distribution("aws-collector-current", good("current_things", plugin_api=">=1.0,<2"), plugin="current")

    registry = load_plugins()

    assert registry.failures == []
    assert registry.collectors["current_things"].plugin.name == "current"


@pytest.mark.parametrize("declared", ["1.0", "one or later"])
def test_a_plugin_api_that_is_not_a_range_is_reported(declared: str, distribution: MakeDistribution) -> None:
    distribution("aws-collector-vague", good("vague_things", plugin_api=declared), plugin="vague")

    registry = load_plugins()

    [failure] = registry.failures
    assert failure.stage == "load"
    assert failure.error == f"PLUGIN_API = {declared!r} is not a version range such as '>=1.0,<2'"
    assert "vague_things" not in registry


def test_an_incompatible_plugin_api_is_fatal_in_strict_mode(distribution: MakeDistribution) -> None:
    distribution("aws-collector-future", good("future_things", plugin_api=">=2"), plugin="future")

    with pytest.raises(PluginError, match=r"'future' .* failed to load: built for plugin API >=2 "):
        load_plugins(strict=True)


def test_duplicate_collector_names_stop_start_up_naming_both_distributions(
    distribution: MakeDistribution,
) -> None:
    distribution("aws-collector-one", good("same_name"), plugin="one")
    distribution("aws-collector-two", good("same_name"), plugin="two")

    with pytest.raises(PluginError, match="'same_name' is registered twice") as raised:
        load_plugins()

    assert "aws-collector-one" in str(raised.value) and "aws-collector-two" in str(raised.value)


def test_a_community_plugin_cannot_take_a_built_in_name(distribution: MakeDistribution) -> None:
    distribution("aws-collector-clash", good("unattached_ebs"), plugin="clash")

    with pytest.raises(PluginError, match="'unattached_ebs' is registered twice") as raised:
        load_plugins()

    assert "(distribution aws-collector 0" in str(raised.value)
    assert "(distribution aws-collector-clash 1.0)" in str(raised.value)


def test_same_distribution_twice_on_sys_path_is_one_plugin(
    tmp_path: Path, distribution: MakeDistribution
) -> None:
    distribution("aws-collector-good", good("good_things"), plugin="good", where=tmp_path / "a")
    distribution("aws-collector-good", good("good_things"), plugin="good", where=tmp_path / "b")

    assert [s.name for s in find_plugins()].count("good") == 1
    registry = load_plugins()  # a second copy would be a duplicate collector name
    assert [p.name for p in registry.plugins].count("good") == 1


@pytest.mark.parametrize("allowed", ["good", "aws-collector-good"])
def test_allow_list_loads_only_the_named_plugins(
    allowed: str, distribution: MakeDistribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribution("aws-collector-good", good("good_things"), plugin="good")
    monkeypatch.setenv(ALLOW_ENV, f"{allowed}, iam_key_age")

    assert load_plugins().names() == ["good_things", "iam_key_age"]


def test_block_list_leaves_out_plugins_by_name_or_distribution(
    distribution: MakeDistribution, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever else this environment has installed (the catalog, say) is blocked too.
    others = sorted({s.distribution for s in find_plugins({}) if s.distribution != "aws-collector"})
    distribution("aws-collector-good", good("good_things"), plugin="good")

    monkeypatch.setenv(BLOCK_ENV, ",".join(["aws-collector", *others]))
    assert load_plugins().names() == ["good_things"]
    monkeypatch.setenv(BLOCK_ENV, ",".join(["good", "open_security_groups", *others]))
    assert load_plugins().names() == ["iam_key_age", "unattached_ebs"]


def test_built_ins_are_listed_with_distribution_aws_collector() -> None:
    specs = {s.name: s for s in find_plugins()}

    assert set(specs) >= BUILT_INS
    version = metadata.version("aws-collector")
    for name in BUILT_INS:
        assert (specs[name].distribution, specs[name].version) == ("aws-collector", version)
        assert specs[name].value == f"aws_collector_plugins.{name}"


@pytest.mark.slow
def test_nothing_is_loaded_at_import_time() -> None:
    code = (
        "import json, sys, collector_core, collector_core.plugins, collector_core.testing; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = json.loads(out)

    assert [m for m in modules if m.startswith("aws_collector_plugins")] == []
    # The testing kit is a pytest plugin in every run: it must not pull in AWS libraries.
    assert [m for m in modules if m.split(".")[0] in ("boto3", "botocore", "moto")] == []


# The testing kit's plugin fixtures.

def test_register_plugin_adds_a_plugin_to_the_installed_ones(
    register_plugin: Any, collector_context: Any, tmp_path: Path, distribution: MakeDistribution
) -> None:
    distribution("kit-plugin", good("kit_things"))
    import kit_plugin

    registry = register_plugin(kit_plugin)
    ctx = collector_context("kit_things", options={"limit": 5})

    assert BUILT_INS | {"kit_things"} <= set(registry.names())
    assert (ctx.options, ctx.region, ctx.account.id) == ({"limit": 5}, "us-east-1", "123456789012")
    assert [f.resource_id for f in run_collector(registry["kit_things"], ctx)] == ["r-1"]


def test_register_plugin_fails_when_the_plugin_does_not_register(register_plugin: Any) -> None:
    class Typo:
        @hookimpl
        def register_collector(self, register: Any) -> None:
            pass

    with pytest.raises(PluginError, match="register_collector"):
        register_plugin(Typo(), name="typo")


def test_register_plugin_refuses_a_plugin_built_for_another_plugin_api(register_plugin: Any) -> None:
    class Future:
        PLUGIN_API = ">=2.0"

        @hookimpl
        def register_collectors(self, register: Any) -> None:
            register(Collector(name="future", scope=Scope.GLOBAL, summary="s", collect=lambda ctx: []))

    with pytest.raises(PluginError, match=f"failed to load: built for plugin API >=2.0 .* {PLUGIN_API_VERSION}$"):
        register_plugin(Future(), name="future")


def test_collector_context_refuses_unknown_options(collector_context: Any) -> None:
    collector = Collector(
        name="c", scope=Scope.REGIONAL, summary="s", collect=lambda ctx: [], options={"limit": 1}
    )

    with pytest.raises(ValueError, match=r"no option\(s\) \['limt'\]"):
        collector_context(collector, options={"limt": 2})


def test_collector_context_of_a_global_collector(collector_context: Any) -> None:
    collector = Collector(name="g", scope=Scope.GLOBAL, summary="s", collect=lambda ctx: [])

    ctx = collector_context(collector)

    assert ctx.region == "global"
    assert ctx.client("ec2").meta.region_name == "us-east-1"  # a global collector's clients: the home region


def test_run_collector_fails_on_a_finding_the_runtime_would_drop(collector_context: Any) -> None:
    collector = Collector(name="bad", scope=Scope.REGIONAL, summary="s",
                          collect=lambda ctx: [{"resource_id": "r", "summary": "s", "severity": "urgent"}])

    with pytest.raises(AssertionError, match="'bad' yielded a bad finding: r: severity must be one of"):
        run_collector(collector, collector_context(collector))
