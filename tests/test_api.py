"""The curated public API: every exported name resolves, lazily and without heavy imports."""

import subprocess
import sys

import kdbias_audit


def test_every_exported_name_resolves_without_torch_or_matplotlib():
    code = (
        "import sys, kdbias_audit as k\n"
        "missing = [n for n in k.__all__ if getattr(k, n, None) is None]\n"
        "assert not missing, missing\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'timm', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_is_an_attribute_error():
    try:
        kdbias_audit.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_function_exports_are_not_shadowed_by_submodules():
    """`kdbias_audit.compare` / `.disagreement` stay the functions after every submodule loads."""
    code = (
        "import kdbias_audit as k, kdbias_audit.cli, kdbias_audit.sweep, kdbias_audit.report\n"
        "assert callable(k.compare) and callable(k.disagreement), (k.compare, k.disagreement)\n"
        "for name in k.__all__:\n"
        "    assert not isinstance(getattr(k, name), type(k)), name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _core_classes() -> dict[str, type]:
    """Every class defined in a kdbias_audit module (all modules imported)."""
    import importlib
    import inspect
    import pkgutil

    out: dict[str, type] = {}
    for info in pkgutil.walk_packages(kdbias_audit.__path__, "kdbias_audit."):
        if info.name in ("kdbias_audit.classwise", "kdbias_audit.tables") or info.name.endswith(
            "__main__"
        ):  # deprecated shims; the CLI entry point runs on import
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == info.name and not name.startswith("_"):
                out[name] = obj
    return out


def test_every_returned_type_is_exported():
    """What an exported function returns, and every result type a returned result holds
    (dataclass fields and properties, transitively), is in ``kdbias_audit.__all__``."""
    import dataclasses
    import inspect
    import re

    classes = _core_classes()
    exported = set(kdbias_audit.__all__)
    # plain helpers and enums of the CLI are not results
    ignore = {"OutputFormat", "PairingOption", "TableFormat"}

    def named(annotation) -> set[str]:
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        return {w for w in re.findall(r"[A-Za-z_]\w*", str(text)) if w in classes} - ignore

    todo: list[str] = []
    for name in kdbias_audit.__all__:
        obj = getattr(kdbias_audit, name)
        if inspect.isfunction(obj):
            todo += named(inspect.signature(obj).return_annotation)
        elif inspect.isclass(obj):
            todo.append(name)
    seen: set[str] = set()
    missing = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in exported:
            missing.add(name)
        cls = classes[name]
        if dataclasses.is_dataclass(cls):
            for f in dataclasses.fields(cls):
                todo += named(f.type)
        for attr in vars(cls).values():
            if isinstance(attr, property) and attr.fget is not None:
                todo += named(inspect.signature(attr.fget).return_annotation)
    assert not missing, sorted(missing)


def test_type_checking_block_names_every_lazy_export():
    """Editors and mypy see the lazy exports through the TYPE_CHECKING block of __init__."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(kdbias_audit.__file__).read_text())
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    imported = {
        a.asname or a.name
        for n in ast.walk(block)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert imported == set(kdbias_audit._EXPORTS), set(kdbias_audit._EXPORTS) ^ imported


def test_every_export_is_documented():
    """Every exported function and class has a docstring (numpydoc: what it is, then details)."""
    import inspect

    missing = [
        name
        for name in kdbias_audit.__all__
        if (inspect.isfunction(obj := getattr(kdbias_audit, name)) or inspect.isclass(obj))
        # a dataclass without a docstring gets "Name(field, ...)" from dataclasses
        and (not (doc := (obj.__doc__ or "").strip()) or doc.startswith(f"{obj.__name__}("))
    ]
    assert not missing, missing
