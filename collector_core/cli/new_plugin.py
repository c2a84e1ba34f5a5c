"""`aws-collector new-plugin`: a plugin package ready to install, rendered from the plugin template
(a collector) or, with ``--channel``, the channel template (a report channel).

Each template (plugins/template and plugins/channel_template in a checkout, under
aws_collector_plugins once installed) is a working, tested plugin under names of its own;
rendering writes a copy with those names replaced, so the template stays the only source of every
file.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from collector_core.cli.common import EXIT_OK, UsageError, command, load_registry

EXAMPLES = """\
examples:
  aws-collector new-plugin stale-snapshots
  aws-collector new-plugin stale-snapshots --dir ~/src/aws-collector-stale-snapshots
  aws-collector new-plugin pagerduty --channel        # a report channel
  aws-collector new-plugin my-checks --checks         # checks written as YAML, no code
"""

#: Lower-case words of letters and digits joined by - (or _, read as -), as in "stale-snapshots".
PLUGIN_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
DISTRIBUTION_PREFIX = "aws-collector-"
#: What a checkout's template may hold besides its own files, after a test run or an install.
LEFTOVERS = ("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".pytest_cache")


@dataclass(frozen=True)
class PluginNames:
    """The names one plugin goes by."""

    distribution: str  # what pip installs and PyPI lists: aws-collector-stale-snapshots
    package: str  # what Python imports: aws_collector_stale_snapshots
    collector: str  # the collector (or channel), and the entry point that registers it: stale_snapshots

    @classmethod
    def from_name(cls, name: str) -> PluginNames:
        """The names of the plugin called ``name`` (with or without the aws-collector- prefix)."""
        short = name.replace("_", "-").removeprefix(DISTRIBUTION_PREFIX)
        if not PLUGIN_NAME.fullmatch(short):
            raise UsageError(f"{name!r} is not a plugin name: expected lower-case letters and "
                             "digits, words joined by - or _, starting with a letter (e.g. stale-snapshots)")
        snake = short.replace("-", "_")
        return cls(DISTRIBUTION_PREFIX + short, "aws_collector_" + snake, snake)


#: The template's own names: rendering replaces each with the new plugin's.
TEMPLATE_NAMES = PluginNames("aws-collector-example", "aws_collector_example", "unused_elastic_ips")
#: The channel template's own names.
CHANNEL_TEMPLATE_NAMES = PluginNames("aws-collector-sns-example", "aws_collector_sns_example", "sns_example")
#: The checks template's own names (its one example check is named like the plugin).
CHECKS_TEMPLATE_NAMES = PluginNames("aws-collector-checks-example", "aws_collector_checks_example", "checks_example")


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "new-plugin", run, "start a plugin of your own: a package ready to install, test and publish, "
                "from the plugin template", EXAMPLES)
    p.add_argument("name", metavar="NAME", help="the plugin's name, e.g. stale-snapshots: the distribution is "
                   "aws-collector-NAME, the package aws_collector_NAME, the collector NAME")
    p.add_argument("--dir", metavar="D", type=Path,
                   help="where to write it (default: ./aws-collector-NAME); it must not exist, or be empty")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--channel", action="store_true",
                      help="start a report channel (registered under notify:) instead of a collector")
    kind.add_argument("--checks", action="store_true",
                      help="start a package of declarative checks (YAML, no collector code; docs/checks.md)")


def run(args: argparse.Namespace) -> int:
    names = PluginNames.from_name(args.name)
    target: Path = args.dir or Path(names.distribution)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not an empty directory: choose another --dir")
    registry = load_registry()
    kind, installed = ("channel", registry.channels) if args.channel else ("collector", registry.collectors)
    if names.collector in installed:  # two collectors (or channels) of one name stop every run
        owner = installed[names.collector].plugin
        raise UsageError(f"a {kind} named {names.collector!r} is installed already (distribution "
                         f"{owner.distribution}): choose another name")
    if args.channel:
        render(names, target, resources.files("aws_collector_plugins") / "channel_template", CHANNEL_TEMPLATE_NAMES)
    elif args.checks:
        render(names, target, resources.files("aws_collector_plugins") / "checks_template", CHECKS_TEMPLATE_NAMES)
    else:
        render(names, target)
    where = target / names.package / ("checks.yaml" if args.checks else "__init__.py")
    print(f"Wrote the plugin {names.distribution} to {target}: package {names.package}, entry point and "
          f"{'check' if args.checks else kind} {names.collector}.\n"
          f"Replace the example {'check' if args.checks else kind} in {where}, then:\n"
          f"  cd {target}\n"
          "  pip install -e '.[test]'\n"
          "  pytest\n"
          "  aws-collector plugins\n"
          "Its README says how to publish it.")
    return EXIT_OK


def render(names: PluginNames, target: Path, template: Traversable | None = None,
           template_names: PluginNames = TEMPLATE_NAMES) -> list[Path]:
    """Write the template (default: the collector template) into ``target`` under ``names``; the
    files written, sorted."""
    template = template or resources.files("aws_collector_plugins") / "template"
    rename = _renamer(template_names, names)
    written = []
    for relative, source in template_files(template):
        path = target / rename(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rename(source.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(path)
    return sorted(written)


def template_files(template: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """(relative path, file) of each file of the template, without build or test leftovers."""
    for item in sorted(template.iterdir(), key=lambda i: i.name):
        if any(fnmatch(item.name, pattern) for pattern in LEFTOVERS):
            continue
        if item.is_dir():
            yield from template_files(item, f"{prefix}{item.name}/")
        else:
            yield f"{prefix}{item.name}", item


def _renamer(old: PluginNames, new: PluginNames) -> Callable[[str], str]:
    """Replaces each of ``old``'s names with ``new``'s, in one pass so no replacement is replaced again."""
    replacements = {old.distribution: new.distribution, old.package: new.package, old.collector: new.collector}
    pattern = re.compile("|".join(re.escape(name) for name in replacements))
    return lambda text: pattern.sub(lambda match: replacements[match.group()], text)
