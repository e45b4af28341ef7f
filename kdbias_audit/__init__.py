"""kdbias-audit: what knowledge distillation does to class-wise bias and group fairness.

The public API, grouped by purpose. Heavy or optional parts (matplotlib figures, the HTML
report) are imported lazily by the functions that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it (imported on first use, so `import kdbias_audit` stays fast)
_EXPORTS: dict[str, str] = {
    # errors and warnings
    "KDAuditError": "._errors",
    "PredictionFileError": "._errors",
    "DegenerateDataWarning": "._errors",
    # prediction files (format v1)
    "FORMAT_VERSION": ".io",
    "SeedRun": ".io",
    "RunSet": ".io",
    "write_predictions": ".io",
    "read_predictions": ".io",
    "load_runset": ".io",
    "load_runsets": ".io",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kdbias_audit' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
