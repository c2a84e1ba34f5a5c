"""What every command shares: exit codes, usage errors, and loading plugins and the config."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collector_core.config.model import Config
    from collector_core.plugins import Registry

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or config: print it and exit 2, having done nothing."""


def command(sub: Any, name: str, func: Any, help: str, examples: str = "") -> argparse.ArgumentParser:
    """Add one command's parser: its purpose, listed by `aws-collector --help`, and its examples."""
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=help[:1].upper() + help[1:] + ".", epilog=examples or None,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(command=func)
    return p


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1")
    return value


def account_id(text: str) -> str:
    """An argparse type: a 12-digit account id."""
    if not (text.isdigit() and len(text) == 12):
        raise argparse.ArgumentTypeError(f"expected a 12-digit account id, got {text[:40]!r}")
    return text


def load_registry() -> Registry:
    """Discover plugins; a strict-mode failure or duplicate names is a usage error."""
    from collector_core.plugins import PluginError, load_plugins

    try:
        return load_plugins()
    except PluginError as exc:
        raise UsageError(str(exc)) from None


def load(path: str) -> tuple[Registry, Config]:
    """(registry, config), or UsageError naming the file and key."""
    from collector_core.config.errors import ConfigError
    from collector_core.config.load import load_config
    from collector_core.plugins import PluginError

    registry = load_registry()
    try:
        config = load_config(path, registry)
    except ConfigError as exc:
        raise UsageError(f"invalid configuration\n{exc}") from None
    try:
        return config.registry(registry), config  # with the config's checks, as collectors
    except PluginError as exc:
        raise UsageError(str(exc)) from None
