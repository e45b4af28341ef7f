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
from ..checks import check_comparable, where
from ..frames import frame_method
from ..plainjson import plain

__all__ = ["DisagreementResult", "disagreement", "disagreement_arrays", "disagreement_cells"]

#: Largest class count whose disagreement matrix JSON writes dense; above it, only the
#: non-zero cells (``"matrix_cells"``).
DENSE_JSON_MAX_CLASSES = 1_000

Pairing = Literal["seed", "all"]


@dataclass(frozen=True, eq=False)
class DisagreementResult:
    """Mean disagreement between run sets A and B over run pairs.

    Attributes
    ----------
    rows, cols, values : ndarray, shape (K,)
        The non-zero cells of the mean disagreement matrix, sorted by ``(row, col)``:
        ``D[rows[k], cols[k]] = values[k]`` is the mean over pairs of the number of test samples
        that A predicts as ``rows[k]`` and B as ``cols[k]`` (never on the diagonal). At most
        ``P * N`` cells occur whatever the class count, so 100,000 classes cost what 10 do.
        ``values.sum() / n_samples`` is ``rate_mean``.
    n_classes : int
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

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    n_classes: int
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
    def matrix(self) -> np.ndarray:
        """The dense ``(C, C)`` matrix (built on each access; at most
        ``MAX_MATRIX_CLASSES`` classes: use :meth:`sparse` or the cells above that)."""
        c = self.n_classes
        if c > MAX_MATRIX_CLASSES:
            raise KDAuditError(
                f"disagreement: {c} classes would need a dense {c} x {c} matrix "
                f"({c * c * 8 / 2**30:.1f} GiB); at most {MAX_MATRIX_CLASSES} classes are "
                "densified; use .sparse() or the rows/cols/values cells"
            )
        out = np.zeros((c, c))
        out[self.rows, self.cols] = self.values
        return out

    def sparse(self) -> Any:
        """The matrix as a ``scipy.sparse.csr_array`` (only the non-zero cells stored)."""
        from scipy import sparse

        c = self.n_classes
        return sparse.csr_array((self.values, (self.rows, self.cols)), shape=(c, c))

    def binned(self, size: int) -> np.ndarray:
        """A dense ``(B, B)`` view for heatmaps with ``B = min(C, size)``: cell ``(u, v)``
        sums the classes ``[u C / B, (u + 1) C / B)`` of A by those of B."""
        c = self.n_classes
        b = max(1, min(c, int(size)))
        out = np.zeros((b, b))
        np.add.at(out, (self.rows * b // c, self.cols * b // c), self.values)
        return out

    def class_name(self, c: int) -> str | None:
        if self.class_names is None or c >= len(self.class_names):
            return None
        return str(self.class_names[c])

    def top_pairs(self, k: int = 10) -> list[tuple[int, int, float]]:
        """The ``k`` (A-pred ``i``, B-pred ``j``) cells with the largest mean count, largest first.

        Cells with a zero count are left out; ties are broken by (i, j) ascending.
        """
        k = max(0, int(k))
        if self.values.size == 0 or k == 0:
            return []
        order = np.lexsort((self.cols, self.rows, -self.values))[:k]
        return [(int(self.rows[f]), int(self.cols[f]), float(self.values[f])) for f in order]

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

    @frame_method
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
                "a_pred_disagreeing": np.bincount(self.rows, self.values, minlength=c),
                "b_pred_disagreeing": np.bincount(self.cols, self.values, minlength=c),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``disagreement`` object of the ``kdaudit compare`` JSON contract (plain values;
        NaN/inf as ``None``).

        Up to ``DENSE_JSON_MAX_CLASSES`` classes the matrix is written dense (``"matrix"``, a
        list of ``C`` rows); above, only its non-zero cells are
        (``"matrix_cells": {"shape": [C, C], "rows", "cols", "values"}``), so the document
        grows with the disagreements, not with ``C * C``.
        """
        out: dict[str, Any] = {
            "pairing": self.pairing,
            "n_pairs": int(self.n_pairs),
            "rate": {"mean": float(self.rate_mean), "std": float(self.rate_std)},
        }
        if self.n_classes <= DENSE_JSON_MAX_CLASSES:
            out["matrix"] = self.matrix
        else:
            out["matrix_cells"] = {
                "shape": [self.n_classes, self.n_classes],
                "rows": self.rows,
                "cols": self.cols,
                "values": self.values,
            }
        out["per_class_rate"] = self.per_class_rate
        return plain(out)

    def _repr_html_(self) -> str:
        from ..render.views import result_html

        return result_html(self)


def disagreement_cells(
    y_true: Any,
    preds_a: Any,
    preds_b: Any,
    num_classes: int,
    pair_index: Any,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """Core computation on arrays: ``((rows, cols, values), rates, per_class_rate)``.

    ``preds_a`` (S_a, N), ``preds_b`` (S_b, N); ``pair_index`` (P, 2) lists (row of A, row of
    B). The disagreeing ``(pred_A, pred_B)`` cells of all pairs are counted with one
    ``np.unique`` (memory ``O(P N)``, never ``O(C^2)``) and divided by P.
    """
    y = np.asarray(y_true, dtype=np.int64)
    pa_all = np.asarray(preds_a, dtype=np.int64)
    pb_all = np.asarray(preds_b, dtype=np.int64)
    idx = np.asarray(pair_index, dtype=np.int64).reshape(-1, 2)
    c = int(num_classes)
    n_pairs = idx.shape[0]
    if n_pairs == 0:
        raise KDAuditError("no run pairs to compare")
    pa = pa_all[idx[:, 0]]  # (P, N)
    pb = pb_all[idx[:, 1]]
    differ = pa != pb
    n = y.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = differ.mean(axis=1) if n else np.full(n_pairs, np.nan)
    keys, counts = np.unique(pa[differ] * c + pb[differ], return_counts=True)  # sorted (i, j)
    cells = (keys // c, keys % c, counts / n_pairs)
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
    return cells, rates, per_class


def disagreement_arrays(
    y_true: Any,
    preds_a: Any,
    preds_b: Any,
    num_classes: int,
    pair_index: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(matrix, rates, per_class_rate)`` with the dense ``(C, C)`` matrix (at most
    ``MAX_MATRIX_CLASSES`` classes); :func:`disagreement_cells` gives the sparse cells."""
    c = int(num_classes)
    if c > MAX_MATRIX_CLASSES:
        raise KDAuditError(
            f"disagreement: {c} classes would need a dense {c} x {c} matrix "
            f"({c * c * 8 / 2**30:.1f} GiB); at most {MAX_MATRIX_CLASSES} classes are supported "
            "densely (use disagreement_cells)"
        )
    (rows, cols, values), rates, per_class = disagreement_cells(
        y_true, preds_a, preds_b, num_classes, pair_index
    )
    matrix = np.zeros((c, c))
    matrix[rows, cols] = values
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
    check_comparable(a, b)  # same classes, aligned by sample_id, same labels
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
    (rows, cols, values), rates, per_class = disagreement_cells(
        a.label, a.preds, b.preds, a.num_classes, index
    )
    n_pairs = len(index)
    rate_std = float(rates.std(ddof=1)) if n_pairs > 1 else float("nan")
    class_names = a.class_names or b.class_names
    return DisagreementResult(
        rows=rows,
        cols=cols,
        values=values,
        n_classes=int(a.num_classes),
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
