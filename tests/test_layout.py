"""The core's layout rules: no private cross-module imports, no import cycle in the CLI,
deprecated import paths still work (with a DeprecationWarning)."""

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
