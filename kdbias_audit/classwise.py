"""Class-wise audit: relative class accuracy, per-class Welch tests, BH q-values, permutation calibration.

Definitions (``DESIGN.md``; paper section 4, eq. 8). For seed ``s`` of a run set:

* overall accuracy ``acc_s = mean(pred == label)``;
* class accuracy ``a_cs = mean(pred == label | label == c)``;
* relative class accuracy ``r_cs = a_cs / acc_s``; the null hypothesis is that distillation
  leaves ``r_c`` unchanged.

Between run sets A and B, each class gets a two-sided Welch t-test of ``{r_cs}`` of A against
``{r_cs}`` of B across seeds. A permutation test over splits of the pooled runs says whether the
*number* of significant classes is more than seed noise.

Everything is vectorised over classes (and over permutation splits); there is no Python loop
over classes.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import DegenerateDataWarning, KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .io import RunSet

__all__ = [
    "SeedAccuracy",
    "WelchResult",
    "ClasswiseResult",
    "seed_accuracies",
    "welch_classwise",
    "benjamini_hochberg",
    "permutation_count_test",
    "PermutationCountResult",
    "classwise_test",
]

#: Largest number of splits enumerated exactly (``itertools.combinations``) by default.
MAX_EXACT_SPLITS = 10_000

# Work on at most this many float64 elements per permutation batch (about 32 MB).
_BATCH_ELEMENTS = 4_000_000


# ---------------------------------------------------------------------------------------------
# Per-seed accuracies
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SeedAccuracy:
    """Per-seed overall, class and relative class accuracy of one run set.

    Attributes
    ----------
    accuracy : ndarray, shape (S,)
        ``acc_s``, overall accuracy of each seed (fraction).
    class_accuracy : ndarray, shape (S, C)
        ``a_cs``; NaN for a class without test samples.
    relative_accuracy : ndarray, shape (S, C)
        ``r_cs = a_cs / acc_s``; NaN where ``a_cs`` is NaN or ``acc_s == 0``.
    class_counts : ndarray, shape (C,)
        Number of test samples of each class (identical for every seed).
    """

    accuracy: np.ndarray
    class_accuracy: np.ndarray
    relative_accuracy: np.ndarray
    class_counts: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (seed index, class)."""
        import pandas as pd

        s, c = self.class_accuracy.shape
        return pd.DataFrame(
            {
                "seed_index": np.repeat(np.arange(s), c),
                "class": np.tile(np.arange(c), s),
                "n": np.tile(self.class_counts, s),
                "accuracy": np.repeat(self.accuracy, c),
                "class_accuracy": self.class_accuracy.ravel(),
                "relative_accuracy": self.relative_accuracy.ravel(),
            }
        )


def seed_accuracies(y_true: Any, preds: Any, num_classes: int) -> SeedAccuracy:
    """Overall, class-wise and relative class-wise accuracy of every seed, from one bincount.

    .. math::

        acc_s = \\frac{1}{N}\\sum_n [\\hat y_{sn} = y_n], \\qquad
        a_{cs} = \\frac{\\sum_n [\\hat y_{sn} = y_n = c]}{\\sum_n [y_n = c]}, \\qquad
        r_{cs} = a_{cs} / acc_s .

    The correct-prediction counts of all seeds and classes come from a single
    ``np.bincount(s * C + y)`` over the correct predictions.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True classes in ``[0, num_classes)``.
    preds : array-like of int, shape (S, N) or (N,)
        Predicted classes of each seed (a 1-D array is one seed).
    num_classes : int
        Number of classes ``C``.

    Returns
    -------
    SeedAccuracy

    Warns
    -----
    DegenerateDataWarning
        A class without test samples (its class accuracy is NaN) or a seed with accuracy 0 (its
        relative accuracies are NaN).

    Examples
    --------
    >>> acc = seed_accuracies([0, 0, 1, 1], [[0, 1, 1, 1]], 2)
    >>> acc.accuracy, acc.class_accuracy, acc.relative_accuracy
    (array([0.75]), array([[0.5, 1. ]]), array([[0.66666667, 1.33333333]]))
    """
    y = np.asarray(y_true)
    p = np.asarray(preds)
    if p.ndim == 1:
        p = p[None, :]
    if y.ndim != 1 or p.ndim != 2 or p.shape[1] != y.shape[0]:
        raise KDAuditError(
            f"preds must have shape (S, N) with N = len(y_true) = {y.shape[0]}; got {p.shape}"
        )
    num_classes = int(num_classes)
    if num_classes < 1:
        raise KDAuditError(f"num_classes must be at least 1; got {num_classes}")
    y = y.astype(np.int64, copy=False)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise KDAuditError(f"y_true has labels outside [0, {num_classes})")
    n_seeds, n = p.shape

    correct = p == y[None, :]
    seed_idx, sample_idx = np.nonzero(correct)
    correct_counts = np.bincount(
        seed_idx * num_classes + y[sample_idx], minlength=n_seeds * num_classes
    ).reshape(n_seeds, num_classes)
    class_counts = np.bincount(y, minlength=num_classes)
    n_correct = correct_counts.sum(axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = n_correct / n if n else np.full(n_seeds, np.nan)
        class_accuracy = correct_counts / class_counts[None, :]
        class_accuracy[:, class_counts == 0] = np.nan
        relative = class_accuracy / accuracy[:, None]
        relative[~(accuracy > 0), :] = np.nan

    empty = np.flatnonzero(class_counts == 0)
    if empty.size:
        shown = ", ".join(map(str, empty[:10])) + (", ..." if empty.size > 10 else "")
        warnings.warn(
            f"{empty.size} class(es) have no test samples ({shown}); their class accuracy is NaN",
            DegenerateDataWarning,
            stacklevel=2,
        )
    zero = np.flatnonzero(~(accuracy > 0))
    if zero.size:
        warnings.warn(
            f"{zero.size} seed(s) have overall accuracy 0 (seed index {', '.join(map(str, zero[:10]))}); "
            "their relative class accuracies are NaN",
            DegenerateDataWarning,
            stacklevel=2,
        )
    return SeedAccuracy(
        accuracy=accuracy.astype(float),
        class_accuracy=class_accuracy,
        relative_accuracy=relative,
        class_counts=class_counts,
    )


# ---------------------------------------------------------------------------------------------
# Welch tests, vectorised
# ---------------------------------------------------------------------------------------------


def _welch_core(xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, ...]:
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


def benjamini_hochberg(pvalues: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries are left out and stay NaN.

    .. math:: q_{(i)} = \\min_{k \\ge i} \\min(1, p_{(k)} m / k)

    over the ``m`` finite p-values sorted ascending. Equals
    ``scipy.stats.false_discovery_control(p, method="bh")`` on the finite entries.
    """
    p = np.asarray(pvalues, dtype=float)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    m = int(finite.sum())
    if m == 0:
        return q
    pf = p[finite]
    order = np.argsort(pf, kind="stable")
    ranked = pf[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(adjusted, 0.0, 1.0)
    q[finite] = out
    return q


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


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    alpha = float(alpha)
    if not (0.0 < alpha < 1.0):
        raise KDAuditError(f"{name} must be in (0, 1); got {alpha}")
    return alpha


def _as_samples(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise KDAuditError(f"{name} must have shape (seeds, classes); got {arr.shape}")
    if arr.shape[0] < 2:
        raise KDAuditError(
            f"{name} has {arr.shape[0]} seed(s); a Welch test needs at least 2 per side"
        )
    return arr


def welch_classwise(
    rel_a: Any, rel_b: Any, *, alpha: float = 0.05, confidence_level: float = 0.95
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

    alpha = _check_alpha(alpha)
    confidence_level = _check_alpha(confidence_level, "confidence_level")
    xa, xb = _as_samples(rel_a, "rel_a"), _as_samples(rel_b, "rel_b")
    if xa.shape[1] != xb.shape[1]:
        raise KDAuditError(
            f"rel_a has {xa.shape[1]} classes but rel_b has {xb.shape[1]}; they must match"
        )
    delta, se2, df, statistic, pvalue, testable = _welch_core(xa, xb)
    with np.errstate(invalid="ignore"):
        half = special.stdtrit(df, 0.5 + confidence_level / 2.0) * np.sqrt(se2)
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
    )


# ---------------------------------------------------------------------------------------------
# Permutation calibration of the count of significant classes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PermutationCountResult:
    """Null distribution of the number of classes with ``p <= alpha`` over splits of the pool.

    Attributes
    ----------
    observed : int
        Count for the observed split (A, B).
    pvalue : float
        Share of splits with a count ``>= observed``. Exact enumeration: over all splits (the
        observed one is among them). Random splits: ``(1 + #{null >= observed}) / (1 + P)``.
        NaN when no split was evaluated.
    expected : float
        Mean count over the evaluated splits (the expected number of false positives).
    null_counts : ndarray of int, shape (P,)
    exact : bool
        All splits were enumerated.
    """

    observed: int
    pvalue: float
    expected: float
    null_counts: np.ndarray
    exact: bool

    @property
    def n_permutations(self) -> int:
        return int(self.null_counts.shape[0])


def _n_splits(n_a: int, n_b: int) -> int:
    return math.comb(n_a + n_b, n_a)


def _split_orders(
    n_a: int, n_b: int, permutations: int | None, random_state: Any
) -> tuple[np.ndarray, bool]:
    """Row ``k`` lists pool indices; the first ``n_a`` go to A. Returns (orders, exact)."""
    total = n_a + n_b
    limit = MAX_EXACT_SPLITS if permutations is None else int(permutations)
    if limit < 0:
        raise KDAuditError(f"permutations must be >= 0; got {limit}")
    if _n_splits(n_a, n_b) <= limit:
        combos = np.array(list(itertools.combinations(range(total), n_a)), dtype=np.int64)
        in_a = np.zeros((combos.shape[0], total), dtype=bool)
        np.put_along_axis(in_a, combos, True, axis=1)
        return np.argsort(~in_a, axis=1, kind="stable"), True
    rng = np.random.default_rng(random_state)
    base = np.broadcast_to(np.arange(total), (limit, total))
    return rng.permuted(base, axis=1), False


def permutation_count_test(
    rel_a: Any,
    rel_b: Any,
    *,
    alpha: float = 0.05,
    permutations: int | None = None,
    random_state: Any = 0,
    observed: int | None = None,
) -> PermutationCountResult:
    """Is the number of significant classes more than seed noise? A permutation test.

    The ``S_a + S_b`` runs are pooled and split into groups of sizes ``S_a`` and ``S_b`` every
    possible way (``C(S_a+S_b, S_a)`` splits, when that is at most ``permutations`` or, by
    default, 10,000), else ``permutations`` (default 10,000) random splits drawn from
    ``np.random.default_rng(random_state)``. For each split the per-class Welch tests are rerun
    and the classes with ``p <= alpha`` counted; all splits and classes are computed as batched
    ``(P, S, C)`` arrays.

    ``pvalue = #{splits: count >= observed} / #splits`` (exact; the observed split is one of
    them) or ``(1 + #{random splits: count >= observed}) / (1 + P)``; ``expected`` is the mean
    count over the evaluated splits. ``permutations=0`` skips the test (NaN results).
    """
    alpha = _check_alpha(alpha)
    xa, xb = _as_samples(rel_a, "rel_a"), _as_samples(rel_b, "rel_b")
    if xa.shape[1] != xb.shape[1]:
        raise KDAuditError(
            f"rel_a has {xa.shape[1]} classes but rel_b has {xb.shape[1]}; they must match"
        )
    n_a, n_b, n_classes = xa.shape[0], xb.shape[0], xa.shape[1]
    if observed is None:
        *_, p_obs, ok_obs = _welch_core(xa, xb)
        with np.errstate(invalid="ignore"):
            observed = int((ok_obs & (p_obs <= alpha)).sum())
    orders, exact = _split_orders(n_a, n_b, permutations, random_state)
    # With equal sides, every split's mirror (A and B swapped) is also a split and has the same
    # count (the Welch test is symmetric): evaluate the first half of the lexicographic
    # enumeration (the splits with run 0 in A) and mirror it (split i <-> split P-1-i).
    mirror = exact and n_a == n_b and orders.shape[0] > 1
    if mirror:
        orders = orders[: orders.shape[0] // 2]
    pool = np.concatenate([xa, xb], axis=0)
    n_splits = orders.shape[0]
    counts = np.empty(n_splits, dtype=np.int64)
    batch = max(1, _BATCH_ELEMENTS // max(1, (n_a + n_b) * n_classes))
    for start in range(0, n_splits, batch):
        block = pool[orders[start : start + batch]]  # (P, S, C)
        *_, p, testable = _welch_core(block[:, :n_a], block[:, n_a:])
        with np.errstate(invalid="ignore"):
            counts[start : start + batch] = (testable & (p <= alpha)).sum(axis=1)
    if mirror:
        counts = np.concatenate([counts, counts[::-1]])
        n_splits = counts.shape[0]
    if n_splits == 0:
        return PermutationCountResult(observed, float("nan"), float("nan"), counts, exact)
    at_least = int((counts >= observed).sum())
    pvalue = at_least / n_splits if exact else (1 + at_least) / (1 + n_splits)
    return PermutationCountResult(
        observed=int(observed),
        pvalue=float(pvalue),
        expected=float(counts.mean()),
        null_counts=counts,
        exact=exact,
    )


# ---------------------------------------------------------------------------------------------
# Run set against run set
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClasswiseResult:
    """Class-wise comparison of run set B against run set A (per-class arrays have shape (C,)).

    Counts: ``n_significant`` (``p <= alpha``, the paper's #SC), ``n_significant_fdr``
    (BH ``q <= alpha``), ``n_untestable``; permutation calibration of ``n_significant``:
    ``count_pvalue``, ``expected_false_positives``, ``n_permutations`` (splits evaluated).
    Per class: seed means ``acc_a, acc_b`` (class accuracy) and ``rel_a, rel_b`` (relative class
    accuracy), and the Welch test of ``rel_b`` against ``rel_a`` (see :class:`WelchResult`).
    ``seed_accuracy_a/b`` hold each seed's overall accuracy.
    """

    n_classes: int
    n_significant: int
    n_significant_fdr: int
    n_untestable: int
    count_pvalue: float
    expected_false_positives: float
    n_permutations: int
    acc_a: np.ndarray
    acc_b: np.ndarray
    rel_a: np.ndarray
    rel_b: np.ndarray
    delta: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    df: np.ndarray
    pvalue: np.ndarray
    qvalue: np.ndarray
    significant: np.ndarray
    class_names: list[str] | None = None
    untestable: np.ndarray | None = None
    significant_fdr: np.ndarray | None = None
    seed_accuracy_a: np.ndarray | None = None
    seed_accuracy_b: np.ndarray | None = None
    alpha: float = 0.05
    confidence_level: float = 0.95
    permutations_exact: bool = True

    def class_name(self, c: int) -> str | None:
        if self.class_names is None or c >= len(self.class_names):
            return None
        return str(self.class_names[c])

    def to_frame(self) -> pd.DataFrame:
        """One row per class, in class-index order."""
        import pandas as pd

        c = self.n_classes
        names = [self.class_name(i) for i in range(c)]
        untestable = self.untestable if self.untestable is not None else ~np.isfinite(self.pvalue)
        return pd.DataFrame(
            {
                "class": np.arange(c),
                "name": pd.Series(names, dtype=object),
                "acc_a": self.acc_a,
                "acc_b": self.acc_b,
                "rel_a": self.rel_a,
                "rel_b": self.rel_b,
                "delta": self.delta,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "df": self.df,
                "pvalue": self.pvalue,
                "qvalue": self.qvalue,
                "significant": self.significant,
                "untestable": untestable,
            }
        )

    def most_affected(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` classes with the smallest p-values (ties: larger ``|delta|`` first; NaN last)."""
        df = self.to_frame()
        key = np.where(np.isfinite(self.pvalue), self.pvalue, np.inf)
        order = np.lexsort((-np.abs(np.nan_to_num(self.delta)), key))
        return df.iloc[order[: max(0, int(k))]].reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        return {
            "n_classes": int(self.n_classes),
            "n_significant": int(self.n_significant),
            "n_significant_fdr": int(self.n_significant_fdr),
            "n_untestable": int(self.n_untestable),
            "count_pvalue": float(self.count_pvalue),
            "expected_false_positives": float(self.expected_false_positives),
            "n_permutations": int(self.n_permutations),
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``classwise`` object of the ``kdaudit compare`` JSON contract (NaN kept as float)."""

        def f(x: Any) -> float:
            return float(x)

        def f_or_none(x: Any) -> float | None:
            return float(x) if np.isfinite(x) else None

        classes = [
            {
                "class": i,
                "name": self.class_name(i),
                "acc_a": f(self.acc_a[i]),
                "acc_b": f(self.acc_b[i]),
                "rel_a": f(self.rel_a[i]),
                "rel_b": f(self.rel_b[i]),
                "delta": f(self.delta[i]),
                "ci_low": f(self.ci_low[i]),
                "ci_high": f(self.ci_high[i]),
                "statistic": f(self.statistic[i]),
                "df": f(self.df[i]),
                "pvalue": f_or_none(self.pvalue[i]),
                "qvalue": f_or_none(self.qvalue[i]),
                "significant": bool(self.significant[i]),
            }
            for i in range(self.n_classes)
        ]
        return {**self.summary(), "classes": classes}

    def _repr_html_(self) -> str:
        s = self.summary()
        head = (
            f"<p><b>Class-wise Welch tests</b>: {s['n_significant']} of {s['n_classes']} classes "
            f"with p &le; {self.alpha:g} (BH: {s['n_significant_fdr']}; untestable: "
            f"{s['n_untestable']}); count p-value {s['count_pvalue']:.4g} over "
            f"{s['n_permutations']} splits, expected false positives "
            f"{s['expected_false_positives']:.3g}.</p>"
        )
        return head + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")


def _where(rs: Any) -> str:
    path = getattr(rs, "path", None)
    return str(path) if path is not None else str(getattr(rs, "name", "run set"))


def classwise_test(
    a: RunSet,
    b: RunSet,
    *,
    alpha: float = 0.05,
    permutations: int | None = None,
    random_state: Any = 0,
    confidence_level: float = 0.95,
) -> ClasswiseResult:
    """Per-class Welch tests of B's relative class accuracy against A's, with error control.

    For every class ``c``: a two-sided Welch t-test of ``{r_cs}`` (relative class accuracy per
    seed, see :func:`seed_accuracies`) of ``b`` against ``a``, ``delta = mean(r_B) - mean(r_A)``
    with its Welch confidence interval, BH q-values, and a permutation calibration of the number
    of significant classes (:func:`permutation_count_test`).

    Parameters
    ----------
    a, b : RunSet
        Run set A (e.g. teacher or non-distilled student) and B (e.g. distilled student), at
        least 2 seeds each, same number of classes.
    alpha : float
        Significance level (``p <= alpha``; BH ``q <= alpha``).
    permutations : int or None
        Upper bound on the splits evaluated: all splits when there are at most this many
        (None: 10,000), else this many random splits. 0 skips the calibration.
    random_state : int or numpy Generator seed
        Seed of the random splits.

    Raises
    ------
    KDAuditError
        A side with fewer than 2 seeds, or different numbers of classes.
    """
    alpha = _check_alpha(alpha)
    for rs in (a, b):
        n = len(rs.seeds)
        if n < 2:
            raise KDAuditError(
                f"{_where(rs)}: has {n} seed{'s' if n != 1 else ''}; "
                "a Welch test needs at least 2 per side"
            )
    if a.num_classes != b.num_classes:
        raise KDAuditError(
            f"{_where(b)}: has {b.num_classes} classes but {_where(a)} has {a.num_classes}; "
            "compared run sets must have the same classes"
        )
    c = int(a.num_classes)
    acc_a = seed_accuracies(a.label, a.preds, c)
    acc_b = seed_accuracies(b.label, b.preds, c)
    welch = welch_classwise(
        acc_a.relative_accuracy,
        acc_b.relative_accuracy,
        alpha=alpha,
        confidence_level=confidence_level,
    )
    n_sig = int(welch.significant.sum())
    perm = permutation_count_test(
        acc_a.relative_accuracy,
        acc_b.relative_accuracy,
        alpha=alpha,
        permutations=permutations,
        random_state=random_state,
        observed=n_sig,
    )
    class_names = a.class_names or b.class_names

    return ClasswiseResult(
        n_classes=c,
        n_significant=n_sig,
        n_significant_fdr=int(welch.significant_fdr.sum()),
        n_untestable=int(welch.untestable.sum()),
        count_pvalue=perm.pvalue,
        expected_false_positives=perm.expected,
        n_permutations=perm.n_permutations,
        acc_a=acc_a.class_accuracy.mean(axis=0),
        acc_b=acc_b.class_accuracy.mean(axis=0),
        rel_a=acc_a.relative_accuracy.mean(axis=0),
        rel_b=acc_b.relative_accuracy.mean(axis=0),
        delta=welch.delta,
        ci_low=welch.ci_low,
        ci_high=welch.ci_high,
        statistic=welch.statistic,
        df=welch.df,
        pvalue=welch.pvalue,
        qvalue=welch.qvalue,
        significant=welch.significant,
        class_names=list(class_names) if class_names is not None else None,
        untestable=welch.untestable,
        significant_fdr=welch.significant_fdr,
        seed_accuracy_a=acc_a.accuracy,
        seed_accuracy_b=acc_b.accuracy,
        alpha=alpha,
        confidence_level=confidence_level,
        permutations_exact=perm.exact,
    )
