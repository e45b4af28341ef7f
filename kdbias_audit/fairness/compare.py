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
from ..checks import check_alpha, check_comparable, where
from ..frames import frame_method
from ..plainjson import plain
from .attributes import parse_sensitive, resolve_positive
from .audit import AttributeFairness, FairnessAudit, fairness_audit

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
        """``{"delta", "statistic", "df", "pvalue", "significant"}`` (NaN/inf as ``None``)."""
        return plain(
            {
                "delta": self.delta,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "significant": self.significant,
            }
        )


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

    @frame_method
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
        from ..render.views import fairness_comparison_frame

        return fairness_comparison_frame(self)

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)


def _no_audit(runset: RunSet) -> FairnessAudit:
    """The audit of no attribute (what two run sets without a shared attribute have)."""
    path = getattr(runset, "path", None)
    return FairnessAudit(
        runset=str(runset.name),
        path=None if path is None else str(path),
        num_classes=int(runset.num_classes),
        seeds=tuple(int(s) for s in runset.seeds),
        results=(),
    )


def compare_fairness(
    a: RunSet,
    b: RunSet,
    *,
    sensitive: Sequence[str] | None = None,
    positive_class: int | None = None,
    alpha: float = DEFAULT_ALPHA,
) -> FairnessComparison:
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
    FairnessComparison
        Always; with no attributes (``results == ()``) when the run sets share no group
        attribute and ``sensitive`` is None.
    """
    alpha = check_alpha(alpha)
    check_comparable(a, b)  # aligned by sample_id, however the run sets were loaded
    attrs_a, attrs_b = tuple(a.group_attributes), tuple(b.group_attributes)
    if sensitive is None:
        shared = [x for x in attrs_a if x in attrs_b]
        if not shared:
            return FairnessComparison(
                a=_no_audit(a), b=_no_audit(b), alpha=float(alpha), results=()
            )
        sensitive = shared
    else:
        parse_sensitive(sensitive, attrs_a, where=where(a))
        parse_sensitive(sensitive, attrs_b, where=where(b))
    if int(a.num_classes) != int(b.num_classes):
        raise KDAuditError(
            f"{where(b)}: {b.num_classes} classes, but {where(a)} has "
            f"{a.num_classes}; fairness of different tasks cannot be compared"
        )
    if positive_class is None and int(a.num_classes) == 2:
        pa, pb = resolve_positive(a, None), resolve_positive(b, None)
        if pa != pb:
            raise KDAuditError(
                f"{where(b)}: positive_class {pb} differs from {pa} in "
                f"{where(a)}; pass positive_class explicitly"
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
