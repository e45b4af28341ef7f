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

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..defaults import DEFAULT_ALPHA, DEFAULT_CONFIDENCE_LEVEL, DEFAULT_RANDOM_STATE
from ..errors import DegenerateDataWarning, InvalidArgumentError, KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..io.runset import RunSet
from ..checks import check_alpha, check_comparable, check_permutations, where
from ..frames import frame_method
from ..plainjson import plain
from .class_rows import ClassRows
from .permutation import PermutationCountResult, make_rng, permutation_count_test
from .welch import WelchResult, welch_classwise

__all__ = ["SeedAccuracy", "ClasswiseResult", "seed_accuracies", "classwise_test"]


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

    @frame_method
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
        raise InvalidArgumentError(
            f"preds must have shape (S, N) with N = len(y_true) = {y.shape[0]}; got {p.shape}",
            parameter="preds",
        )
    num_classes = int(num_classes)
    if num_classes < 1:
        raise InvalidArgumentError(
            f"num_classes must be at least 1; got {num_classes}", parameter="num_classes"
        )
    y = y.astype(np.int64, copy=False)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise InvalidArgumentError(
            f"y_true has labels outside [0, {num_classes})", parameter="y_true"
        )
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
# Run set against run set
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClasswiseResult(ClassRows):
    """Class-wise comparison of run set B against run set A (per-class arrays have shape (C,)).

    It holds the two tests it is made of rather than copies of their fields:

    - ``welch``: the per-class Welch tests of ``rel_b`` against ``rel_a``
      (:class:`~kdbias_audit.stats.welch.WelchResult`: ``delta``, ``ci_low``/``ci_high``,
      ``statistic``, ``df``, ``pvalue``, ``qvalue``, ``significant``, ``significant_fdr``,
      ``untestable``, ``alpha``, ``confidence_level``);
    - ``permutation``: the permutation calibration of the number of significant classes
      (:class:`~kdbias_audit.stats.permutation.PermutationCountResult`).

    Those fields are also readable here under their former names (``result.pvalue`` is
    ``result.welch.pvalue``, ``result.count_pvalue`` is ``result.permutation.pvalue``, ...).
    Counts: ``n_significant`` (``p <= alpha``, the paper's #SC), ``n_significant_fdr``
    (BH ``q <= alpha``), ``n_untestable``; calibration: ``count_pvalue``,
    ``expected_false_positives``, ``n_permutations`` (splits evaluated),
    ``permutations_exact``. Per class: seed means ``acc_a, acc_b`` (class accuracy) and
    ``rel_a, rel_b`` (relative class accuracy); ``seed_accuracy_a/b`` hold each seed's overall
    accuracy.
    """

    draws_field: ClassVar[str] = "n_permutations"

    welch: WelchResult
    permutation: PermutationCountResult
    acc_a: np.ndarray
    acc_b: np.ndarray
    rel_a: np.ndarray
    rel_b: np.ndarray
    class_names: list[str] | None = None
    seed_accuracy_a: np.ndarray | None = None
    seed_accuracy_b: np.ndarray | None = None

    # -- counts ----------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return int(self.welch.delta.shape[0])

    @property
    def n_significant(self) -> int:
        return int(self.welch.significant.sum())

    @property
    def n_significant_fdr(self) -> int:
        return int(self.welch.significant_fdr.sum())

    @property
    def n_untestable(self) -> int:
        return int(self.welch.untestable.sum())

    # -- the permutation calibration (``self.permutation``) -------------------------------
    @property
    def count_pvalue(self) -> float:
        return self.permutation.pvalue

    @property
    def expected_false_positives(self) -> float:
        return self.permutation.expected

    @property
    def n_permutations(self) -> int:
        return self.permutation.n_permutations

    @property
    def permutations_exact(self) -> bool:
        return self.permutation.exact

    # -- the per-class Welch tests (``self.welch``) ----------------------------------------
    @property
    def delta(self) -> np.ndarray:
        return self.welch.delta

    @property
    def ci_low(self) -> np.ndarray:
        return self.welch.ci_low

    @property
    def ci_high(self) -> np.ndarray:
        return self.welch.ci_high

    @property
    def statistic(self) -> np.ndarray:
        return self.welch.statistic

    @property
    def df(self) -> np.ndarray:
        return self.welch.df

    @property
    def pvalue(self) -> np.ndarray:
        return self.welch.pvalue

    @property
    def qvalue(self) -> np.ndarray:
        return self.welch.qvalue

    @property
    def significant(self) -> np.ndarray:
        return self.welch.significant

    @property
    def significant_fdr(self) -> np.ndarray:
        return self.welch.significant_fdr

    @property
    def untestable(self) -> np.ndarray:
        return self.welch.untestable

    @property
    def alpha(self) -> float:
        return self.welch.alpha

    @property
    def confidence_level(self) -> float:
        return self.welch.confidence_level

    def confidence_interval(
        self, confidence_level: float = DEFAULT_CONFIDENCE_LEVEL
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of ``delta`` per class at ``confidence_level`` (see
        :meth:`WelchResult.confidence_interval`)."""
        return self.welch.confidence_interval(confidence_level)

    @frame_method
    def to_frame(self) -> pd.DataFrame:
        """One row per class, in class-index order: the accuracies, then the Welch test's
        columns (:meth:`WelchResult.to_frame`)."""
        import pandas as pd

        c = self.n_classes
        names = [self.class_name(i) for i in range(c)]
        accuracies = pd.DataFrame(
            {
                "class": np.arange(c),
                "name": pd.Series(names, dtype=object),
                "acc_a": self.acc_a,
                "acc_b": self.acc_b,
                "rel_a": self.rel_a,
                "rel_b": self.rel_b,
            }
        )
        return pd.concat([accuracies, self.welch.to_frame().drop(columns="class")], axis=1)

    def to_dict(self) -> dict[str, Any]:
        """The ``classwise`` object of the ``kdaudit compare`` JSON contract (plain values;
        NaN/inf as ``None``)."""

        def f(x: Any) -> float:
            return float(x)

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
                "pvalue": f(self.pvalue[i]),
                "qvalue": f(self.qvalue[i]),
                "significant": bool(self.significant[i]),
            }
            for i in range(self.n_classes)
        ]
        return plain({**self.summary(), "classes": classes})

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)


def classwise_test(
    a: RunSet,
    b: RunSet,
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int | None = None,
    random_state: Any = DEFAULT_RANDOM_STATE,
    confidence_level: float = DEFAULT_CONFIDENCE_LEVEL,
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
    alpha = check_alpha(alpha)
    for rs in (a, b):
        n = len(rs.seeds)
        if n < 2:
            raise KDAuditError(
                f"{where(rs)}: has {n} seed{'s' if n != 1 else ''}; "
                "a Welch test needs at least 2 per side (for single checkpoints use the "
                "sample-level analysis: method='samples')"
            )
    if a.num_classes != b.num_classes:
        raise KDAuditError(
            f"{where(b)}: has {b.num_classes} classes but {where(a)} has {a.num_classes}; "
            "compared run sets must have the same classes"
        )
    check_comparable(a, b)  # aligned by sample_id however the run sets were loaded
    if permutations is not None:
        check_permutations(permutations)
    make_rng(random_state)  # a bad seed fails here, not deep inside numpy
    c = int(a.num_classes)
    acc_a = seed_accuracies(a.label, a.preds, c)
    acc_b = seed_accuracies(b.label, b.preds, c)
    welch = welch_classwise(
        acc_a.relative_accuracy,
        acc_b.relative_accuracy,
        alpha=alpha,
        confidence_level=confidence_level,
    )
    perm = permutation_count_test(
        acc_a.relative_accuracy,
        acc_b.relative_accuracy,
        alpha=alpha,
        permutations=permutations,
        random_state=random_state,
        observed=int(welch.significant.sum()),
    )
    class_names = a.class_names or b.class_names

    return ClasswiseResult(
        welch=welch,
        permutation=perm,
        acc_a=acc_a.class_accuracy.mean(axis=0),
        acc_b=acc_b.class_accuracy.mean(axis=0),
        rel_a=acc_a.relative_accuracy.mean(axis=0),
        rel_b=acc_b.relative_accuracy.mean(axis=0),
        class_names=list(class_names) if class_names is not None else None,
        seed_accuracy_a=acc_a.accuracy,
        seed_accuracy_b=acc_b.accuracy,
    )
