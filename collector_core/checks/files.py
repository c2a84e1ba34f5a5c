"""Checks from a YAML file whose top level is a ``checks:`` map, as in the config: what
``aws-collector checks validate`` reads, and what a plugin ships through ``register_checks``."""
from __future__ import annotations

from pathlib import Path

import yaml

from collector_core.checks.model import Check, CheckError, parse_checks
from collector_core.documents.loader import AliasBomb, load_yaml

#: A file of checks is read whole; a thousand checks fit in far less.
MAX_FILE_BYTES = 1024 * 1024


def load_check_file(path: Path, *, classify: bool = True) -> list[Check]:
    """The file's checks, or CheckError naming the file (and each check and key) for every problem."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckError([f"{source}: cannot read it: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise CheckError([f"{source}: the file is {len(data)} bytes; a file of checks is at most 1 MiB"])
    try:
        doc = load_yaml(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CheckError([f"{source}: not UTF-8 text"]) from None
    except AliasBomb as exc:
        raise CheckError([f"{source}: line {exc.problem_mark.line + 1}: {exc.problem}"]) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CheckError([f"{source}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(doc, dict) or set(doc) != {"checks"}:
        raise CheckError([f"{source}: expected a mapping with one key, checks: (a map of check name to definition)"])
    return parse_checks(doc["checks"], source, classify=classify)
