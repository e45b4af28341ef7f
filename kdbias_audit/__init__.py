"""kdbias-audit: what knowledge distillation does to class-wise bias and group fairness.

The public API, grouped by purpose. Heavy or optional parts (matplotlib figures, the HTML
report) are imported lazily by the functions that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it (imported on first use, so `import kdbias_audit` stays fast)
_EXPORTS: dict[str, str] = {
    # errors and warnings
    "KDAuditError": ".errors",
    "InvalidArgumentError": ".errors",
    "PredictionFileError": ".errors",
    "DegenerateDataWarning": ".errors",
    # prediction files (format v1)
    "FORMAT_VERSION": ".io.spec",
    "SeedRun": ".io.runset",
    "RunSet": ".io.runset",
    "write_predictions": ".io.writer",
    "read_predictions": ".io.reader",
    "load_runset": ".io.loading",
    "load_runsets": ".io.loading",
    "validate_paths": ".io.validate",
    "ValidationReport": ".io.validate",
    "convert_file": ".io.convert",
    # class-wise audit
    "seed_accuracies": ".stats.classwise",
    "welch_classwise": ".stats.welch",
    "benjamini_hochberg": ".stats.multitest",
    "permutation_count_test": ".stats.permutation",
    "PermutationCountResult": ".stats.permutation",
    "classwise_test": ".stats.classwise",
    "SeedAccuracy": ".stats.classwise",
    "WelchResult": ".stats.welch",
    "ClasswiseResult": ".stats.classwise",
    "disagreement": ".stats.disagreement",
    "DisagreementResult": ".stats.disagreement",
    "compare": ".comparison",
    "Comparison": ".comparison",
    # sample-level inference (one checkpoint per side)
    "paired_classwise_test": ".stats.paired",
    "PairedClasswiseResult": ".stats.paired",
    "mcnemar_test": ".stats.paired_core",
    "RunSetSummary": ".comparison",
    # fairness
    "group_counts": ".fairness.counts",
    "one_vs_rest_counts": ".fairness.counts",
    "GroupCounts": ".fairness.counts",
    "demographic_parity_difference": ".fairness.metrics",
    "equalized_odds_difference": ".fairness.metrics",
    "fairness_audit": ".fairness.audit",
    "compare_fairness": ".fairness.compare",
    "FairnessAudit": ".fairness.audit",
    "AttributeFairness": ".fairness.audit",
    "FairnessComparison": ".fairness.compare",
    # uncertainty of disparity metrics
    "disparity_uncertainty": ".fairness.uncertainty",
    "DisparityUncertainty": ".fairness.uncertainty",
    "MetricUncertainty": ".fairness.uncertainty",
    "paired_disparity_test": ".fairness.paired",
    "PairedDisparityResult": ".fairness.paired",
    "DisparityDifference": ".fairness.paired",
    "AttributeComparison": ".fairness.compare",
    "MetricDiff": ".fairness.compare",
    # sweeps, tables, figures, report
    "discover_sweep": ".sweep.discover",
    "SweepPlan": ".sweep.discover",
    "DiscoveredRunSet": ".sweep.discover",
    "analyze_sweep": ".sweep.analyze",
    "SweepResult": ".sweep.results",
    "SweepRow": ".sweep.results",
    "render_sweep": ".render.tables",
    "render_result": ".render.views",
    "sweep_figures": ".plots",
    "plot_sweep": ".plots",
    "build_report": ".report",
    "write_report": ".report",
}

if TYPE_CHECKING:  # what the lazy exports resolve to, for type checkers and editors
    from .comparison import Comparison, RunSetSummary, compare
    from .errors import (
        DegenerateDataWarning,
        InvalidArgumentError,
        KDAuditError,
        PredictionFileError,
    )
    from .fairness.audit import AttributeFairness, FairnessAudit, fairness_audit
    from .fairness.compare import (
        AttributeComparison,
        FairnessComparison,
        MetricDiff,
        compare_fairness,
    )
    from .fairness.counts import (
        GroupCounts,
        group_counts,
        one_vs_rest_counts,
    )
    from .fairness.metrics import (
        demographic_parity_difference,
        equalized_odds_difference,
    )
    from .fairness.paired import (
        DisparityDifference,
        PairedDisparityResult,
        paired_disparity_test,
    )
    from .fairness.uncertainty import (
        DisparityUncertainty,
        MetricUncertainty,
        disparity_uncertainty,
    )
    from .io.convert import convert_file
    from .io.loading import load_runset, load_runsets
    from .io.reader import read_predictions
    from .io.runset import RunSet, SeedRun
    from .io.spec import FORMAT_VERSION
    from .io.validate import ValidationReport, validate_paths
    from .io.writer import write_predictions
    from .plots import plot_sweep, sweep_figures
    from .render.tables import render_sweep
    from .render.views import render_result
    from .report import build_report, write_report
    from .stats.classwise import (
        ClasswiseResult,
        SeedAccuracy,
        classwise_test,
        seed_accuracies,
    )
    from .stats.disagreement import (
        DisagreementResult,
        disagreement,
    )
    from .stats.multitest import benjamini_hochberg
    from .stats.paired import PairedClasswiseResult, paired_classwise_test
    from .stats.paired_core import mcnemar_test
    from .stats.permutation import PermutationCountResult, permutation_count_test
    from .stats.welch import WelchResult, welch_classwise
    from .sweep.analyze import analyze_sweep
    from .sweep.discover import DiscoveredRunSet, SweepPlan, discover_sweep
    from .sweep.results import SweepResult, SweepRow

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
