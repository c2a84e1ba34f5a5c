"""`aws-collector plugins`: what is installed, and what failed to load."""
from __future__ import annotations

import argparse
import json
from typing import Any

from collector_core.cli.common import EXIT_OK, command, load_registry

EXAMPLES = """\
examples:
  aws-collector plugins
  aws-collector plugins --json
  AWS_COLLECTOR_STRICT_PLUGINS=1 aws-collector plugins   # a plugin that fails to load: exit 2
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "plugins", run, "list the installed plugins, their collectors and permissions, and any that "
                "failed to load", EXAMPLES)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    listing = registry.describe()
    if args.json:
        print(json.dumps(listing, indent=2, sort_keys=True))
        return EXIT_OK
    for plugin in listing["plugins"]:
        print(f"{plugin['name']} ({plugin['distribution']} {plugin['version']})")
        for c in plugin["collectors"]:
            print(f"  {c['name']:<24} {c['scope']:<8} {c['summary']}")
            print(f"  {'':<24} permissions: {', '.join(c['permissions']) or 'none'}")
    for failed in listing["failed"]:
        print(f"FAILED {failed['name']} ({failed['distribution']} {failed['version']}): "
              f"could not {failed['stage']}: {failed['error']}")
    return EXIT_OK
