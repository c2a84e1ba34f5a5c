"""A check's place in the config: the ``checks:`` section's schema, and the per-account options
(``params``, ``severity``) a ``plugins:`` section may give a check, checked like its definition."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from collector_core.checks import operations
from collector_core.checks.model import KEYS, Check
from collector_core.collector import SEVERITIES

#: The ``checks:`` section as the config's schema shows it (the checks module says what is wrong in detail).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "expected": "a mapping of check name to definition",
    "description": "declarative checks: each is a collector named after it (docs/checks.md), enabled and given "
                   "options (params, severity) under plugins like any collector",
    "additionalProperties": {
        "type": "object", "expected": "a check's definition",
        "required": ["summary", "call", "select", "id", "message"],
        "properties": {key: {"description": what, "expected": "a mapping" if key == "params" else "a string"}
                       for key, what in KEYS.items()},
    },
}


def option_problems(doc: Mapping[str, Any], checks: Iterable[Check]) -> list[str]:
    """Problems of the params and severity the plugins sections (top level and per account) give checks."""
    by_name = {c.name: c for c in checks}
    sections: list[tuple[str, Any]] = [("plugins", doc.get("plugins"))]
    sections += [(f"accounts[{i}].plugins", a.get("plugins")) for i, a in enumerate(doc.get("accounts") or [])
                 if isinstance(a, dict)]
    problems = []
    for where, section in sections:
        if not isinstance(section, dict):
            continue
        for name, settings in section.items():
            check = by_name.get(name)
            if check is None or not isinstance(settings, dict):
                continue
            severity = settings.get("severity")
            if severity is not None and severity not in SEVERITIES:
                problems.append(f"{where}.{name}.severity: {severity!r} is not a severity; expected one of "
                                f"{', '.join(SEVERITIES)}")
            params = settings.get("params")
            if isinstance(params, dict):
                operation = operations.operation_model(check.service, check.operation)
                if operation is not None:
                    problems += [f"{where}.{name}.params: {p}" for p in operations.param_problems(operation, params)]
    return problems
