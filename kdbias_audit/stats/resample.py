"""Counts-based resampling: bootstrap and permutation draws over the occupied cells of a table.

Every resampling method of the package works on *cells* instead of samples. A cell is one
distinct row of a few small-integer columns (for example class x A-correct x B-correct, or
group x label x prediction); :func:`tabulate` turns ``N`` samples into the ``K`` occupied cells
and their counts once. A replicate is then a vector of ``K`` new counts:

* **stratified bootstrap** (:func:`bootstrap_counts`): within each stratum (the leading
  ``strata`` columns, e.g. the class, or group x label) the ``n_s`` samples are redrawn with
  replacement, i.e. the cell counts are one ``Multinomial(n_s, counts / n_s)`` draw. This is
  *exactly* the distribution of the counts of a row-resampling bootstrap that resamples
  ``n_s`` rows of each stratum, at a cost of ``O(K)`` per replicate instead of ``O(N)``;
* **unstratified bootstrap** (``stratified=False``): one ``Multinomial(N, counts / N)`` over
  all cells (a plain row bootstrap, as fairlearn's ``MetricFrame(n_boot=...)`` does);
* **parametric draws** (:func:`multinomial_counts`): any cell probabilities per stratum, e.g.
  every group at the pooled rates (the noise floor of a disparity metric);
* **paired swaps** (:func:`swap_counts`): under the null hypothesis that A and B are
  exchangeable, each sample's (A, B) values are swapped with probability 1/2, so ``m ~
  Binomial(n_k, 1/2)`` of the ``n_k`` samples of a cell ``(.., a, b)`` move to ``(.., b, a)``.

Draws come from ``numpy.random.default_rng(random_state)`` and are taken in batches whose
size bounds memory; consecutive batches continue one random stream, so results do not depend
on the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import KDAuditError

__all__ = [
    "Cells",
    "tabulate",
    "with_strata",
    "batch_sizes",
    "bootstrap_counts",
    "multinomial_counts",
    "swap_counts",
    "scatter_sum",
    "check_resamples",
]

#: Elements (replicates x cells) drawn per batch; about 32 MB of int64.
BATCH_ELEMENTS = 4_000_000


@dataclass(frozen=True, eq=False)
class Cells:
    """The occupied cells of a table of small-integer columns, with their counts.

    Attributes
    ----------
    keys : ndarray of int64, shape (K, D)
        One row per occupied cell, the column values in the order given to :func:`tabulate`.
    counts : ndarray of int64, shape (K,)
        Samples in each cell (all > 0).
    stratum : ndarray of int64, shape (K,)
        Index of the cell's stratum (the distinct values of the leading ``n_strata_columns``
        columns), in ``[0, n_strata)``.
    n_strata : int
    n_strata_columns : int
    """

    keys: np.ndarray
    counts: np.ndarray
    stratum: np.ndarray
    n_strata: int
    n_strata_columns: int

    @property
    def n_cells(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.counts.sum())

    @property
    def stratum_sizes(self) -> np.ndarray:
        """Samples per stratum, shape ``(n_strata,)``."""
        return np.bincount(self.stratum, weights=self.counts, minlength=self.n_strata).astype(
            np.int64
        )

    def column(self, j: int) -> np.ndarray:
        """Values of column ``j`` for every cell, shape ``(K,)``."""
        return self.keys[:, j]


def tabulate(columns: Sequence[Any], *, strata: int = 0) -> Cells:
    """Reduce ``N`` samples described by integer columns to their occupied cells.

    Parameters
    ----------
    columns : sequence of array-like of int, each shape (N,)
        The describing columns, e.g. ``(y_true, correct_a, correct_b)``.
    strata : int, default 0
        The first ``strata`` columns define the strata of a stratified bootstrap (0: one
        stratum holding every sample).

    Returns
    -------
    Cells

    Examples
    --------
    >>> c = tabulate([[0, 0, 1, 1, 1], [1, 1, 0, 1, 1]], strata=1)
    >>> c.keys.tolist(), c.counts.tolist(), c.stratum.tolist()
    ([[0, 1], [1, 0], [1, 1]], [2, 1, 2], [0, 1, 1])
    """
    cols = [np.asarray(c) for c in columns]
    if not cols:
        raise KDAuditError("tabulate: no columns given")
    n = cols[0].shape[0]
    for j, c in enumerate(cols):
        if c.ndim != 1 or c.shape[0] != n:
            raise KDAuditError(f"tabulate: column {j} has shape {c.shape}; expected ({n},)")
        if c.dtype.kind not in "iub":
            raise KDAuditError(f"tabulate: column {j} must hold integers, got dtype {c.dtype}")
    if not 0 <= strata <= len(cols):
        raise KDAuditError(f"tabulate: strata must be in [0, {len(cols)}]; got {strata}")
    table = np.stack([c.astype(np.int64, copy=False) for c in cols], axis=1)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Cells(table, empty, empty, 0, strata)
    # one integer code per row (mixed radix) when it fits, else a row-wise unique
    lo = table.min(axis=0)
    span = table.max(axis=0) - lo + 1
    if float(np.prod(span.astype(float))) < 2**62:
        radix = np.ones(span.shape[0], dtype=np.int64)
        for j in range(span.shape[0] - 2, -1, -1):
            radix[j] = radix[j + 1] * span[j + 1]
        code = (table - lo) @ radix
        uniq, counts = np.unique(code, return_counts=True)
        keys = np.empty((uniq.shape[0], table.shape[1]), dtype=np.int64)
        rest = uniq.copy()
        for j in range(table.shape[1]):
            keys[:, j], rest = np.divmod(rest, radix[j])
            keys[:, j] += lo[j]
    else:  # pragma: no cover - only for enormous value ranges
        keys, counts = np.unique(table, axis=0, return_counts=True)
    return with_strata(Cells(keys, counts.astype(np.int64), keys[:, 0], 0, 0), strata)


def with_strata(cells: Cells, strata: int) -> Cells:
    """The same cells, stratified by their first ``strata`` columns (0: one stratum)."""
    keys = cells.keys
    if not 0 <= strata <= keys.shape[1]:
        raise KDAuditError(f"strata must be in [0, {keys.shape[1]}]; got {strata}")
    if strata and keys.shape[0]:
        _, stratum = np.unique(keys[:, :strata], axis=0, return_inverse=True)
        stratum = stratum.reshape(-1).astype(np.int64)
        n_strata = int(stratum.max()) + 1
    else:
        stratum = np.zeros(keys.shape[0], dtype=np.int64)
        n_strata = 1 if keys.shape[0] else 0
    return Cells(keys, cells.counts, stratum, n_strata, strata)


def check_resamples(n: int, *, name: str = "n_resamples", minimum: int = 0) -> int:
    """Validate a number of resamples (an int >= ``minimum``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise KDAuditError(f"{name} must be an integer; got {n!r}")
    if int(n) < minimum:
        raise KDAuditError(f"{name} must be at least {minimum}; got {int(n)}")
    return int(n)


def batch_sizes(n_resamples: int, per_replicate: int, *, budget: int = BATCH_ELEMENTS) -> list[int]:
    """Split ``n_resamples`` into batches of at most ``budget // per_replicate`` replicates."""
    step = max(1, budget // max(1, per_replicate))
    return [min(step, n_resamples - s) for s in range(0, n_resamples, step)]


def multinomial_counts(
    totals: Any, cell_stratum: Any, cell_prob: Any, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw cell counts: ``totals[s]`` samples of stratum ``s`` spread over its cells.

    Parameters
    ----------
    totals : array-like of int, shape (S,)
        Samples per stratum.
    cell_stratum : array-like of int, shape (K,)
        Stratum of each cell.
    cell_prob : array-like of float, shape (K,)
        Probability of each cell within its stratum (summing to 1 per non-empty stratum).
    size : int
        Replicates.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (size, K)
        One ``Multinomial(totals[s], p_s)`` draw per stratum and replicate; a stratum with
        two cells is a binomial draw, one with a single cell keeps its total.
    """
    totals = np.asarray(totals, dtype=np.int64)
    stratum = np.asarray(cell_stratum, dtype=np.int64)
    prob = np.asarray(cell_prob, dtype=float)
    k = stratum.shape[0]
    out = np.empty((size, k), dtype=np.int64)
    if k == 0 or size == 0:
        return out
    order = np.argsort(stratum, kind="stable")
    s_sorted = stratum[order]
    first = np.searchsorted(s_sorted, s_sorted, side="left")
    pos = np.arange(k) - first  # position of each (sorted) cell within its stratum
    width = int(pos.max()) + 1
    used = np.unique(s_sorted)  # strata with cells
    row = np.searchsorted(used, s_sorted)
    if width == 1:
        out[:, order] = totals[s_sorted][None, :]
        return out
    if width == 2:
        # binomial for the first cell of each stratum; the second gets the rest
        p = np.zeros((used.shape[0], 2))
        p[row, pos] = prob[order]
        first_cell = rng.binomial(
            totals[used][None, :], np.clip(p[:, 0], 0.0, 1.0), (size, used.shape[0])
        )
        draws = np.stack([first_cell, totals[used][None, :] - first_cell], axis=-1)
    else:
        p = np.zeros((used.shape[0], width))
        p[row, pos] = prob[order]
        total_p = p.sum(axis=1, keepdims=True)
        p = np.divide(p, total_p, out=np.zeros_like(p), where=total_p > 0)
        p[total_p[:, 0] <= 0, 0] = 1.0
        draws = rng.multinomial(totals[used], p, size=(size, used.shape[0]))
    out[:, order] = draws[:, row, pos]
    return out


def bootstrap_counts(
    cells: Cells,
    n_resamples: int,
    *,
    random_state: Any = 0,
    stratified: bool = True,
    budget: int = BATCH_ELEMENTS,
) -> Iterator[np.ndarray]:
    """Bootstrap replicates of the cell counts, in batches of shape ``(r, K)``.

    Stratified (default): the samples of each stratum are redrawn within it (stratum sizes
    stay fixed). Unstratified: all ``N`` samples are redrawn together.

    Yields
    ------
    ndarray of int64, shape (r, K)
        ``r`` replicates (batches add up to ``n_resamples``).
    """
    rng = np.random.default_rng(random_state)
    counts = cells.counts
    if stratified:
        totals = cells.stratum_sizes
        stratum = cells.stratum
    else:
        totals = np.array([counts.sum()], dtype=np.int64)
        stratum = np.zeros(cells.n_cells, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = counts / totals[stratum]
    for r in batch_sizes(n_resamples, cells.n_cells, budget=budget):
        yield multinomial_counts(totals, stratum, prob, r, rng)


def swap_counts(counts: Any, size: int, rng: np.random.Generator) -> np.ndarray:
    """Paired swap draws: ``m ~ Binomial(n_k, 1/2)`` for every cell ``k``, shape ``(size, K)``.

    ``m[r, k]`` samples of cell ``k`` have their A and B values exchanged in replicate ``r``
    (the caller moves them to the mirrored cell).
    """
    n = np.asarray(counts, dtype=np.int64)
    return rng.binomial(n[None, :], 0.5, size=(size, n.shape[0]))


def scatter_sum(weights: np.ndarray, index: Any, size: int) -> np.ndarray:
    """``out[r, j] = sum_k weights[r, k] * [index[k] == j]``; cells with ``index < 0`` dropped.

    A sparse matrix product, ``O(R K)``: the per-replicate analogue of ``np.bincount``.
    """
    w = np.asarray(weights)
    idx = np.asarray(index, dtype=np.int64)
    keep = idx >= 0
    squeeze = w.ndim == 1
    w2 = (w[None, :] if squeeze else w).astype(float, copy=False)
    if idx.shape[0] * size <= 200_000:  # small tables: a dense one-hot product is fastest
        onehot = np.zeros((idx.shape[0], size))
        rows = np.flatnonzero(keep)
        onehot[rows, idx[keep]] = 1.0
        out = w2 @ onehot
    else:
        from scipy import sparse

        cols = np.flatnonzero(keep)
        onehot = sparse.csr_matrix(
            (np.ones(cols.shape[0]), (cols, idx[keep])), shape=(idx.shape[0], size)
        )
        out = np.asarray((onehot.T @ w2.T).T)
    return out[0] if squeeze else out
