"""The producers' layout: no import cycle between modules, no private cross-module names."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "producers"


def _name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, module_level: bool = False) -> list[tuple[str, str]]:
    """``(module, name)`` of the ``from X import name`` statements of ``path``: all of them
    (function-level ones too: a lazy import is still a dependency), or the module-level ones."""
    here = _name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    tree = ast.parse(path.read_text())
    for node in tree.body if module_level else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                target = sub if (PKG.parent / (sub.replace(".", "/") + ".py")).is_file() else module
                out.append((target, a.name))
    return out


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted(PKG.rglob("*.py"))}


def test_no_import_cycle_between_producers_modules():
    mods = _modules()
    graph = {m: {t for t, _ in _imports(p) if t in mods and t != m} for m, p in mods.items()}
    # a package's __init__ importing its own submodules is not a cycle of the layout
    for m in graph:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                raise AssertionError(" -> ".join([*stack, m, t]))
            if t not in state:
                visit(t, [*stack, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_no_module_imports_another_modules_private_name():
    bad = [
        f"{m}: from {t} import {n}"
        for m, p in _modules().items()
        for t, n in _imports(p)
        if t.startswith("producers") and n.startswith("_") and not n.startswith("__")
    ]
    assert not bad, bad
