"""docs/config.md is the config's schema, rendered: a key added to a section's schema shows up there,
and the file never drifts from what the validator accepts."""
from __future__ import annotations

from pathlib import Path

from collector_core.config.reference import COMMAND, reference
from collector_core.config.schema import config_schema
from collector_core.plugins import load_plugins

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_docs_config_md_is_the_schema_rendered() -> None:
    assert REFERENCE.read_text() == reference(load_plugins()), (
        f"docs/config.md has drifted from the config's schema; regenerate it with `{COMMAND}`")


def test_every_key_the_validator_knows_is_in_the_reference() -> None:
    def paths(node: dict, path: str) -> list[str]:
        items = node.get("items") if node.get("type") == "array" else None
        inner, prefix = (items, f"{path}[]") if isinstance(items, dict) and "properties" in items else (node, path)
        found = [path]
        for key, child in (inner.get("properties") or {}).items():
            if not path.startswith("accounts[].plugins"):
                found += paths(child, f"{prefix}.{key}" if path else key)
        return found

    text = REFERENCE.read_text()
    keys = paths(config_schema(load_plugins()), "")[1:]
    assert len(keys) > 40
    missing = [k for k in keys if f"`{k}`" not in text]
    assert not missing, f"keys missing from docs/config.md (regenerate with `{COMMAND}`): {missing}"
