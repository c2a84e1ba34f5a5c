"""`aws-collector plugins`: what is installed (collectors and report channels), and what failed to load."""
from __future__ import annotations

import argparse
import json
from typing import Any

from collector_core.cli.common import EXIT_OK, command, load, load_registry

EXAMPLES = """\
examples:
  aws-collector plugins
  aws-collector plugins --json
  aws-collector plugins --config config.yaml             # with the config's checks
  AWS_COLLECTOR_STRICT_PLUGINS=1 aws-collector plugins   # a plugin that fails to load: exit 2
"""


def add(sub: Any) -> None:
    """The command's parser."""
    p = command(sub, "plugins", run, "list the installed plugins, their collectors, report channels and "
                "permissions, and any that failed to load", EXAMPLES)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--config", metavar="FILE", help="also list the config's declarative checks (plugin checks, "
                   "distribution config)")


def run(args: argparse.Namespace) -> int:
    from collector_core.iam_policy import READ_ONLY, access_level
    from collector_core.notify import safe

    registry = load(args.config)[0] if args.config else load_registry()
    listing = registry.describe()
    for plugin in listing["plugins"]:
        for c in plugin["collectors"]:
            c["access_levels"] = {action: access_level(action) for action in c["permissions"]}
    if args.json:
        print(json.dumps(listing, indent=2, sort_keys=True))
        return EXIT_OK
    names = [len(str(x["name"])) for plugin in listing["plugins"] for x in plugin["collectors"] + plugin["channels"]]
    w = min(max([24, *names]), 40)  # one column for every name (a catalog's run long), within reason
    for plugin in listing["plugins"]:
        print(safe.terminal(f"{plugin['name']} ({plugin['distribution']} {plugin['version']})"))
        for c in plugin["collectors"]:
            print(safe.terminal(f"  {c['name']:<{w}} {c['scope']:<8} {c['summary']}"))
            permissions = [f"{action} ({level}{'' if level in READ_ONLY else ', not read-only'})"
                           for action, level in c["access_levels"].items()]
            print(safe.terminal(f"  {'':<{w}} permissions: {', '.join(permissions) or 'none'}"))
        for ch in plugin["channels"]:
            print(safe.terminal(f"  {ch['name']:<{w}} {'channel':<8} {ch['summary']}"))
            print(safe.terminal(f"  {'':<{w}} permissions in the collector's account: "
                                f"{', '.join(ch['permissions']) or 'none'}"))
    for failed in listing["failed"]:
        print(safe.terminal(f"FAILED {failed['name']} ({failed['distribution']} {failed['version']}): "
                            f"could not {failed['stage']}: {failed['error']}"))
    return EXIT_OK
