"""cortex's import graph, imports inside functions included: no cycle, and the layers never reach into the activator.

tests/test_architecture.py checks the imports that run at import time; cortex imports heavy packages inside
functions on purpose, and such an import can close a cycle too (a layer module calling back into the command
line that loads it), so this graph counts every import outside a TYPE_CHECKING block.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORTEX = Path(__file__).resolve().parents[2] / "cortex"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(CORTEX.rglob("*.py")):
        dotted = ".".join(path.relative_to(CORTEX.parent).with_suffix("").parts)
        found[dotted.removesuffix(".__init__")] = path
    return found


def imported_modules(path: Path, dotted: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    annotation_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in annotation_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    resolved = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != dotted:
            resolved.add(name)
    return resolved


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported_modules(path, name, set(found)) for name, path in found.items()}


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    edges = graph()
    cycles: set[str] = set()
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in trail:
                cycles.add(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for name in sorted(edges):
        if name not in done:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


def test_the_layers_and_the_mcp_adapter_never_import_the_activator() -> None:
    edges = graph()
    upward = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name.startswith(("cortex.layers", "cortex.mcp_adapter"))
        for target in targets
        if target.startswith("cortex.activator")
    )
    assert not upward, "the activator uses the layers and the adapter, not the other way round:\n" + "\n".join(upward)
    # The adapter's only cortex imports are its OAuth client pieces, which import nothing else of cortex.
    oauth = {"cortex.mcp_oauth", "cortex.oauth_credentials"}
    assert {t for t in edges["cortex.mcp_adapter"] if t.startswith("cortex")} <= oauth, edges["cortex.mcp_adapter"]
    for name in oauth:
        assert {t for t in edges[name] if t.startswith("cortex")} <= oauth, (name, edges[name])
