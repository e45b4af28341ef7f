"""Welch comparison of two run sets' fairness audits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..defaults import DEFAULT_ALPHA
from ..errors import KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..io.runset import RunSet
from ..checks import where_named
from .audit import (
    AttributeFairness,
    FairnessAudit,
    fairness_audit,
    fmt_pct,
    parse_sensitive,
    resolve_positive,
)

__all__ = ["MetricDiff", "AttributeComparison", "FairnessComparison", "compare_fairness"]


# --------------------------------------------------------------------------------------------
# Comparing two run sets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricDiff:
    """``delta = mean(B) - mean(A)`` of a fairness metric with a Welch t-test across seeds.

    ``pvalue`` (and ``statistic``, ``df``) is NaN when it is undefined: fewer than two seeds on
    a side, a NaN value, or zero variance on both sides.
    """

    delta: float
    statistic: float
    df: float
    pvalue: float
    alpha: float

    @property
    def significant(self) -> bool:
        return bool(math.isfinite(self.pvalue) and self.pvalue <= self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "pvalue": self.pvalue}


def _welch(a: np.ndarray, b: np.ndarray, alpha: float) -> MetricDiff:
    """Two-sided Welch t-test of ``b`` vs ``a`` (as ``scipy.stats.ttest_ind(equal_var=False)``)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    nan = math.nan
    if a.size == 0 or b.size == 0 or np.isnan(a).any() or np.isnan(b).any():
        return MetricDiff(nan, nan, nan, nan, alpha)
    delta = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return MetricDiff(delta, nan, nan, nan, alpha)
    from ..stats.welch import welch_core

    _, _, df, t, p, testable = welch_core(a[:, None], b[:, None])
    if not testable[0]:
        return MetricDiff(delta, nan, nan, nan, alpha)
    return MetricDiff(delta, float(t[0]), float(df[0]), float(p[0]), alpha)


def _ci_cell(diff: Any) -> dict[str, str]:
    """The paired (sample-level) difference's CI in percent; nothing for a Welch difference."""
    lo, hi = getattr(diff, "ci_low", None), getattr(diff, "ci_high", None)
    if lo is None or hi is None:
        return {}
    cell = (
        "nan"
        if not (math.isfinite(lo) and math.isfinite(hi))
        else f"{100 * lo:+.2f} – {100 * hi:+.2f}"
    )
    return {f"{100 * diff.confidence_level:g}% CI (%)": cell}


@dataclass(frozen=True, eq=False)
class AttributeComparison:
    """One attribute in both run sets, with the B - A differences of DPD and EOD."""

    attribute: str
    a: AttributeFairness
    b: AttributeFairness
    dpd_diff: Any  # MetricDiff (seeds) or fairness.paired.DisparityDifference (samples)
    eod_diff: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "dpd_diff": self.dpd_diff.to_dict(),
            "eod_diff": self.eod_diff.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class FairnessComparison:
    """Fairness of run sets A and B for their shared attributes, with Welch tests on B - A.

    A negative ``delta`` means B is fairer (smaller DPD/EOD) than A.
    """

    a: FairnessAudit
    b: FairnessAudit
    alpha: float
    results: tuple[AttributeComparison, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(r.attribute for r in self.results)

    def __getitem__(self, attribute: str) -> AttributeComparison:
        for r in self.results:
            if r.attribute == attribute:
                return r
        raise KDAuditError(
            f"fairness comparison: no attribute '{attribute}' "
            f"(compared: {', '.join(self.attributes) or 'none'})"
        )

    def to_dict(self) -> dict[str, Any]:
        """``{attr: {"a": {...}, "b": {...}, "dpd_diff": {"delta", "pvalue"}, "eod_diff"}}``."""
        return {r.attribute: r.to_dict() for r in self.results}

    def to_frame(self) -> pd.DataFrame:
        """One row per attribute x metric (fractions): A and B mean/std, delta, p-value."""
        import pandas as pd

        rows = []
        for r in self.results:
            for metric, diff in (("dpd", r.dpd_diff), ("eod", r.eod_diff)):
                rows.append(
                    {
                        "attribute": r.attribute,
                        "metric": metric,
                        "mode": r.a.mode,
                        "a_mean": getattr(r.a, f"{metric}_mean"),
                        "a_std": getattr(r.a, f"{metric}_std"),
                        "b_mean": getattr(r.b, f"{metric}_mean"),
                        "b_std": getattr(r.b, f"{metric}_std"),
                        "delta": diff.delta,
                        # Welch (seeds) has statistic/df; the paired test (samples) a CI
                        "statistic": getattr(diff, "statistic", math.nan),
                        "df": getattr(diff, "df", math.nan),
                        "ci_low": getattr(diff, "ci_low", math.nan),
                        "ci_high": getattr(diff, "ci_high", math.nan),
                        "pvalue": diff.pvalue,
                        "significant": diff.significant,
                    }
                )
        return pd.DataFrame(
            rows,
            columns=[
                "attribute",
                "metric",
                "mode",
                "a_mean",
                "a_std",
                "b_mean",
                "b_std",
                "delta",
                "statistic",
                "df",
                "ci_low",
                "ci_high",
                "pvalue",
                "significant",
            ],
        )

    def display_frame(self) -> pd.DataFrame:
        """As shown in tables: percent with two decimals; p-values with three significant digits."""
        import pandas as pd

        name_a, name_b = self.a.runset, self.b.runset
        if name_a == name_b:  # e.g. two single files both named seed0
            name_a, name_b = f"A: {name_a}", f"B: {name_b}"
        rows = []
        for r in self.results:
            for metric, diff in (("DPD", r.dpd_diff), ("EOD", r.eod_diff)):
                m = metric.lower()
                rows.append(
                    {
                        "attribute": r.attribute,
                        "metric": metric,
                        f"{name_a} (%)": fmt_pct(
                            getattr(r.a, f"{m}_mean"), getattr(r.a, f"{m}_std")
                        ),
                        f"{name_b} (%)": fmt_pct(
                            getattr(r.b, f"{m}_mean"), getattr(r.b, f"{m}_std")
                        ),
                        "B - A (%)": "nan"
                        if not math.isfinite(diff.delta)
                        else f"{100 * diff.delta:+.2f}",
                        **_ci_cell(diff),
                        "p": "" if not math.isfinite(diff.pvalue) else f"{diff.pvalue:.3g}",
                    }
                )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        title = f"<p><b>Fairness: {self.a.runset} (A) vs {self.b.runset} (B)</b></p>"
        return title + self.display_frame().to_html(index=False)


def compare_fairness(
    a: RunSet,
    b: RunSet,
    *,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> FairnessComparison | None:
    """Audit run sets A and B on their shared attributes and test B - A across seeds.

    For DPD and EOD of each attribute: ``delta = mean_s(B) - mean_s(A)`` and a two-sided Welch
    t-test (unequal variances) on the per-seed values; ``pvalue`` is NaN when undefined (e.g.
    zero variance on both sides). A negative delta means B is fairer than A.

    Parameters
    ----------
    a, b : RunSet
    sensitive : sequence of str, optional
        As in :func:`fairness_audit`; default: every attribute the two run sets share.
    positive_class : int, optional
        Binary tasks; default: the metadata ``positive_class`` (which must then agree between
        A and B), else 1.
    alpha : float, default 0.05
        Level for :attr:`MetricDiff.significant`.

    Returns
    -------
    FairnessComparison or None
        None when the run sets share no group attribute (and ``sensitive`` is None).
    """
    if not 0 < alpha < 1:
        raise KDAuditError(f"alpha: expected a value in (0, 1), got {alpha}")
    attrs_a, attrs_b = tuple(a.group_attributes), tuple(b.group_attributes)
    if sensitive is None:
        shared = [x for x in attrs_a if x in attrs_b]
        if not shared:
            return None
        sensitive = shared
    else:
        parse_sensitive(sensitive, attrs_a, where=where_named(a))
        parse_sensitive(sensitive, attrs_b, where=where_named(b))
    if int(a.num_classes) != int(b.num_classes):
        raise KDAuditError(
            f"{where_named(b)}: {b.num_classes} classes, but {where_named(a)} has "
            f"{a.num_classes}; fairness of different tasks cannot be compared"
        )
    if positive_class is None and int(a.num_classes) == 2:
        pa, pb = resolve_positive(a, None), resolve_positive(b, None)
        if pa != pb:
            raise KDAuditError(
                f"{where_named(b)}: positive_class {pb} differs from {pa} in "
                f"{where_named(a)}; pass positive_class explicitly"
            )
    audit_a = fairness_audit(a, sensitive=sensitive, positive_class=positive_class)
    audit_b = fairness_audit(b, sensitive=sensitive, positive_class=positive_class)
    results = tuple(
        AttributeComparison(
            attribute=ra.attribute,
            a=ra,
            b=audit_b[ra.attribute],
            dpd_diff=_welch(ra.dpd_per_seed, audit_b[ra.attribute].dpd_per_seed, alpha),
            eod_diff=_welch(ra.eod_per_seed, audit_b[ra.attribute].eod_per_seed, alpha),
        )
        for ra in audit_a.results
    )
    return FairnessComparison(a=audit_a, b=audit_b, alpha=float(alpha), results=results)
