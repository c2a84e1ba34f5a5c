"""`aws-collector new-plugin`: a plugin author starts a package of their own in one command."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector_core.cli import main
from collector_core.cli.new_plugin import CHANNEL_TEMPLATE_NAMES, CHECKS_TEMPLATE_NAMES, TEMPLATE_NAMES

FILES = [
    "README.md",
    "aws_collector_stale_snapshots/__init__.py",
    "aws_collector_stale_snapshots/py.typed",
    "conftest.py",
    "pyproject.toml",
    "setup.cfg",
    "tests/test_plugin.py",
]


def files_in(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def new_plugin(*args: str) -> int:
    return main(["new-plugin", *args])


def test_writes_a_package_under_the_plugins_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "stale"

    assert new_plugin("stale-snapshots", "--dir", str(target)) == 0

    assert files_in(target) == FILES
    setup = configparser.ConfigParser()
    setup.read(target / "setup.cfg")
    assert setup["metadata"]["name"] == "aws-collector-stale-snapshots"
    assert setup["options"]["packages"] == "aws_collector_stale_snapshots"
    assert setup["options.entry_points"]["aws_collector.plugins"].split() == [
        "stale_snapshots", "=", "aws_collector_stale_snapshots"
    ]
    module = (target / "aws_collector_stale_snapshots" / "__init__.py").read_text()
    assert 'name="stale_snapshots"' in module
    assert 'PLUGIN_API = ">=1.0,<2"' in module
    readme = (target / "README.md").read_text()
    assert readme.startswith("# aws-collector-stale-snapshots\n")
    assert "pip install -e '.[test]'" in readme and "twine upload dist/*" in readme
    assert "aws-collector-stale-snapshots" in capsys.readouterr().out


def test_no_name_of_the_template_is_left_behind(tmp_path: Path) -> None:
    new_plugin("stale-snapshots", "--dir", str(tmp_path))

    for path in tmp_path.rglob("*"):
        text = path.relative_to(tmp_path).as_posix() + (path.read_text() if path.is_file() else "")
        for name in (TEMPLATE_NAMES.distribution, TEMPLATE_NAMES.package, TEMPLATE_NAMES.collector):
            assert name not in text, f"{path} still says {name}"


def test_writes_into_aws_collector_name_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert new_plugin("stale-snapshots") == 0

    assert files_in(tmp_path / "aws-collector-stale-snapshots") == FILES


@pytest.mark.parametrize("name", ["stale_snapshots", "aws-collector-stale-snapshots", "aws_collector_stale_snapshots"])
def test_the_same_plugin_whichever_way_its_name_is_written(name: str, tmp_path: Path) -> None:
    assert new_plugin(name, "--dir", str(tmp_path)) == 0

    assert files_in(tmp_path) == FILES


@pytest.mark.parametrize("name", ["Stale", "1stale", "stale--snapshots", "stale snapshots", "stale_", "stale-", "é"])
def test_a_name_that_is_not_a_plugin_name_is_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_plugin(name, "--dir", str(tmp_path / "out")) == 2

    assert f"{name!r} is not a plugin name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_directory_with_something_in_it_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    assert new_plugin("stale-snapshots", "--dir", str(tmp_path)) == 2

    assert f"{tmp_path} already exists and is not an empty directory" in capsys.readouterr().err
    assert files_in(tmp_path) == ["notes.txt"]


def test_an_empty_directory_is_used(tmp_path: Path) -> None:
    assert new_plugin("stale-snapshots", "--dir", str(tmp_path)) == 0

    assert files_in(tmp_path) == FILES


def test_the_name_of_an_installed_collector_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_plugin("unattached-ebs", "--dir", str(tmp_path / "out")) == 2

    assert "a collector named 'unattached_ebs' is installed already (distribution aws-collector)" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_new_plugins_own_tests_pass_out_of_the_box(tmp_path: Path) -> None:
    target = tmp_path / "aws-collector-stale-snapshots"
    new_plugin("stale-snapshots", "--dir", str(target))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}

    # Its last test installs it (offline, into a temporary directory) and checks it is discovered.
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=target, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout


CHANNEL_FILES = sorted(f.replace("stale_snapshots", "pager_duty").replace("test_plugin", "test_channel") for f in FILES)


def test_channel_writes_a_report_channel_package_under_the_plugins_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "pager"

    assert new_plugin("pager-duty", "--channel", "--dir", str(target)) == 0

    assert files_in(target) == CHANNEL_FILES
    setup = configparser.ConfigParser()
    setup.read(target / "setup.cfg")
    assert setup["metadata"]["name"] == "aws-collector-pager-duty"
    entry_point = setup["options.entry_points"]["aws_collector.plugins"].split()
    assert entry_point == ["pager_duty", "=", "aws_collector_pager_duty"]
    module = (target / "aws_collector_pager_duty" / "__init__.py").read_text()
    assert 'name="pager_duty"' in module and "def register_channels(" in module
    assert 'PLUGIN_API = ">=1.2,<2"' in module
    for path in target.rglob("*"):
        text = path.relative_to(target).as_posix() + (path.read_text() if path.is_file() else "")
        for name in (CHANNEL_TEMPLATE_NAMES.distribution, CHANNEL_TEMPLATE_NAMES.package,
                     CHANNEL_TEMPLATE_NAMES.collector):
            assert name not in text, f"{path} still says {name}"
    assert "entry point and channel pager_duty" in capsys.readouterr().out


def test_the_name_of_an_installed_channel_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_plugin("teams", "--channel", "--dir", str(tmp_path / "out")) == 2

    assert "a channel named 'teams' is installed already (distribution aws-collector)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_new_channels_own_tests_pass_out_of_the_box(tmp_path: Path) -> None:
    target = tmp_path / "aws-collector-pager-duty"
    new_plugin("pager-duty", "--channel", "--dir", str(target))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}

    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=target, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_checks_writes_a_package_of_declarative_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "eips"

    assert new_plugin("free-eips", "--checks", "--dir", str(target)) == 0

    assert files_in(target) == sorted(["README.md", "conftest.py", "pyproject.toml", "setup.cfg",
                                       "aws_collector_free_eips/__init__.py", "aws_collector_free_eips/checks.yaml",
                                       "tests/test_checks.py"])
    setup = configparser.ConfigParser()
    setup.read(target / "setup.cfg")
    entry_point = setup["options.entry_points"]["aws_collector.plugins"].split()
    assert entry_point == ["free_eips", "=", "aws_collector_free_eips"]
    assert setup["options.package_data"]["aws_collector_free_eips"].strip() == "checks.yaml"
    module = (target / "aws_collector_free_eips" / "__init__.py").read_text()
    assert "def register_checks(" in module and "def register_collectors(" not in module
    assert "  free_eips:\n" in (target / "aws_collector_free_eips" / "checks.yaml").read_text()
    for path in target.rglob("*"):
        text = path.relative_to(target).as_posix() + (path.read_text() if path.is_file() else "")
        for name in (CHECKS_TEMPLATE_NAMES.distribution, CHECKS_TEMPLATE_NAMES.package,
                     CHECKS_TEMPLATE_NAMES.collector):
            assert name not in text, f"{path} still says {name}"
    out = capsys.readouterr().out
    assert "entry point and check free_eips" in out and "checks.yaml" in out
    assert main(["checks", "validate", str(target / "aws_collector_free_eips" / "checks.yaml")]) == 0


def test_checks_and_channel_do_not_go_together(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        new_plugin("x", "--checks", "--channel", "--dir", str(tmp_path / "x"))
    assert exited.value.code == 2


@pytest.mark.slow
def test_the_new_checks_packages_own_tests_pass_out_of_the_box(tmp_path: Path) -> None:
    target = tmp_path / "aws-collector-free-eips"
    new_plugin("free-eips", "--checks", "--dir", str(target))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_COLLECTOR_")}

    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=target, env=env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
