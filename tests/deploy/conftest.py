"""Fixtures for the offline deployment checks: the pinned npm tools and one packaged service."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OSLS = DEPLOY / "node_modules" / ".bin" / "osls"


@pytest.fixture(scope="session")
def tool_env() -> Any:
    """A function giving the environment for osls and serverless-offline."""
    return tool_environment


def tool_environment(**extra: str) -> dict[str, str]:
    """The environment for osls: this Python first on PATH (pip and the offline runner use it)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix  # serverless-offline puts $VIRTUAL_ENV/bin first again
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def osls() -> Path:
    """The pinned osls, installed by `npm ci --prefix deploy` (tox's deploy env does it)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the offline deployment checks need Node.js 20+")
    if not OSLS.exists():
        pytest.skip("deploy/node_modules is missing: run `npm ci --prefix deploy` (tox -e deploy does)")
    return OSLS


@pytest.fixture(scope="session")
def packaged(osls: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`osls package` run once, with no AWS credentials: the directory of the zip and templates."""
    # A copy of the service, so a concurrent `osls package` in the work tree cannot race this one
    # over .serverless/ (serverless-python-requirements injects only into the default location).
    service = tmp_path_factory.mktemp("service")
    shutil.copytree(ROOT, service, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", ".tox", "node_modules", ".serverless", "__pycache__", "*.egg-info", "build", "dist",
        ".pytest_cache", ".mypy_cache", ".ruff_cache", "tests", "benchmarks", "docs"))
    env = tool_environment()
    for key in [k for k in env if k.startswith("AWS_")]:
        del env[key]  # prove packaging needs no account
    proc = subprocess.run(
        [str(osls), "package", "--stage", "ci", "--region", "us-east-1"],
        cwd=service, env=env, capture_output=True, text=True, timeout=480,
    )
    if proc.returncode != 0:
        pytest.fail(f"osls package failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    out = service / ".serverless"
    yield out


@pytest.fixture(scope="session")
def stack_template(packaged: Path) -> dict[str, Any]:
    """The CloudFormation template osls produced for the service."""
    return json.loads((packaged / "cloudformation-template-update-stack.json").read_text())
