"""The config's reference, docs/config.md, generated from the config's schema: every key with what
it expects and what it does, as the validator knows it. A test fails when the two differ;
regenerate with the command below after changing a section's schema."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from collector_core.config.schema import config_schema
from collector_core.plugins import Registry, load_plugins

COMMAND = "python -m collector_core.config.reference > docs/config.md"
#: The distribution of the built-in collectors: the reference describes those, whatever else is installed.
BUILT_IN = "aws-collector"
INTRODUCTION = f"""\
# Configuration reference

<!-- Generated from the config's schema by `{COMMAND}`; do not edit by hand. -->

A config is one YAML file (or an `s3://` object, or an `ssm:` parameter: [deploy.md](deploy.md),
step 3). Every key is listed here, under its section, with what it expects; an unknown key, or a
value that is not what its key expects, stops every command before any work, naming the file, the
key and this expectation (exit 2). `[]` in a key stands for each item of a list. Keys marked
*secret* never show their value in an error.
"""


@dataclass(frozen=True)
class Row:
    """One key of the config."""

    path: str
    expects: str
    what: str
    required: bool = False
    secret: bool = False


def reference(registry: Registry) -> str:
    """docs/config.md for the built-in collectors."""
    schema = config_schema(registry)
    built_in = [n for n in registry.names() if registry.collectors[n].plugin.distribution == BUILT_IN]
    lines = [INTRODUCTION]
    for key, node in schema["properties"].items():
        top, *rows = _rows(node, key, registry, built_in)
        summary = f"{_sentence(top.what)} Expects {top.expects}." if top.what else _sentence(f"expects {top.expects}")
        lines += [f"## `{key}`", "", summary + (" *Secret*." if top.secret else ""), ""]
        if rows:
            lines += ["| key | expects | what |", "|---|---|---|"]
            lines += [f"| `{r.path}`{' (required)' if r.required else ''} | {_cell(r.expects)}"
                      f"{' (*secret*)' if r.secret else ''} | {_cell(r.what)} |" for r in rows]
            lines.append("")
    return "\n".join(lines)


def _rows(node: Mapping[str, Any], path: str, registry: Registry, built_in: list[str],
          required: bool = False) -> Iterator[Row]:
    what = node.get("description", "")
    collector = path.split(".")[1] if path.startswith("plugins.") else None
    if collector and path.count(".") == 1:
        what = registry[collector].summary
    elif collector and path.count(".") == 2 and path.rsplit(".", 1)[1] in registry[collector].options:
        what = f"default {json.dumps(registry[collector].options[path.rsplit('.', 1)[1]])}"
    yield Row(path, node.get("expected", ""), what, required, bool(node.get("secret")))
    if path == "accounts[].plugins":  # the top-level plugins section's keys, per account
        return
    items = node.get("items") if node.get("type") == "array" else None
    each = node.get("additionalProperties")  # a map of names to one kind of thing (checks: name -> check)
    inner, prefix = (items, f"{path}[]") if isinstance(items, Mapping) and "properties" in items else (node, path)
    if isinstance(each, Mapping) and "properties" in each:
        inner, prefix = each, f"{path}.<name>"
    needed = set(inner.get("required", []))
    for key, child in (inner.get("properties") or {}).items():
        if path == "plugins" and key not in built_in:
            continue
        yield from _rows(child, f"{prefix}.{key}", registry, built_in, key in needed)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main() -> int:
    """Print the reference (to be redirected into docs/config.md)."""
    sys.stdout.write(reference(load_plugins()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
