"""`aws-collector plugins`: what a user sees of installed and broken plugins."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector_core import PLUGIN_API_VERSION

pytestmark = pytest.mark.slow  # each test starts the CLI in a fresh interpreter

BUILT_INS = {"unattached_ebs", "iam_key_age", "open_security_groups"}
CHANNELS = {"stdout", "slack", "email", "securityhub", "html", "webhook", "teams", "s3"}


def aws_collector(*args: str, pythonpath: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh interpreter, as a user would, with no plugin variables set."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}
    if pythonpath:
        environ["PYTHONPATH"] = str(pythonpath)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "collector_core.cli", *args],
        capture_output=True, text=True, env=environ, timeout=120,
    )


def installed(where: Path, name: str, version: str, source: str) -> Path:
    """A directory holding an installed distribution aws-collector-<name> with plugin <name>."""
    info = where / f"aws_collector_{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: aws-collector-{name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[aws_collector.plugins]\n{name} = aws_collector_{name}\n")
    (where / f"aws_collector_{name}.py").write_text(source)
    return where


@pytest.fixture
def broken_plugin(tmp_path: Path) -> Path:
    """An installed distribution whose plugin fails to import."""
    return installed(tmp_path, "broken", "2.0", "import a_module_that_is_not_installed\n")


@pytest.fixture
def future_plugin(tmp_path: Path) -> Path:
    """An installed distribution built for a plugin API to come."""
    return installed(
        tmp_path, "future", "3.0",
        'from collector_core import Collector, Scope, hookimpl\n'
        'PLUGIN_API = ">=9.0"\n'
        '@hookimpl\n'
        'def register_collectors(register):\n'
        '    register(Collector(name="future_things", scope=Scope.GLOBAL, summary="s", collect=list))\n',
    )


def test_json_lists_built_in_plugins_and_their_collectors() -> None:
    result = aws_collector("plugins", "--json")

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert set(listing) == {"plugins", "failed"}
    assert listing["failed"] == []
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert set(plugins) >= BUILT_INS
    for name in BUILT_INS:
        plugin = plugins[name]
        assert set(plugin) == {"name", "distribution", "version", "module", "collectors", "channels"}
        assert plugin["distribution"] == "aws-collector"
        assert plugin["module"] == f"aws_collector_plugins.{name}"
        [collector] = plugin["collectors"]
        assert set(collector) == {"name", "scope", "summary", "permissions", "access_levels", "options"}
        assert collector["name"] == name and collector["permissions"]
    assert plugins["iam_key_age"]["collectors"][0]["scope"] == "global"
    assert plugins["unattached_ebs"]["collectors"][0]["scope"] == "regional"
    # The built-in channels come in through the same door: one plugin each, of aws-collector's distribution.
    assert set(plugins) >= CHANNELS
    for name in CHANNELS:
        plugin = plugins[name]
        assert plugin["distribution"] == "aws-collector" and plugin["module"] == f"collector_core.notify.{name}"
        [channel] = plugin["channels"]
        assert channel["name"] == name and plugin["collectors"] == []
        assert set(channel) == {"name", "summary", "permissions", "links", "fallback"}
    assert plugins["securityhub"]["channels"][0]["permissions"] == ["securityhub:BatchImportFindings",
                                                                    "securityhub:BatchUpdateFindings"]
    assert plugins["html"]["channels"][0]["links"] and plugins["stdout"]["channels"][0]["fallback"]


def test_text_lists_plugin_and_collector_names() -> None:
    result = aws_collector("plugins")

    assert result.returncode == 0, result.stderr
    for name in BUILT_INS:
        assert name in result.stdout
    assert "aws-collector" in result.stdout
    assert "ec2:DescribeVolumes" in result.stdout
    assert "FAILED" not in result.stdout


def test_broken_plugin_shows_under_failed_while_built_ins_still_load(broken_plugin: Path) -> None:
    result = aws_collector("plugins", "--json", pythonpath=broken_plugin)

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    [failed] = listing["failed"]
    assert failed["name"] == "broken"
    assert (failed["distribution"], failed["version"]) == ("aws-collector-broken", "2.0")
    assert failed["stage"] == "load"
    assert "ModuleNotFoundError" in failed["error"] and "a_module_that_is_not_installed" in failed["error"]
    assert {p["name"] for p in listing["plugins"]} >= BUILT_INS

    text = aws_collector("plugins", pythonpath=broken_plugin)
    assert "broken" in text.stdout and "aws-collector-broken" in text.stdout
    assert all(name in text.stdout for name in BUILT_INS)


def test_strict_mode_turns_a_broken_plugin_into_a_usage_error(broken_plugin: Path) -> None:
    result = aws_collector("plugins", pythonpath=broken_plugin, AWS_COLLECTOR_STRICT_PLUGINS="1")

    assert result.returncode == 2
    assert "broken" in result.stderr and "aws-collector-broken" in result.stderr


def test_plugin_built_for_another_plugin_api_is_listed_as_failed_with_both_versions(future_plugin: Path) -> None:
    result = aws_collector("plugins", "--json", pythonpath=future_plugin)

    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    [failed] = listing["failed"]
    assert (failed["name"], failed["distribution"], failed["stage"]) == ("future", "aws-collector-future", "load")
    assert ">=9.0" in failed["error"] and f"plugin API {PLUGIN_API_VERSION}" in failed["error"]
    assert "future_things" not in {c["name"] for p in listing["plugins"] for c in p["collectors"]}

    text = aws_collector("plugins", pythonpath=future_plugin).stdout
    assert "FAILED future (aws-collector-future 3.0): could not load: built for plugin API >=9.0" in text
    assert f"provides plugin API {PLUGIN_API_VERSION}" in text


DROPBOX = '''
import json, pathlib
from collector_core import Channel, hookimpl

PLUGIN_API = ">=1.2,<2"


def send(report, settings, ctx):
    if settings.get("refuse"):
        raise RuntimeError("the drop box is full")
    path = pathlib.Path(settings["directory"]) / "report.json"
    path.write_text(json.dumps({"headline": report.headline(), "where": ctx.where, "link": ctx.link,
                                "plugins": [s.plugin for s in report.sections],
                                "collectors": sorted(ctx.collectors)}))


@hookimpl
def register_channels(register):
    register(Channel(
        name="dropbox", summary="the report as a JSON file in a directory", send=send,
        schema={"type": "object", "additionalProperties": False, "required": ["directory"],
                "properties": {"directory": {"type": "string", "expected": "a directory"},
                               "refuse": {"type": "boolean", "expected": "true or false"}},
                "expected": "a mapping with directory"},
        permissions=["sns:Publish"]))
'''


def test_a_third_party_channel_is_listed_validated_and_sent_to(server_env: str, tmp_path: Path) -> None:
    from collector_core.aws.clients import Clients
    from collector_core.store import Store

    site = tmp_path / "site"
    site.mkdir()
    installed(site, "dropbox", "1.4", DROPBOX)
    drop = tmp_path / "drop"
    drop.mkdir()
    Store.open("third-party", Clients()).ensure_table()
    config = tmp_path / "config.yaml"
    config.write_text(f"table: third-party\naccounts: [{{id: '111111111111'}}]\n"
                      f"notify: {{stdout: true, dropbox: {{directory: '{drop}'}}}}\n")

    listing = json.loads(aws_collector("plugins", "--json", pythonpath=site).stdout)
    [plugin] = [p for p in listing["plugins"] if p["name"] == "dropbox"]
    assert (plugin["distribution"], plugin["version"]) == ("aws-collector-dropbox", "1.4")
    assert plugin["channels"] == [{"name": "dropbox", "summary": "the report as a JSON file in a directory",
                                   "permissions": ["sns:Publish"], "links": False, "fallback": False}]
    assert "dropbox" in aws_collector("plugins", pythonpath=site).stdout

    sent = aws_collector("notify", "--config", str(config), pythonpath=site)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("aws-collector: 0 open findings")  # the built-in stdout went too
    received = json.loads((drop / "report.json").read_text())
    assert received["where"] == "notify.dropbox" and received["headline"].startswith("aws-collector: 0 open")
    assert {"unattached_ebs", "iam_key_age", "open_security_groups"} <= set(received["collectors"])

    config.write_text(config.read_text().replace("'}}", "', refuse: true}}"))
    refused = aws_collector("notify", "--config", str(config), pythonpath=site)
    assert refused.returncode == 1
    assert "the report did not reach dropbox: RuntimeError: the drop box is full" in refused.stderr
    assert refused.stdout.startswith("aws-collector: 0 open findings")  # the others still sent

    config.write_text(config.read_text().replace("refuse: true", "retries: 3"))
    invalid = aws_collector("notify", "--config", str(config), pythonpath=site)
    assert invalid.returncode == 2
    assert f"{config}: notify.dropbox.retries: unknown key 'retries'; expected one of: directory, refuse" \
        in invalid.stderr
    without = aws_collector("notify", "--config", str(config))  # the plugin is not installed
    assert without.returncode == 2 and "notify.dropbox: unknown key 'dropbox'" in without.stderr
