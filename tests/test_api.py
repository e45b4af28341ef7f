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
