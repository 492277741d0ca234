"""The house keeps its shape: the README's architecture names real modules, no import cycle, small modules, and the
Kubernetes layer usable without the MCP framework."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("k3s_mcp", "cortex", "devcluster")
# "About 400 lines": past this a module says in its docstring why it is one module.
MAX_LINES = 420


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(PROJECT).with_suffix("").parts)
            found[dotted.removesuffix(".__init__")] = path
    return found


def runtime_imports(path: Path, dotted: str, known: set[str]) -> set[str]:
    """Project modules that `path` imports when it is imported. Imports under TYPE_CHECKING or inside functions do
    not run at import time, so they cannot close a cycle; `from pkg import submodule` depends on the submodule."""
    tree = ast.parse(path.read_text())
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    imported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if isinstance(node, ast.If | ast.Try) else [node]:
            if isinstance(child, ast.Import):
                imported |= {alias.name for alias in child.names}
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in child.names:
                    imported.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    resolved = set()
    for name in imported:
        while name and name not in known:
            name = name.rpartition(".")[0]
        # A package that re-exports its own submodules is the usual shape of an __init__, not a cycle.
        if name and name != dotted and not (path.name == "__init__.py" and name.startswith(dotted + ".")):
            resolved.add(name)
    return resolved


def test_no_import_cycle() -> None:
    found = modules()
    graph = {name: runtime_imports(path, name, set(found)) for name, path in found.items()}
    done: set[str] = set()
    cycles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in done:
                visit(nxt, [*trail, nxt])
        done.add(node)

    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles)))


@pytest.mark.parametrize("dotted", sorted(modules()))
def test_a_module_over_400_lines_says_why(dotted: str) -> None:
    path = modules()[dotted]
    lines = len(path.read_text().splitlines())
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert docstring, f"{path.relative_to(PROJECT)} has no docstring saying what it is for"
    if lines > MAX_LINES:
        assert "one module" in docstring.lower(), (
            f"{path.relative_to(PROJECT)} has {lines} lines: split it, or say in its docstring why it is one module"
        )


def test_the_kubernetes_layer_needs_no_mcp_framework() -> None:
    probe = "import sys, k3s_mcp.kube; print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastmcp', 'mcp')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert result.stdout.strip() == "[]", result.stdout


def architecture_section() -> str:
    readme = (PROJECT / "README.md").read_text()
    match = re.search(r"^## Architecture\n(.*?)^## ", readme, re.M | re.S)
    assert match, "README.md has no '## Architecture' section"
    return match.group(1)


def diagram_paths(section: str) -> set[str]:
    """The paths of the package diagram: each line names entries (`dir/` or `file.py`) indented under its parent."""
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "the Architecture section has no package diagram"
    paths: set[str] = set()
    parents: list[tuple[int, str]] = []
    for line in block.group(1).splitlines():
        indent = len(line) - len(line.lstrip())
        if indent >= 20:
            continue  # a description's second line
        # Entries come first; two spaces start the description.
        entries = [e for e in line.strip().split("  ")[0].split() if e.endswith("/") or e.endswith(".py")]
        if not entries:
            continue
        parents = [(depth, name) for depth, name in parents if depth < indent]
        base = parents[-1][1] if parents else ""
        paths |= {base + entry for entry in entries}
        if entries[-1].endswith("/"):
            parents.append((indent, base + entries[-1]))
    return paths


def test_the_readme_architecture_names_modules_that_exist() -> None:
    section = architecture_section()
    named = set(re.findall(r"`((?:k3s_mcp|cortex|devcluster|charts|tests|bench)/[\w./-]*)`", section))
    named |= diagram_paths(section)
    assert len(named) >= 30, sorted(named)
    missing = sorted(name for name in named if not (PROJECT / name.rstrip("/")).exists())
    assert not missing, f"README's Architecture names modules that do not exist: {missing}"
