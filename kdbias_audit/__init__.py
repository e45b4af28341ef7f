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
    "validate_paths": ".validate",
    "convert_file": ".convert",
    # class-wise audit
    "seed_accuracies": ".classwise",
    "welch_classwise": ".classwise",
    "benjamini_hochberg": ".classwise",
    "permutation_count_test": ".classwise",
    "classwise_test": ".classwise",
    "SeedAccuracy": ".classwise",
    "WelchResult": ".classwise",
    "ClasswiseResult": ".classwise",
    "disagreement": "._disagreement",
    "DisagreementResult": "._disagreement",
    "compare": "._compare",
    "Comparison": "._compare",
    # fairness
    "group_counts": ".fairness",
    "one_vs_rest_counts": ".fairness",
    "GroupCounts": ".fairness",
    "demographic_parity_difference": ".fairness",
    "equalized_odds_difference": ".fairness",
    "fairness_audit": ".fairness",
    "compare_fairness": ".fairness",
    "FairnessAudit": ".fairness",
    "FairnessComparison": ".fairness",
    # sweeps, tables, figures, report
    "discover_sweep": ".sweep",
    "analyze_sweep": ".sweep",
    "SweepResult": ".sweep",
    "render_sweep": ".tables",
    "sweep_figures": ".plots",
    "plot_sweep": ".plots",
    "build_report": ".report",
    "write_report": ".report",
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
