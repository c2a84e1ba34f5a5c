"""The layout holds: no import cycles, modules of one idea each, one owner for the table.

Cycles are looked for twice, counting every import (those for type checkers too): between
modules, and between the top level's parts with each sub-package taken whole, so the parts stay
layers that never reach back up. `python tests/test_architecture.py` prints what these tests
check: each module's size and the modules it imports, each part's imports, the cycles (none),
and every call of a DynamoDB data-plane operation.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "collector_core"
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 12
#: DynamoDB operations that read or write items; only collector_core/store/ may call them.
DATA_PLANE = {
    "put_item", "batch_write_item", "update_item", "delete_item", "get_item", "batch_get_item",
    "query", "scan", "transact_write_items", "transact_get_items", "execute_statement",
    "batch_execute_statement", "execute_transaction",
}
TABLE_OWNER = "collector_core.store"  # the package: its table module makes every call
#: The one module that builds and parses the table's keys.
LAYOUT_OWNER = "collector_core.store.layout"
#: How the table's keys begin: a string starting so, outside the layout module, builds or parses a key.
KEY_PREFIXES = ("A#", "F#", "R#", "D#", "L#", "H#", "#S#")
KEY_PARTITIONS = {"RUNS", "ACCOUNTS", "HISTORY", "TABLE", "SEQ", "LAYOUT"}


def modules() -> dict[str, Path]:
    """Every module of collector_core by dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The collector_core modules a module imports anywhere in it (functions included), plus the
    packages whose __init__ runs first (not its own packages': those are running already)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.add(node.module)
            targets.update(f"{node.module}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a, then a.b, then a.b.c
            prefix = ".".join(parts[:i])
            own_package = name.startswith(prefix + ".")
            if prefix in known and prefix != name and not own_package:
                edges.add(prefix)
    return edges


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def parts(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph between the top level's parts: a module there, or a sub-package whole."""
    def part(name: str) -> str:
        return ".".join(name.split(".")[:2])

    joined: dict[str, set[str]] = {}
    for name, targets in edges.items():
        joined.setdefault(part(name), set()).update(part(t) for t in targets if part(t) != part(name))
    return joined


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def table_calls() -> list[tuple[str, int, str]]:
    """(module, line, operation) of every data-plane call in collector_core and plugins/."""
    calls = []
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in DATA_PLANE:
                calls.append((module, node.lineno, func.attr))
            elif isinstance(func, ast.Attribute) and func.attr == "get_paginator" and node.args \
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in DATA_PLANE:
                calls.append((module, node.lineno, f"paginate {node.args[0].value}"))
    return calls


def domain_constants() -> dict[str, str]:
    """The domain's named values (a scope, an account's status) -> where they are defined, once."""
    from collector_core.collector import Scope
    from collector_core.results import Status

    return {**{s.value: "collector.Scope" for s in Scope}, **{s.value: "results.Status" for s in Status}}


def redefinitions(constants: dict[str, str]) -> list[tuple[str, int, str]]:
    """(module, line, value) of every name bound to one of the domain's values outside its enum."""
    found = []
    for name, path in modules().items():
        for node in ast.parse(path.read_text()).body:  # module-level names (an enum's members are its own)
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant) \
                    and node.value.value in constants:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) for t in targets):
                    found.append((name, node.lineno, node.value.value))
    return found


def keys_built_outside_the_layout() -> list[tuple[str, int, str]]:
    """(module, line, text) of every string that builds or parses a table key, outside the layout module:
    a key prefix, a partition's name, or a ``{"pk": ..., "sk": ...}`` written out."""
    found = []
    for name, path in modules().items():
        if name == LAYOUT_OWNER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    node.value.startswith(KEY_PREFIXES) or node.value in KEY_PARTITIONS):
                found.append((name, node.lineno, node.value))
            elif isinstance(node, ast.Dict) and {"pk", "sk"} <= {k.value for k in node.keys
                                                                 if isinstance(k, ast.Constant)}:
                found.append((name, node.lineno, "{pk, sk}"))
    return found


def test_every_domain_constant_is_defined_once() -> None:
    constants = domain_constants()
    assert not redefinitions(constants), f"defined again outside their enum: {redefinitions(constants)}"


def test_only_the_layout_builds_table_keys() -> None:
    assert not keys_built_outside_the_layout(), keys_built_outside_the_layout()


def test_the_checks_for_constants_and_keys_find_what_they_look_for(tmp_path: Path) -> None:
    source = 'GLOBAL = "global"\nsk = f"F#{1}"\nKEY = {"pk": "RUNS", "sk": "x"}\n'
    tree = ast.parse(source)
    assert [n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and isinstance(n.value, ast.Constant) and n.value.value in domain_constants()] == ["global"]
    assert sum(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith(KEY_PREFIXES)
               for n in ast.walk(tree)) == 1
    assert sum(isinstance(n, ast.Dict) for n in ast.walk(tree)) == 1


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_import_cycles_between_packages() -> None:
    assert cycles(parts(graph())) == []


def test_every_module_holds_at_most_400_lines() -> None:
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_top_level_holds_at_most_12_modules() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_only_the_store_calls_the_table() -> None:
    others = [call for call in table_calls() if not call[0].startswith(TABLE_OWNER + ".")]
    assert not others, f"DynamoDB data-plane calls outside {TABLE_OWNER}: {others}"
    assert table_calls(), "the scan found no data-plane call at all: it is not looking"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    modules_apart = {"pkg.a.x": {"pkg.b.y"}, "pkg.b.y": {"pkg.a.z"}, "pkg.a.z": set()}
    assert cycles(modules_apart) == []
    assert cycles(parts(modules_apart)) == [["pkg.a", "pkg.b"]]


def main() -> int:
    edges = graph()
    known = modules()
    print("modules (lines) -> what they import from collector_core")
    for name in sorted(known):
        lines = len(known[name].read_text().splitlines())
        inside = ", ".join(sorted(e.removeprefix("collector_core.") for e in edges[name])) or "-"
        print(f"  {name.removeprefix('collector_core.') or 'collector_core'} ({lines}) -> {inside}")
    layers = parts(edges)
    print("\nthe top level's parts -> the parts they import")
    for name, targets in sorted(layers.items()):
        inside = ", ".join(sorted(t.removeprefix("collector_core.") for t in targets)) or "-"
        print(f"  {name.removeprefix('collector_core.') or 'collector_core'} -> {inside}")
    found = cycles(edges) + cycles(layers)
    print(f"\nimport cycles: {found or 'none'}")
    print(f"top-level modules: {len(list(PACKAGE.glob('*.py')))} (at most {MAX_TOP_LEVEL_MODULES})")
    print("\nDynamoDB data-plane calls:")
    for module, line, operation in table_calls():
        print(f"  {module}:{line} {operation}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
