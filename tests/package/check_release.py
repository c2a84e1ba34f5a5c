"""The release as a user gets it: build it, check it, install it outside the source tree, use it.

1. `python -m build` makes the sdist, then the wheel from the sdist (so the sdist is complete);
   `twine check --strict` checks what PyPI would show of both.
2. A fresh virtual environment in a temporary directory gets the wheel with its `demo` extra; from
   a directory outside the source tree, `aws-collector --version`, `plugins` (the three built-ins,
   nothing failed) and `demo` (exit 0) run as a user would run them.
3. `aws-collector deploy-init` writes a deploy project from what the wheel installed (no checkout
   to read from): the release's serverless.yml and deploy tools, byte for byte.
4. The catalog (plugins/catalog) is built the same way and its wheel installed there with its `test`
   extra: `plugins` lists every one of its checks under `aws-collector-catalog`, its tests pass
   (copied out of the tree, so they import the installed wheel), and `demo` seeds and finds its
   problems too; uninstalled, its checks are gone.
5. `aws-collector new-plugin` writes a plugin, and `new-plugin --channel` a report channel; each is
   installed with its `test` extra into the same environment, its own tests pass with that
   environment's pytest, and `plugins` lists it.

`tox -e package` runs it with build and twine installed. It reaches nothing but the package
registry, and removes everything it made when it ends.
"""
from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: Where setup.cfg's [options.data_files] put the deployment files deploy-init writes.
DEPLOY_DATA = "share/aws-collector/deploy-project"
BUILT_INS = {"unattached_ebs", "iam_key_age", "open_security_groups"}
BUILT_IN_CHANNELS = {"stdout", "slack", "email", "securityhub", "html", "webhook", "teams", "s3"}
#: The plugin new-plugin writes: distribution aws-collector-release-check, collector release_check.
PLUGIN, PLUGIN_DISTRIBUTION, PLUGIN_COLLECTOR = "release-check", "aws-collector-release-check", "release_check"
#: The channel new-plugin --channel writes.
CHANNEL, CHANNEL_DISTRIBUTION, CHANNEL_NAME = "release-channel", "aws-collector-release-channel", "release_channel"
CATALOG, CATALOG_DISTRIBUTION = ROOT / "plugins" / "catalog", "aws-collector-catalog"
#: The catalog's checks (the finding's plugin field), as its issue names them.
CATALOG_CHECKS = {
    "unassociated_eips", "old_snapshots", "stopped_instances", "unattached_enis", "idle_load_balancers",
    "gp2_volumes", "iam_users_without_mfa", "root_access_keys", "public_s3_buckets", "unencrypted_volumes",
    "deprecated_lambda_runtimes", "cloudtrail_not_logging", "guardduty_disabled", "public_rds_instances",
}


class ReleaseCheckFailed(Exception):
    """The release does not do what a user would expect of it."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ReleaseCheckFailed(message)


def user_environment() -> dict[str, str]:
    """This environment without what could lead the release to the checkout or to a real AWS account."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("AWS_")}


def run(*command: str | Path, cwd: Path, capture: bool = False) -> str:
    """Run one command as a user would, printing it and how long it took; its output if ``capture``."""
    shown = " ".join(str(c) for c in command)
    print(f"\n$ {shown}", flush=True)
    started = time.monotonic()
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=user_environment(), text=True,
                            stdout=subprocess.PIPE if capture else None)
    print(f"  ({time.monotonic() - started:.1f} s, exit {result.returncode})", flush=True)
    if result.returncode != 0:
        raise ReleaseCheckFailed(f"{shown} exited {result.returncode}")
    return result.stdout if capture else ""


def build(dist: Path, work: Path) -> tuple[Path, Path]:
    """The sdist and the wheel, built and checked; (sdist, wheel)."""
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=work)
    [sdist], [wheel] = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel, cwd=work)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    expect(any(re.fullmatch(r"aws_collector-[^/]+\.dist-info/licenses/LICENSE", n) for n in names),
           f"{wheel.name} carries no LICENSE")
    expect("aws_collector_plugins/template/setup.cfg" in names, f"{wheel.name} carries no plugin template")
    expect("aws_collector_plugins/channel_template/setup.cfg" in names, f"{wheel.name} carries no channel template")
    expect("aws_collector_plugins/checks_template/aws_collector_checks_example/checks.yaml" in names,
           f"{wheel.name} carries no checks template")
    expect("collector_core/notify/schemas/webhook-report-v1.json" in names,
           f"{wheel.name} carries no webhook report schema")
    return sdist, wheel


def installed_plugins(venv: Path, work: Path, kind: str = "collectors") -> dict[str, Any]:
    """`aws-collector plugins --json` from the fresh environment: each collector's (or channel's) plugin."""
    listing: dict[str, Any] = json.loads(run(venv / "bin" / "aws-collector", "plugins", "--json", cwd=work,
                                             capture=True))
    expect(listing["failed"] == [], f"plugins failed to load: {listing['failed']}")
    return {c["name"]: p for p in listing["plugins"] for c in p[kind]}


def check_installed(venv: Path, wheel: Path, work: Path) -> None:
    """The wheel in a fresh environment: its version, its built-in collectors, the demo."""
    python, aws_collector = venv / "bin" / "python", venv / "bin" / "aws-collector"
    version = wheel.name.split("-")[1]
    printed = run(aws_collector, "--version", cwd=work, capture=True).strip()
    expect(re.fullmatch(rf"aws-collector {re.escape(version)} \(plugin API \d+\.\d+\)", printed) is not None,
           f"--version printed {printed!r}, expected aws-collector {version} and its plugin API")
    where = run(python, "-c", "import collector_core; print(collector_core.__file__)", cwd=work, capture=True)
    expect(Path(where.strip()).is_relative_to(venv), f"collector_core came from {where.strip()}, not the wheel")
    collectors = installed_plugins(venv, work)
    expect(set(collectors) >= BUILT_INS, f"the built-in collectors are not all listed: {sorted(collectors)}")
    channels = installed_plugins(venv, work, "channels")
    expect(set(channels) >= BUILT_IN_CHANNELS, f"the built-in channels are not all listed: {sorted(channels)}")
    run(aws_collector, "plugins", cwd=work)
    run(aws_collector, "demo", cwd=work)


def check_deploy_init(venv: Path, work: Path) -> None:
    """deploy-init from the installed wheel writes this release's deployment files as they are."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    released = [f"{folder.removeprefix(DEPLOY_DATA)}/{Path(name.strip()).name}".lstrip("/")
                for folder, names in cfg["options.data_files"].items() for name in names.splitlines() if name.strip()]
    expect("serverless.yml" in released, f"setup.cfg's data files hold no serverless.yml: {released}")
    project = work / "deploy-project"
    run(venv / "bin" / "aws-collector", "deploy-init", project, cwd=work)
    for path in released:
        if path != "deploy/requirements.txt":  # written anew, naming the release
            expect((project / path).read_bytes() == (ROOT / path).read_bytes(),
                   f"deploy-init wrote a {path} that is not this release's")


def check_catalog(venv: Path, work: Path) -> None:
    """The catalog's wheel next to the core's: listed, its tests passing, in the demo; then removed."""
    dist = work / "catalog-dist"
    run(sys.executable, "-m", "build", "--outdir", dist, CATALOG, cwd=work)
    [sdist], [wheel] = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel, cwd=work)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[test]", cwd=work)
    collectors = installed_plugins(venv, work)
    listed = {name for name, plugin in collectors.items() if plugin["distribution"] == CATALOG_DISTRIBUTION}
    expect(listed == CATALOG_CHECKS, f"the catalog lists {sorted(listed)}, expected {sorted(CATALOG_CHECKS)}")
    tests = work / "catalog-tests"
    shutil.copytree(CATALOG / "tests", tests, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CATALOG / "setup.cfg", tests / "setup.cfg")  # its pytest settings
    run(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", tests, cwd=tests)
    demo = run(venv / "bin" / "aws-collector", "demo", cwd=work, capture=True)
    verdict = next((line for line in demo.splitlines() if line.startswith("The findings ")), demo.strip())
    # The built-ins, the catalog (moto cannot give root an access key) and the demo's own YAML check of
    # log groups (its check of Elastic IPs is the catalog's unassociated_eips when the catalog is installed).
    seeded = 3 + len(CATALOG_CHECKS) - 1 + 1
    expect(" match " in verdict and f"for {seeded} collectors" in verdict,
           f"the demo with the catalog said: {verdict}")
    run(venv / "bin" / "python", "-m", "pip", "uninstall", "--quiet", "--yes", CATALOG_DISTRIBUTION, cwd=work)
    left = set(installed_plugins(venv, work)) & CATALOG_CHECKS
    expect(not left, f"uninstalled, the catalog's checks are still listed: {sorted(left)}")


def check_new_plugin(venv: Path, work: Path) -> None:
    """A plugin from new-plugin installs next to the wheel, passes its own tests, and is listed."""
    plugin = work / PLUGIN_DISTRIBUTION
    run(venv / "bin" / "aws-collector", "new-plugin", PLUGIN, "--dir", plugin, cwd=work)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-e", f"{plugin}[test]", cwd=work)
    run(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin)
    collectors = installed_plugins(venv, work)
    expect(PLUGIN_COLLECTOR in collectors, f"{PLUGIN_COLLECTOR} is not listed: {sorted(collectors)}")
    expect(collectors[PLUGIN_COLLECTOR]["distribution"] == PLUGIN_DISTRIBUTION,
           f"{PLUGIN_COLLECTOR} is listed under {collectors[PLUGIN_COLLECTOR]['distribution']}")


def check_new_channel(venv: Path, work: Path) -> None:
    """A channel from new-plugin --channel installs next to the wheel, passes its own tests, and is listed."""
    plugin = work / CHANNEL_DISTRIBUTION
    run(venv / "bin" / "aws-collector", "new-plugin", CHANNEL, "--channel", "--dir", plugin, cwd=work)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-e", f"{plugin}[test]", cwd=work)
    run(venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin)
    channels = installed_plugins(venv, work, "channels")
    expect(CHANNEL_NAME in channels, f"{CHANNEL_NAME} is not listed: {sorted(channels)}")
    expect(channels[CHANNEL_NAME]["distribution"] == CHANNEL_DISTRIBUTION,
           f"{CHANNEL_NAME} is listed under {channels[CHANNEL_NAME]['distribution']}")


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aws-collector-release-") as tmp:
        work = Path(tmp)
        try:
            _, wheel = build(work / "dist", work)
            venv = work / "venv"
            run(sys.executable, "-m", "venv", venv, cwd=work)
            run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[demo]", cwd=work)
            check_installed(venv, wheel, work)
            check_deploy_init(venv, work)
            check_catalog(venv, work)
            check_new_plugin(venv, work)
            check_new_channel(venv, work)
        except ReleaseCheckFailed as exc:
            print(f"\nrelease check FAILED: {exc}", file=sys.stderr)
            return 1
    print(f"\nrelease check passed in {time.monotonic() - started:.0f} s: {wheel.name} installs and works "
          "outside the source tree, and so do the catalog, a plugin and a channel from new-plugin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
