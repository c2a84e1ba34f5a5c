"""`aws-collector deploy-init DIR`: a deploy project a team keeps in its own repository, deploying the
released package with its own plugins and config, so staying current needs no fork.

The project is this release's serverless.yml and deploy tools as they are (the wheel installs the
checkout's own files as data files under ``share/aws-collector/deploy-project``, so no copy of them
is kept in the source tree; from a checkout they are read where they are), a requirements file
naming the released package, plugins.txt, and a config skeleton. Run again with ``--force`` after
an upgrade, it rewrites everything but the config and plugins.txt, which are the team's own.
"""
from __future__ import annotations

import argparse
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from collector_core.cli.common import EXIT_OK, UsageError, command

EXAMPLES = """\
examples:
  aws-collector deploy-init our-collector
  aws-collector deploy-init . --force          # after upgrading aws-collector: the new release's files

It writes serverless.yml, deploy/ (requirements.txt naming this release, plugins.txt, the pinned
osls tools, the wheel builder for plugins published only as sdists), config.yaml and README.md.
"""
#: Files of the checkout the project carries as they are, at the same paths (setup.cfg's
#: [options.data_files] installs them with the wheel; a test keeps the two lists equal).
RELEASED = (
    "serverless.yml",
    "deploy/package.json",
    "deploy/package-lock.json",
    "deploy/.npmrc",
    "deploy/wheels.js",
    "deploy/plugins.txt",
    "deploy/requirements.txt",  # the project's is written anew (requirements())
)
#: Where the wheel installs them, under the environment's prefix.
DATA_DIR = "share/aws-collector/deploy-project"
#: The project's own files, written once: --force leaves them as the team has made them.
OWN = ("config.yaml", "deploy/plugins.txt")
AUTHORED = {"config.yaml": "config.yaml", "README.md": "README.md", "gitignore": ".gitignore"}
TEMPLATE = "deploy_project"


def add(sub: Any) -> None:
    """The command's parser."""
    from collector_core import __version__

    p = command(sub, "deploy-init", run, "write a deploy project of your own: serverless.yml deploying the released "
                "package, plugins.txt, a config skeleton", EXAMPLES)
    p.add_argument("dir", metavar="DIR", help="where to write it (created if missing)")
    p.add_argument("--package", default=f"aws-collector=={__version__}", metavar="REQUIREMENT",
                   help=f"the aws-collector to deploy, as pip names it (default aws-collector=={__version__})")
    p.add_argument("--force", action="store_true",
                   help="rewrite the files of an existing project, except config.yaml and deploy/plugins.txt")


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    written = write_project(target, package=args.package, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"next: cd {target} && npm ci --prefix deploy; then its README.md")
    return EXIT_OK


def write_project(target: Path, *, package: str, force: bool = False) -> list[Path]:
    """Write the deploy project into ``target``; UsageError if it holds one already (unless ``force``)."""
    if (target / "serverless.yml").exists() and not force:
        raise UsageError(f"{target / 'serverless.yml'} exists: a deploy project is there already "
                         "(--force rewrites it, keeping config.yaml and deploy/plugins.txt)")
    template = resources.files("collector_core.cli").joinpath(TEMPLATE)
    files = {dest: template.joinpath(src).read_text() for src, dest in AUTHORED.items()}
    files.update({path: released_file(path).read_text() for path in RELEASED})
    files["deploy/requirements.txt"] = requirements(files["deploy/requirements.txt"], package)
    written = []
    for dest, text in files.items():
        path = target / dest
        if dest in OWN and path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def requirements(checkout_requirements: str, package: str) -> str:
    """The project's deploy/requirements.txt: the release's boto3 pins, the package, plugins.txt."""
    pins = [line for line in checkout_requirements.splitlines() if re.match(r"^(boto3|botocore)==", line)]
    return "\n".join([
        "# What the Lambda package installs (serverless.yml: custom.pythonRequirements.fileName), written by",
        "# `aws-collector deploy-init`. boto3 and botocore at the versions the release was tested with:",
        *pins,
        "# aws-collector itself, as released (its .dist-info carries the built-in collectors' entry points):",
        package,
        "# Community plugins: list them in plugins.txt, one pip requirement a line.",
        "-r plugins.txt",
        "",
    ])


def released_file(path: str) -> Path:
    """One of this release's deploy files: as the wheel installed it, else in the checkout this runs from."""
    try:
        files = metadata.distribution("aws-collector").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.as_posix().endswith(f"{DATA_DIR}/{path}"):
            return Path(str(file.locate()))
    checkout = Path(__file__).resolve().parents[2] / path  # an editable install or a source tree
    if checkout.is_file():
        return checkout
    raise UsageError(f"this installation of aws-collector has no {path} (expected under {DATA_DIR}); "
                     "reinstall it from its wheel")
