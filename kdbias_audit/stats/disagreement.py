"""Disagreement between two run sets (Fort et al. 2020; paper section 3, eq. 7, Figure 2).

For one pair of runs (a run of A, a run of B) over the same test samples,
``D[i, j] = #{n : pred_A[n] = i, pred_B[n] = j}`` for ``i != j`` (the diagonal, where the two
models agree, is zero). Pairs are formed by seed (``pairing="seed"``: A's seed k with B's seed
k) or all against all (``pairing="all"``); matrices and rates are averaged over pairs.

To put teacher-vs-NDS next to teacher-vs-DS (the paper's Figure 2), call
``disagreement(teacher, nds)`` and ``disagreement(teacher, ds)`` and compare the two results.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..defaults import MAX_MATRIX_CLASSES
from ..errors import DegenerateDataWarning, InvalidArgumentError, KDAuditError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..io.runset import RunSet
from ..checks import where
from ..plainjson import plain

__all__ = ["DisagreementResult", "disagreement", "disagreement_arrays"]

Pairing = Literal["seed", "all"]


@dataclass(frozen=True, eq=False)
class DisagreementResult:
    """Mean disagreement between run sets A and B over run pairs.

    Attributes
    ----------
    matrix : ndarray of float, shape (C, C)
        ``matrix[i, j]``: mean over pairs of the number of test samples that A predicts as ``i``
        and B as ``j`` (``i != j``); the diagonal is 0. Its total over all cells divided by the
        number of samples is ``rate_mean``.
    rate_mean, rate_std : float
        Mean and sample standard deviation (ddof=1; NaN for a single pair) over pairs of the
        share of test samples on which A and B predict different classes. Ideal (identical
        models): 0.
    rates : ndarray, shape (P,)
        The disagreement rate of each pair.
    per_class_rate : ndarray, shape (C,)
        For each true class, the share of its samples on which A and B disagree (mean over
        pairs); NaN for a class without test samples.
    n_pairs : int
    pairing : {"seed", "all"}
    pairs : tuple of (seed_a, seed_b)
    n_samples : int
    class_names : list of str or None
    """

    matrix: np.ndarray
    rate_mean: float
    rate_std: float
    rates: np.ndarray
    per_class_rate: np.ndarray
    n_pairs: int
    pairing: str
    pairs: tuple[tuple[int, int], ...] = ()
    n_samples: int = 0
    class_names: list[str] | None = None

    @property
    def n_classes(self) -> int:
        return int(self.matrix.shape[0])

    def class_name(self, c: int) -> str | None:
        if self.class_names is None or c >= len(self.class_names):
            return None
        return str(self.class_names[c])

    def top_pairs(self, k: int = 10) -> list[tuple[int, int, float]]:
        """The ``k`` (A-pred ``i``, B-pred ``j``) cells with the largest mean count, largest first.

        Cells with a zero count are left out; ties are broken by (i, j) ascending.
        """
        k = max(0, int(k))
        flat = self.matrix.ravel()
        nz = np.flatnonzero(flat > 0)
        if nz.size == 0 or k == 0:
            return []
        order = nz[np.lexsort((nz, -flat[nz]))][:k]
        c = self.n_classes
        return [(int(f // c), int(f % c), float(flat[f])) for f in order]

    def top_pairs_frame(self, k: int = 10) -> pd.DataFrame:
        """Top cells as a table: A-pred and B-pred class (and names when known), the mean count
        over pairs and its share of all test samples."""
        import pandas as pd

        named = self.class_names is not None
        rows = []
        for i, j, v in self.top_pairs(k):
            row: dict[str, Any] = {"a_pred": i}
            if named:
                row["a_name"] = self.class_name(i)
            row["b_pred"] = j
            if named:
                row["b_name"] = self.class_name(j)
            row["mean_count"] = v
            row["share"] = v / self.n_samples if self.n_samples else float("nan")
            rows.append(row)
        cols = ["a_pred", "a_name", "b_pred", "b_name"] if named else ["a_pred", "b_pred"]
        return pd.DataFrame(rows, columns=[*cols, "mean_count", "share"])

    def to_frame(self) -> pd.DataFrame:
        """One row per class: its disagreement rate as a true class, and the mean number of
        disagreeing samples that A (row sum) and B (column sum) predict as that class."""
        import pandas as pd

        c = self.n_classes
        return pd.DataFrame(
            {
                "class": np.arange(c),
                "name": pd.Series([self.class_name(i) for i in range(c)], dtype=object),
                "disagreement_rate": self.per_class_rate,
                "a_pred_disagreeing": self.matrix.sum(axis=1),
                "b_pred_disagreeing": self.matrix.sum(axis=0),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``disagreement`` object of the ``kdaudit compare`` JSON contract (plain values;
        NaN/inf as ``None``)."""
        return plain(
            {
                "pairing": self.pairing,
                "n_pairs": int(self.n_pairs),
                "rate": {"mean": float(self.rate_mean), "std": float(self.rate_std)},
                "matrix": self.matrix,
                "per_class_rate": self.per_class_rate,
            }
        )

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)


def disagreement_arrays(
    y_true: Any,
    preds_a: Any,
    preds_b: Any,
    num_classes: int,
    pair_index: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Core computation on arrays: ``(matrix, rates, per_class_rate)``.

    ``preds_a`` (S_a, N), ``preds_b`` (S_b, N); ``pair_index`` (P, 2) lists (row of A, row of
    B). All pairs go through one ``np.bincount`` of ``pred_A * C + pred_B`` over disagreeing
    samples (the sum over pairs), divided by P.
    """
    y = np.asarray(y_true, dtype=np.int64)
    pa_all = np.asarray(preds_a, dtype=np.int64)
    pb_all = np.asarray(preds_b, dtype=np.int64)
    idx = np.asarray(pair_index, dtype=np.int64).reshape(-1, 2)
    c = int(num_classes)
    if c > MAX_MATRIX_CLASSES:
        raise KDAuditError(
            f"disagreement: {c} classes would need a dense {c} x {c} matrix "
            f"({c * c * 8 / 2**30:.1f} GiB); at most {MAX_MATRIX_CLASSES} classes are supported"
        )
    n_pairs = idx.shape[0]
    if n_pairs == 0:
        raise KDAuditError("no run pairs to compare")
    pa = pa_all[idx[:, 0]]  # (P, N)
    pb = pb_all[idx[:, 1]]
    differ = pa != pb
    n = y.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = differ.mean(axis=1) if n else np.full(n_pairs, np.nan)
    cells = np.bincount(pa[differ] * c + pb[differ], minlength=c * c).reshape(c, c)
    matrix = cells / n_pairs
    class_counts = np.bincount(y, minlength=c)
    differ_by_class = np.bincount(np.broadcast_to(y, pa.shape)[differ], minlength=c)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = differ_by_class / (class_counts * n_pairs)
    per_class[class_counts == 0] = np.nan
    empty = int((class_counts == 0).sum())
    if empty:
        warnings.warn(
            f"{empty} class(es) have no test samples; their per-class disagreement rate is NaN",
            DegenerateDataWarning,
            stacklevel=2,
        )
    return matrix, rates, per_class


def disagreement(a: RunSet, b: RunSet, *, pairing: Pairing = "seed") -> DisagreementResult:
    """Disagreement matrices and rates between run sets A and B, averaged over run pairs.

    .. math::

        D_{ij} = \\frac{1}{P}\\sum_{(s,t)} \\#\\{n : \\hat y^A_{sn} = i,\\ \\hat y^B_{tn} = j\\},
        \\quad i \\ne j,\\qquad
        \\text{rate}_{(s,t)} = \\frac{1}{N}\\sum_n [\\hat y^A_{sn} \\ne \\hat y^B_{tn}]

    Parameters
    ----------
    a, b : RunSet
        Run sets over the same test samples (aligned, e.g. by ``load_runsets``) and classes.
    pairing : {"seed", "all"}
        ``"seed"``: pair A's run of seed k with B's run of seed k (the seeds both have);
        ``"all"``: every run of A with every run of B.

    Returns
    -------
    DisagreementResult

    Raises
    ------
    KDAuditError
        Different classes or test samples, or ``pairing="seed"`` without a common seed.

    Examples
    --------
    >>> from kdbias_audit.io import RunSet
    >>> a = RunSet.from_arrays([0, 1, 2], [[0, 1, 2]], seeds=[0], num_classes=3)
    >>> b = RunSet.from_arrays([0, 1, 2], [[0, 2, 2]], seeds=[0], num_classes=3)
    >>> disagreement(a, b).top_pairs()
    [(1, 2, 1.0)]
    """
    if pairing not in ("seed", "all"):
        raise InvalidArgumentError(
            f"pairing must be 'seed' or 'all'; got {pairing!r}", parameter="pairing"
        )
    if a.num_classes != b.num_classes:
        raise KDAuditError(
            f"{where(b)}: has {b.num_classes} classes but {where(a)} has {a.num_classes}; "
            "compared run sets must have the same classes"
        )
    if a.n_samples != b.n_samples or not np.array_equal(a.label, b.label):
        raise KDAuditError(
            f"{where(b)}: its test samples or labels differ from {where(a)}; "
            "disagreement needs run sets over the same test set (load them with load_runsets)"
        )
    seeds_a, seeds_b = [int(s) for s in a.seeds], [int(s) for s in b.seeds]
    if pairing == "seed":
        common = sorted(set(seeds_a) & set(seeds_b))
        if not common:
            raise KDAuditError(
                f"{where(a)} (seeds {seeds_a}) and {where(b)} (seeds {seeds_b}) have no seed "
                "in common; use pairing='all' to compare every pair of runs"
            )
        pos_a = {s: i for i, s in enumerate(seeds_a)}
        pos_b = {s: i for i, s in enumerate(seeds_b)}
        index = [(pos_a[s], pos_b[s]) for s in common]
    else:
        index = [(i, j) for i in range(len(seeds_a)) for j in range(len(seeds_b))]
    matrix, rates, per_class = disagreement_arrays(a.label, a.preds, b.preds, a.num_classes, index)
    n_pairs = len(index)
    rate_std = float(rates.std(ddof=1)) if n_pairs > 1 else float("nan")
    class_names = a.class_names or b.class_names
    return DisagreementResult(
        matrix=matrix,
        rate_mean=float(rates.mean()),
        rate_std=rate_std,
        rates=rates,
        per_class_rate=per_class,
        n_pairs=n_pairs,
        pairing=pairing,
        pairs=tuple((seeds_a[i], seeds_b[j]) for i, j in index),
        n_samples=int(a.n_samples),
        class_names=list(class_names) if class_names is not None else None,
    )
