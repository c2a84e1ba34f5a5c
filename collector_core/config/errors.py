"""Config errors as a person reads them: ``file: key.path: expected X, got Y``, one line each.

A value is shown by its kind and at most 60 characters of it, and never when the schema marks it
secret, so an error message cannot leak a webhook or echo a huge document.
"""
from __future__ import annotations

import reprlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema is imported only where a config is validated
    import jsonschema


class ConfigError(Exception):
    """The configuration is unusable; the message names the source, key and expectation."""


def explain(err: jsonschema.ValidationError) -> str:
    """One schema violation as ``key.path: expected ..., got ...``."""
    if err.validator in ("oneOf", "anyOf") and err.context:
        # "all" or a list: when the list branch failed deeper, name the bad element itself.
        deepest = max(err.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(err.absolute_path):
            return explain(deepest)
    path = key_path(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(str(k) for k in set(err.instance) - set(allowed))
        is_plugins = path.endswith("plugins") and len(err.absolute_path) in (1, 3)
        what = "plugin" if is_plugins else "key"
        key = ".".join(filter(None, [path, shown_key(extra[0])]))
        hint = "installed collectors" if is_plugins else "expected one of"
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        return f"{key}: unknown {what} {shown_key(extra[0])!r}{more}; {hint}: {', '.join(allowed) or 'none'}"
    if err.validator == "required":
        missing = err.message.replace(" is a required property", "")
        return f"{path or '(top level)'}: {missing[:80]} is required"
    expected = schema.get("expected") or err.message[:200]
    got = "a value not shown here (it may be a secret)" if schema.get("secret") else shown(err.instance)
    return f"{path or '(top level)'}: expected {expected}, got {got}"


def key_path(parts: Any) -> str:
    """``accounts[1].plugins.x`` from a schema error's path."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{shown_key(part)}" if out else shown_key(part))
    return out


def shown_key(key: Any, limit: int = 60) -> str:
    """A key as a message shows it: at most ``limit`` characters."""
    text = str(key)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 60) -> str:
    """A value as a message shows it: its kind and at most ``limit`` characters of it."""
    text = _short_repr(value, limit)
    return f"{kind(value)} {text}"


def kind(value: Any) -> str:
    """What sort of value this is, in words."""
    return {dict: "a mapping", list: "a list", str: "the string", bool: "the boolean",
            int: "the number", float: "the number", type(None): "nothing"}.get(type(value), type(value).__name__)


_REPR = reprlib.Repr()  # keyword arguments only from Python 3.12
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 4, 4, 70, 70, 70


def _short_repr(value: Any, limit: int) -> str:
    # reprlib looks at a bounded part of a container: a YAML document can expand to gigabytes.
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
