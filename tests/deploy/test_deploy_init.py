"""`aws-collector deploy-init`: a deploy project a team keeps in its own repository, deploying the
released package with its own plugins, with no fork of aws-collector; a plugin published only as
an sdist is built into a wheel before packaging and lands in the zip with its entry point."""
from __future__ import annotations

import configparser
import glob
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from collector_core.cli import main
from collector_core.cli.deploy_init import DATA_DIR, RELEASED, TEMPLATE
from collector_core.config.load import load_config
from collector_core.plugins import load_plugins

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "collector_core" / "cli" / TEMPLATE


def test_deploy_init_writes_a_project_deploying_the_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "our-collector"

    assert main(["deploy-init", str(project)]) == 0

    assert (project / "serverless.yml").read_text() == (ROOT / "serverless.yml").read_text()
    requirements = (project / "deploy" / "requirements.txt").read_text().splitlines()
    from collector_core import __version__

    assert f"aws-collector=={__version__}" in requirements and "-r plugins.txt" in requirements
    pins = [line for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines() if "==" in line]
    assert pins and all(pin in requirements for pin in pins)  # the versions the release was tested with
    assert (project / "deploy" / ".npmrc").exists() and (project / ".gitignore").exists()
    skeleton = load_config(str(project / "config.yaml"), load_plugins())  # a config skeleton that validates
    assert skeleton.organization.enabled and skeleton.notify.get("email") is not None

    # Once the team has made it theirs, a second deploy-init refuses; --force renews the rest.
    (project / "config.yaml").write_text("accounts: [{id: '111111111111'}]\n")
    (project / "deploy" / "plugins.txt").write_text("aws-collector-unused-eips==1.2.0\n")
    (project / "serverless.yml").write_text("# edited\n")
    assert main(["deploy-init", str(project)]) == 2
    assert "exists: a deploy project is there already" in capsys.readouterr().err
    assert main(["deploy-init", str(project), "--force", "--package", "aws-collector==9.9.9"]) == 0
    assert (project / "config.yaml").read_text() == "accounts: [{id: '111111111111'}]\n"
    assert (project / "deploy" / "plugins.txt").read_text() == "aws-collector-unused-eips==1.2.0\n"
    assert (project / "serverless.yml").read_text() == (ROOT / "serverless.yml").read_text()
    assert "aws-collector==9.9.9" in (project / "deploy" / "requirements.txt").read_text()


@pytest.mark.slow
def test_a_plugin_published_only_as_an_sdist_is_packaged_with_its_entry_point(
        osls: Path, tool_env: object, tmp_path: Path) -> None:
    env = tool_env()  # type: ignore[operator]
    for key in [k for k in env if k.startswith("AWS_")]:
        del env[key]  # packaging needs no account
    # The release, as pip would fetch it: a wheel of this checkout.
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, env=env, timeout=300)
    [release] = dist.glob("aws_collector-*.whl")
    # A community plugin whose author published an sdist and no wheel.
    assert main(["new-plugin", "stale-snapshots", "--dir", str(tmp_path / "plugin")]) == 0
    sdists = tmp_path / "project" / "sdists"
    build_sdist = f"from setuptools import build_meta; build_meta.build_sdist({str(sdists)!r})"
    subprocess.run([sys.executable, "-c", build_sdist], cwd=tmp_path / "plugin", check=True, env=env, timeout=300,
                   capture_output=True)
    [sdist] = sdists.glob("*.tar.gz")

    project = tmp_path / "project"
    assert main(["deploy-init", str(project), "--package", str(release)]) == 0
    with (project / "deploy" / "plugins.txt").open("a") as plugins:
        plugins.write("--find-links ./sdists\naws-collector-stale-snapshots==0.1.0\n")
    (project / "deploy" / "node_modules").symlink_to(ROOT / "deploy" / "node_modules")  # npm ci, installed once
    proc = subprocess.run([str(osls), "package", "--stage", "ci", "--region", "us-east-1"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"

    assert [w.name for w in (project / "deploy" / "wheels").glob("*.whl")] == [
        "aws_collector_stale_snapshots-0.1.0-py3-none-any.whl"], f"built from {sdist.name}"
    with zipfile.ZipFile(project / ".serverless" / "aws-collector.zip") as zf:
        names = zf.namelist()
        [entry_points] = [n for n in names if re.fullmatch(
            r"aws_collector_stale_snapshots-0\.1\.0\.dist-info/entry_points\.txt", n)]
        parsed = configparser.ConfigParser()
        parsed.read_string(zf.read(entry_points).decode())
        assert dict(parsed["aws_collector.plugins"]) == {"stale_snapshots": "aws_collector_stale_snapshots"}
        assert "aws_collector_stale_snapshots/__init__.py" in names
        assert any(re.fullmatch(r"aws_collector-[^/]+\.dist-info/entry_points\.txt", n) for n in names)
        assert "collector_core/handlers.py" in names
    stack = yaml.safe_load((project / ".serverless" / "cloudformation-template-update-stack.json").read_text())
    assert "DirectorLambdaFunction" in stack["Resources"] and os.path.isdir(project / "deploy" / "wheels")


def test_setup_cfg_installs_every_released_file_and_packages_the_projects_own() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    data = cfg["options.data_files"]
    installed = {f"{folder.removeprefix(DATA_DIR).strip('/')}/{Path(name.strip()).name}".lstrip("/")
                 for folder, names in data.items() for name in names.splitlines() if name.strip()}
    assert installed == set(RELEASED)
    patterns = [p.strip() for p in cfg["options.package_data"]["collector_core.cli"].splitlines() if p.strip()]
    shipped = {path for pattern in patterns for path in glob.glob(pattern, root_dir=ROOT / "collector_core" / "cli")}
    present = {str(p.relative_to(PACKAGED.parent)) for p in PACKAGED.rglob("*") if p.is_file()}
    assert shipped == present and len(present) == 3
