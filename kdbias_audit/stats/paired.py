"""Sample-level class-wise comparison of two models scored on the same test samples.

For auditing single checkpoints (a third-party teacher and its distilled student), where the
seed-level Welch tests of :mod:`kdbias_audit.classwise` are impossible: the unit of
replication is the **test sample**, and A and B are paired by sample.

Per class ``c`` (``DESIGN.md``, "Sample-level inference"):

* the change of relative class accuracy ``delta_c = r_c(B) - r_c(A)``, ``r_c = a_c / acc``,
  with a Wald confidence interval and two-sided p-value whose standard error is the
  delta-method standard error of the *class-stratified paired bootstrap* (samples redrawn
  within each class, A and B kept together), computed in closed form from the cell counts;
  ``ci_method="bootstrap"`` gives that bootstrap's percentile interval instead;
* the exact McNemar test of class accuracy: a two-sided binomial test of the discordant pairs
  within class ``c`` (B right and A wrong against A right and B wrong), equal to
  ``scipy.stats.binomtest(n01, n01 + n10, 0.5)``;
* Benjamini-Hochberg q-values, and a calibrated p-value for the **count** of classes with
  ``p <= alpha`` from a paired permutation that swaps A's and B's predictions of each sample
  with probability 1/2 (drawn on counts: ``Binomial(n, 1/2)`` of each cell's samples move to
  the mirrored cell).

What this tests: whether these two models differ on this test distribution. With one
checkpoint per side it cannot say whether a difference comes from distillation or from the
randomness of training (that needs seeds; see :func:`kdbias_audit.stats.classwise.classwise_test`).
``r_c`` of every class moves when overall accuracy moves, so with thousands of paired
samples untouched classes become significant in ``r_c`` when a few classes drop; the McNemar
column tests class accuracy itself.

Several seeds per side are *pooled* by sample: with ``S`` seed pairs, each sample carries
``x = (#A seeds right) / S`` and ``y = (#B seeds right) / S``; ``a_c`` and ``acc`` are means of
``x`` (of ``y``), so ``r_c`` is the ratio of the seed-mean class accuracy to the seed-mean
accuracy; the tests treat samples as independent units and each sample's seed-averaged
correctness as its outcome; McNemar becomes the exact sign test of ``y - x``; the permutation
swaps a sample's A and B seed sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ..defaults import DEFAULT_RESAMPLES
from ..errors import KDAuditError
from ..plainjson import plain
from .class_rows import ClassRows
from .multitest import benjamini_hochberg
from .paired_core import (
    class_sums,
    count_and_evidence,
    mcnemar_test,
    paired_cells,
    rel_test,
    two_sided,
)
from .resample import (
    Cells,
    batch_sizes,
    bootstrap_counts,
    check_resamples,
    scatter_sum,
    swap_counts,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "PairedClasswiseResult",
    "paired_cells",
    "paired_classwise_test",
    "mcnemar_test",
]

# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairedClasswiseResult(ClassRows):
    """Sample-level class-wise comparison of B against A (per-class arrays have shape (C,)).

    Attributes
    ----------
    n_classes, n_significant, n_significant_fdr, n_untestable : int
        Counts of classes with ``p <= alpha``, with BH ``q <= alpha``, and untestable (no
        samples, overall accuracy 0, or a zero standard error, e.g. no discordant pair).
    count_pvalue : float
        Paired-permutation p-value of ``n_significant``: share of the ``n_resamples``
        permuted data sets (plus the observed one) whose count is larger, or equal with at
        least as much total evidence ``sum_c z_c^2`` (the tie-break makes it exactly uniform
        under the null rather than conservative); NaN when ``n_resamples == 0``.
    expected_false_positives : float
        Mean count over the permuted data sets.
    n_resamples : int
        Permuted data sets (and bootstrap replicates when ``ci_method="bootstrap"``).
    acc_a, acc_b : ndarray
        Class accuracy ``a_c`` of A and B (seed means when pooled); NaN for an empty class.
    rel_a, rel_b : ndarray
        Relative class accuracy ``r_c = a_c / acc``.
    delta, ci_low, ci_high : ndarray
        ``rel_b - rel_a`` and its confidence interval (NaN when untestable).
    statistic, pvalue, qvalue : ndarray
        Wald ``z = delta / se``, its two-sided p-value and BH q-value (NaN when untestable).
    significant, significant_fdr, untestable : ndarray of bool
    mcnemar_pvalue : ndarray
        Exact McNemar (sign test when pooled) p-value of class accuracy; NaN without
        discordant pairs.
    n01, n10 : ndarray of int
        Samples where B beats A (A beats B) on the class: the discordant pairs.
    class_counts : ndarray of int
    accuracy_a, accuracy_b : float
        Overall accuracy (seed mean when pooled).
    n_pairs : int
        Seed pairs pooled (1: one checkpoint per side).
    alpha, confidence_level : float
    ci_method : {"wald", "bootstrap"}
    class_names : list of str or None
    """

    draws_field: ClassVar[str] = "n_resamples"

    n_classes: int
    n_significant: int
    n_significant_fdr: int
    n_untestable: int
    count_pvalue: float
    expected_false_positives: float
    n_resamples: int
    acc_a: np.ndarray
    acc_b: np.ndarray
    rel_a: np.ndarray
    rel_b: np.ndarray
    delta: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    statistic: np.ndarray
    pvalue: np.ndarray
    qvalue: np.ndarray
    significant: np.ndarray
    significant_fdr: np.ndarray
    untestable: np.ndarray
    mcnemar_pvalue: np.ndarray
    n01: np.ndarray
    n10: np.ndarray
    class_counts: np.ndarray
    accuracy_a: float
    accuracy_b: float
    n_pairs: int = 1
    alpha: float = 0.05
    confidence_level: float = 0.95
    ci_method: str = "wald"
    class_names: list[str] | None = None

    def confidence_interval(self, confidence_level: float | None = None) -> tuple:
        """Wald interval ``delta -/+ z * se`` at another level (``ci_method="wald"`` only)."""
        from scipy import special

        if confidence_level is None:
            return self.ci_low, self.ci_high
        cl = float(confidence_level)
        if not 0 < cl < 1:
            raise KDAuditError(f"confidence_level must be in (0, 1); got {cl}")
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.abs(self.delta / self.statistic)
            se = np.where(self.statistic == 0, np.nan, se)
        half = special.ndtri(0.5 + cl / 2) * se
        return self.delta - half, self.delta + half

    def to_frame(self) -> pd.DataFrame:
        """One row per class, in class-index order."""
        import pandas as pd

        c = self.n_classes
        return pd.DataFrame(
            {
                "class": np.arange(c),
                "name": pd.Series([self.class_name(i) for i in range(c)], dtype=object),
                "n": self.class_counts,
                "acc_a": self.acc_a,
                "acc_b": self.acc_b,
                "rel_a": self.rel_a,
                "rel_b": self.rel_b,
                "delta": self.delta,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "statistic": self.statistic,
                "pvalue": self.pvalue,
                "qvalue": self.qvalue,
                "significant": self.significant,
                "untestable": self.untestable,
                "n01": self.n01,
                "n10": self.n10,
                "mcnemar_pvalue": self.mcnemar_pvalue,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``classwise`` object of the sample-level ``compare`` JSON (``method="samples"``)."""

        def f_or_none(x: Any) -> float | None:
            return float(x) if np.isfinite(x) else None

        classes = [
            {
                "class": i,
                "name": self.class_name(i),
                "acc_a": float(self.acc_a[i]),
                "acc_b": float(self.acc_b[i]),
                "rel_a": float(self.rel_a[i]),
                "rel_b": float(self.rel_b[i]),
                "delta": float(self.delta[i]),
                "ci_low": float(self.ci_low[i]),
                "ci_high": float(self.ci_high[i]),
                "pvalue": f_or_none(self.pvalue[i]),
                "qvalue": f_or_none(self.qvalue[i]),
                "significant": bool(self.significant[i]),
                "mcnemar_pvalue": f_or_none(self.mcnemar_pvalue[i]),
            }
            for i in range(self.n_classes)
        ]
        return plain({**self.summary(), "classes": classes})


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------


def paired_classwise_test(
    y_true: Any,
    preds_a: Any,
    preds_b: Any,
    num_classes: int,
    *,
    alpha: float = 0.05,
    confidence_level: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    ci_method: Literal["wald", "bootstrap"] = "wald",
    random_state: Any = 0,
    class_names: list[str] | None = None,
) -> PairedClasswiseResult:
    """Per-class paired test of the change of relative class accuracy, B against A.

    See the module docstring for the statistics. Every computation works on the occupied
    cells ``(class, #A right, #B right)`` (:func:`paired_cells`), so its cost does not grow
    with the number of samples.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    preds_a, preds_b : array-like of int, shape (N,) or (S, N)
        Predictions of A and B on the same samples, in the same order; several rows are seed
        pairs, pooled by sample (equal numbers of rows required).
    num_classes : int
    alpha : float, default 0.05
        Level of ``significant`` (``p <= alpha``) and ``significant_fdr`` (``q <= alpha``).
    confidence_level : float, default 0.95
    n_resamples : int, default 2000
        Paired permutations for the count p-value (0 skips it), and bootstrap replicates for
        ``ci_method="bootstrap"``.
    ci_method : {"wald", "bootstrap"}
        ``"wald"``: ``delta -/+ z_{(1+cl)/2} se``, consistent with the p-value;
        ``"bootstrap"``: percentile interval of the class-stratified paired bootstrap.
    random_state : int or numpy seed
        Seed of every random draw.
    class_names : list of str, optional

    Returns
    -------
    PairedClasswiseResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(4), 200)
    >>> a = np.where(rng.random(800) < 0.8, y, (y + 1) % 4)
    >>> b = np.where(rng.random(800) < 0.1, (y + 1) % 4, a)
    >>> res = paired_classwise_test(y, a, b, 4, n_resamples=200)
    >>> res.n_classes, res.delta.shape
    (4, (4,))
    """
    from scipy import special

    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise KDAuditError(f"alpha must be in (0, 1); got {alpha}")
    cl = float(confidence_level)
    if not 0 < cl < 1:
        raise KDAuditError(f"confidence_level must be in (0, 1); got {cl}")
    if ci_method not in ("wald", "bootstrap"):
        raise KDAuditError(f"ci_method must be 'wald' or 'bootstrap'; got {ci_method!r}")
    n_resamples = check_resamples(n_resamples)
    if ci_method == "bootstrap" and n_resamples < 100:
        raise KDAuditError(f"a bootstrap interval needs n_resamples >= 100; got {n_resamples}")
    num_classes = int(num_classes)
    cells = paired_cells(y_true, preds_a, preds_b, num_classes)
    pa = np.asarray(preds_a)
    n_seeds = 1 if pa.ndim == 1 else int(pa.shape[0])

    obs = rel_test(class_sums(cells, n_seeds, num_classes, cells.counts))
    delta, z, testable = obs["delta"], obs["z"], obs["testable"]
    pvalue = np.where(testable, two_sided(z), np.nan)
    with np.errstate(invalid="ignore"):
        significant = testable & (pvalue <= alpha)
    qvalue = benjamini_hochberg(pvalue)
    with np.errstate(invalid="ignore"):
        significant_fdr = testable & (qvalue <= alpha)

    rng = np.random.default_rng(random_state)
    if ci_method == "wald":
        half = special.ndtri(0.5 + cl / 2) * obs["se"]
        ci_low, ci_high = delta - half, delta + half
    else:
        reps = []
        for counts in bootstrap_counts(cells, n_resamples, random_state=rng):
            reps.append(rel_test(class_sums(cells, n_seeds, num_classes, counts))["delta"])
        boot = np.concatenate(reps, axis=0)
        with np.errstate(invalid="ignore"):
            ci_low = np.where(testable, np.nanquantile(boot, (1 - cl) / 2, axis=0), np.nan)
            ci_high = np.where(testable, np.nanquantile(boot, (1 + cl) / 2, axis=0), np.nan)

    # discordant pairs per class: B better than A / A better than B
    cls, ka, kb = cells.keys[:, 0], cells.keys[:, 1], cells.keys[:, 2]
    n01 = np.bincount(cls, weights=cells.counts * (kb > ka), minlength=num_classes).astype(int)
    n10 = np.bincount(cls, weights=cells.counts * (ka > kb), minlength=num_classes).astype(int)
    mcnemar = mcnemar_test(n01, n10)

    n_sig = int(significant.sum())
    count_p, expected = float("nan"), float("nan")
    if n_resamples > 0:
        count_p, expected = _count_permutation(
            cells, n_seeds, num_classes, alpha, n_sig, obs, n_resamples, rng
        )

    class_counts = np.bincount(cls, weights=cells.counts, minlength=num_classes).astype(int)
    return PairedClasswiseResult(
        n_classes=num_classes,
        n_significant=n_sig,
        n_significant_fdr=int(significant_fdr.sum()),
        n_untestable=int((~testable).sum()),
        count_pvalue=count_p,
        expected_false_positives=expected,
        n_resamples=n_resamples,
        acc_a=obs["acc_class_a"],
        acc_b=obs["acc_class_b"],
        rel_a=obs["rel_a"],
        rel_b=obs["rel_b"],
        delta=delta,
        ci_low=np.where(testable, ci_low, np.nan),
        ci_high=np.where(testable, ci_high, np.nan),
        statistic=z,
        pvalue=pvalue,
        qvalue=qvalue,
        significant=significant,
        significant_fdr=significant_fdr,
        untestable=~testable,
        mcnemar_pvalue=mcnemar,
        n01=n01,
        n10=n10,
        class_counts=class_counts,
        accuracy_a=float(obs["acc_a"]),
        accuracy_b=float(obs["acc_b"]),
        n_pairs=n_seeds,
        alpha=alpha,
        confidence_level=cl,
        ci_method=ci_method,
        class_names=list(class_names) if class_names is not None else None,
    )


def _count_permutation(
    cells: Cells,
    n_seeds: int,
    num_classes: int,
    alpha: float,
    observed: int,
    obs: dict,
    n_resamples: int,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Paired permutation of the significant-class count (swap A/B per sample, on counts)."""
    base = class_sums(cells, n_seeds, num_classes, cells.counts)
    _, obs_evidence = count_and_evidence(obs["z"], obs["testable"], alpha)
    ka, kb = cells.keys[:, 1], cells.keys[:, 2]
    movable = np.flatnonzero(ka != kb)  # swapping a concordant cell changes nothing
    cls = cells.keys[movable, 0]
    x, y = ka[movable] / n_seeds, kb[movable] / n_seeds
    dx, dxx = y - x, y * y - x * x
    above = 0
    total = 0.0
    for r in batch_sizes(n_resamples, max(num_classes, movable.shape[0]) * 8):
        m = swap_counts(cells.counts[movable], r, rng).astype(float)
        shift = scatter_sum(m * dx, cls, num_classes)
        shift2 = scatter_sum(m * dxx, cls, num_classes)
        s = {
            "n": np.broadcast_to(base["n"], shift.shape),
            "sx": base["sx"] + shift,
            "sy": base["sy"] - shift,
            "sxx": base["sxx"] + shift2,
            "syy": base["syy"] - shift2,
            "sxy": np.broadcast_to(base["sxy"], shift.shape),
        }
        t = rel_test(s)
        counts, evidence = count_and_evidence(t["z"], t["testable"], alpha)
        above += int(
            (
                (counts > observed)
                | ((counts == observed) & (evidence >= obs_evidence * (1 - 1e-12)))
            ).sum()
        )
        total += float(counts.sum())
    return (1 + above) / (1 + n_resamples), total / n_resamples
