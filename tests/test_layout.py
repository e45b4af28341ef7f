"""The core's layout rules: no private cross-module imports (names or modules), no import cycle
among the core's modules, deprecated import paths still work (with a DeprecationWarning)."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "kdbias_audit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from X import name`` in ``path`` (relative ones resolved)."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out += [(module, a.name) for a in node.names]
    return out


def test_no_module_imports_another_modules_private_name():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        for module, name in _imports(path):
            if module.startswith("kdbias_audit") and name.startswith("_") and name != "__version__":
                bad.append(f"{_module_name(path)}: from {module} import {name}")
    assert not bad, bad


def test_cli_command_modules_do_not_import_the_cli_package():
    bad = []
    for path in sorted((PKG / "cli").glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        for module, name in _imports(path):
            if module == "kdbias_audit.cli":
                bad.append(f"{path.name}: from kdbias_audit.cli import {name}")
    assert not bad, bad


@pytest.mark.parametrize(
    ("old", "name"),
    [("kdbias_audit.classwise", "classwise_test"), ("kdbias_audit.tables", "render_sweep")],
)
def test_deprecated_module_paths_still_work(old, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old):
        module = importlib.import_module(old)
    assert callable(getattr(module, name))


# --------------------------------------------------------------------------------------------
# The import graph: module-level imports only (imports inside functions and TYPE_CHECKING
# blocks run later or never, so they cannot form an import-time cycle)
# --------------------------------------------------------------------------------------------

MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(path: Path) -> list[str]:
    """The kdbias_audit modules ``path`` imports when it is imported (``from . import x`` of a
    submodule ``x`` counts as importing ``x``)."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[str] = []

    def visit(stmts: list[ast.stmt]) -> None:
        for node in stmts:
            if isinstance(node, ast.Import):
                out.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for a in node.names:
                    sub = f"{module}.{a.name}"
                    out.append(sub if sub in MODULES else module)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(ast.parse(path.read_text()).body)
    return [m for m in out if m in MODULES and m != _module_name(path)]


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": [], "c": ["a", "b"]}) == []


def test_no_import_cycle_among_core_modules():
    graph = {name: _module_level_imports(path) for name, path in MODULES.items()}
    assert not _cycles(graph), _cycles(graph)


def test_private_modules_are_imported_only_inside_their_package():
    bad = []
    for name, path in MODULES.items():
        for target in _module_level_imports(path) + [m for m, _ in _imports(path)]:
            if not target.startswith("kdbias_audit"):
                continue
            parts = target.split(".")
            private = [i for i, p in enumerate(parts) if p.startswith("_")]
            owner = ".".join(parts[: private[0]]) if private else ""
            if private and not (name == owner or name.startswith(owner + ".")):
                bad.append(f"{name}: imports {target}")
    assert not bad, bad
