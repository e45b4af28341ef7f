"""Class-wise Welch t-tests, vectorised: the one Welch implementation of the package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..defaults import DEFAULT_ALPHA, DEFAULT_CONFIDENCE_LEVEL
from ..errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from ..checks import check_alpha
from .multitest import benjamini_hochberg

__all__ = ["WelchResult", "welch_classwise"]


# ---------------------------------------------------------------------------------------------
# Welch tests, vectorised
# ---------------------------------------------------------------------------------------------


def welch_core(xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, ...]:
    """Welch pieces for samples along axis -2: ``xa`` (..., S_a, C), ``xb`` (..., S_b, C).

    Returns ``delta, se2, df, statistic, pvalue, testable`` with shape (..., C); ``statistic``
    is ``delta / sqrt(se2)`` with ``delta = mean(xb) - mean(xa)``. A side whose values are all
    equal has variance exactly 0 (not the rounding residue of ``np.var``).
    """
    from scipy import special

    na, nb = xa.shape[-2], xb.shape[-2]
    ma, mb = xa.mean(axis=-2), xb.mean(axis=-2)
    va = np.where(xa.max(axis=-2) == xa.min(axis=-2), 0.0, xa.var(axis=-2, ddof=1))
    vb = np.where(xb.max(axis=-2) == xb.min(axis=-2), 0.0, xb.var(axis=-2, ddof=1))
    qa, qb = va / na, vb / nb
    se2 = qa + qb
    delta = mb - ma
    testable = np.isfinite(se2) & (se2 > 0) & np.isfinite(delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(testable, delta / np.sqrt(se2), np.nan)
        df = np.where(testable, se2 * se2 / (qa * qa / (na - 1) + qb * qb / (nb - 1)), np.nan)
    pvalue = np.minimum(2.0 * special.stdtr(df, -np.abs(statistic)), 1.0)
    return delta, se2, df, statistic, pvalue, testable


@dataclass(frozen=True, eq=False)
class WelchResult:
    """Per-class two-sided Welch t-tests of B against A (arrays of shape (C,)).

    Attributes
    ----------
    statistic : ndarray
        ``(mean(x_B) - mean(x_A)) / sqrt(v_A/n_A + v_B/n_B)``, i.e.
        ``scipy.stats.ttest_ind(x_B, x_A, equal_var=False).statistic``. NaN when untestable.
    df : ndarray
        Welch-Satterthwaite degrees of freedom. NaN when untestable.
    pvalue : ndarray
        Two-sided p-value; NaN when untestable.
    delta : ndarray
        ``mean(x_B) - mean(x_A)``.
    ci_low, ci_high : ndarray
        Welch confidence interval of ``delta`` at ``confidence_level``; NaN when untestable.
    qvalue : ndarray
        Benjamini-Hochberg q-values over the testable classes; NaN when untestable.
    significant : ndarray of bool
        ``pvalue <= alpha`` (never for an untestable class).
    significant_fdr : ndarray of bool
        ``qvalue <= alpha``.
    untestable : ndarray of bool
        Both samples have zero variance (or a relative accuracy is NaN): no test possible.
    alpha, confidence_level : float
    standard_error : ndarray
        ``sqrt(v_A/n_A + v_B/n_B)`` (what :meth:`confidence_interval` needs at any level).
    """

    statistic: np.ndarray
    df: np.ndarray
    pvalue: np.ndarray
    delta: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    qvalue: np.ndarray
    significant: np.ndarray
    significant_fdr: np.ndarray
    untestable: np.ndarray
    alpha: float
    confidence_level: float
    standard_error: np.ndarray | None = None

    def confidence_interval(
        self, confidence_level: float = DEFAULT_CONFIDENCE_LEVEL
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of ``delta`` at ``confidence_level`` per class (NaN when untestable),
        as ``scipy.stats.ttest_ind(x_B, x_A, equal_var=False).confidence_interval()``.

        >>> r = welch_classwise([[1.0], [1.2], [1.1]], [[1.4], [1.5], [1.3]])
        >>> [round(float(v[0]), 4) for v in r.confidence_interval(0.9)]
        [0.1259, 0.4741]
        """
        from scipy import special

        level = check_alpha(confidence_level, "confidence_level")
        if self.standard_error is None:  # built without it: only the stored level is known
            if level != self.confidence_level:
                raise InvalidArgumentError(
                    "confidence_level: this result holds no standard error; only "
                    f"{self.confidence_level:g} is available",
                    parameter="confidence_level",
                )
            return self.ci_low, self.ci_high
        with np.errstate(invalid="ignore"):
            half = special.stdtrit(self.df, 0.5 + level / 2.0) * self.standard_error
        testable = ~self.untestable
        return (
            np.where(testable, self.delta - half, np.nan),
            np.where(testable, self.delta + half, np.nan),
        )

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "class": np.arange(self.delta.shape[0]),
                "delta": self.delta,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "qvalue": self.qvalue,
                "significant": self.significant,
                "untestable": self.untestable,
            }
        )


def as_samples(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InvalidArgumentError(f"{name} must have shape (seeds, classes); got {arr.shape}")
    if arr.shape[0] < 2:
        raise InvalidArgumentError(
            f"{name} has {arr.shape[0]} seed(s); a Welch test needs at least 2 per side"
        )
    return arr


def welch_classwise(
    rel_a: Any,
    rel_b: Any,
    *,
    alpha: float = DEFAULT_ALPHA,
    confidence_level: float = DEFAULT_CONFIDENCE_LEVEL,
) -> WelchResult:
    """Two-sided Welch t-test per class of ``rel_b`` against ``rel_a`` (columns are classes).

    With per-class sample means :math:`\\bar x`, variances :math:`v` (ddof=1) and sizes :math:`n`:

    .. math::

        \\delta = \\bar x_B - \\bar x_A,\\quad
        se = \\sqrt{v_A/n_A + v_B/n_B},\\quad t = \\delta / se,\\quad
        \\nu = \\frac{se^4}{(v_A/n_A)^2/(n_A-1) + (v_B/n_B)^2/(n_B-1)},

    ``p = 2 P(T_\\nu \\ge |t|)`` and the interval ``\\delta \\pm t_{\\nu,(1+cl)/2}\\, se``.
    Identical to ``scipy.stats.ttest_ind(rel_b, rel_a, equal_var=False)`` (and its
    ``confidence_interval``) class by class. A class whose two samples both have zero variance
    is *untestable*: statistic, df, p, q and the interval are NaN and it is never significant
    (with zero variance on one side only the test is still defined). ``delta`` is always given.

    Parameters
    ----------
    rel_a, rel_b : array-like, shape (S_a, C) and (S_b, C)
        Per-seed values (relative class accuracies), at least 2 seeds per side.
    alpha : float
        Significance level for ``significant`` (``p <= alpha``) and ``significant_fdr``.
    confidence_level : float
        Level of the confidence interval of ``delta``.

    Returns
    -------
    WelchResult

    Examples
    --------
    >>> r = welch_classwise([[1.0, 0.9], [1.1, 0.95]], [[1.3, 0.9], [1.4, 0.95]])
    >>> r.delta.round(3), r.untestable
    (array([0.3, 0. ]), array([False, False]))
    """
    from scipy import special

    alpha = check_alpha(alpha)
    confidence_level = check_alpha(confidence_level, "confidence_level")
    xa, xb = as_samples(rel_a, "rel_a"), as_samples(rel_b, "rel_b")
    if xa.shape[1] != xb.shape[1]:
        raise InvalidArgumentError(
            f"rel_a has {xa.shape[1]} classes but rel_b has {xb.shape[1]}; they must match"
        )
    delta, se2, df, statistic, pvalue, testable = welch_core(xa, xb)
    standard_error = np.sqrt(se2)
    with np.errstate(invalid="ignore"):
        half = special.stdtrit(df, 0.5 + confidence_level / 2.0) * standard_error
    ci_low = np.where(testable, delta - half, np.nan)
    ci_high = np.where(testable, delta + half, np.nan)
    qvalue = benjamini_hochberg(pvalue)
    with np.errstate(invalid="ignore"):
        significant = testable & (pvalue <= alpha)
        significant_fdr = testable & (qvalue <= alpha)
    return WelchResult(
        statistic=statistic,
        df=df,
        pvalue=pvalue,
        delta=delta,
        ci_low=ci_low,
        ci_high=ci_high,
        qvalue=qvalue,
        significant=significant,
        significant_fdr=significant_fdr,
        untestable=~testable,
        alpha=alpha,
        confidence_level=confidence_level,
        standard_error=standard_error,
    )
