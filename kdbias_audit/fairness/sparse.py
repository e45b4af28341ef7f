"""One-vs-rest DPD and EOD from the (group, class) cells that occur, for many groups x classes.

The dense path (:func:`~kdbias_audit.fairness.counts.one_vs_rest_counts`) holds
``(S, K, G)`` arrays: 20,000 groups x 2,000 classes x 5 seeds is 200 M cells per count, about
7 GB. Here every quantity is computed from the cells that occur in the data, at most ``S * N``
of them, with the same definitions (``fairness/rates.py``):

* ``SR[g, c] = PP[g, c] / n_g``: a group without a prediction of ``c`` has rate 0 (implicit);
* ``TPR[g, c] = TP[g, c] / P[g, c]``: defined only where ``P[g, c] > 0`` (explicit cells);
* ``FPR[g, c] = (PP - TP)[g, c] / (n_g - P[g, c])``: defined where ``n_g > P[g, c]``; a group
  with neither a positive nor a prediction of ``c`` has rate 0 (implicit).

A spread over groups is ``max - min`` of the explicit values and, when some group is implicit,
0; it is NaN over fewer than two defined groups. The tests check every value against the dense
path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sparse_one_vs_rest", "SPARSE_MIN_CELLS"]

#: ``S * K * G`` above which the audit takes this path (the dense arrays would pass ~100 MB).
SPARSE_MIN_CELLS = 4_000_000


def _cells(keys: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse = np.unique(keys, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=uniq.size)
    return uniq, counts


def _spread_by_class(
    cls: np.ndarray, values: np.ndarray, k: int, implicit: np.ndarray, n_defined: np.ndarray
) -> np.ndarray:
    """``max - min`` per class over explicit ``values`` (grouped by ``cls``) plus an implicit 0
    where ``implicit[c]``; NaN where ``n_defined[c] < 2``."""
    hi = np.full(k, -np.inf)
    lo = np.full(k, np.inf)
    np.maximum.at(hi, cls, values)
    np.minimum.at(lo, cls, values)
    hi = np.where(implicit, np.maximum(hi, 0.0), hi)
    lo = np.where(implicit, np.minimum(lo, 0.0), lo)
    with np.errstate(invalid="ignore"):
        out = hi - lo
    return np.where(n_defined >= 2, out, np.nan)


def sparse_one_vs_rest(
    labels: np.ndarray, preds: np.ndarray, codes: np.ndarray, n_groups: int, k: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Per seed and class DPD and EOD, one-vs-rest, from the occurring cells.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
    preds : ndarray of int, shape (S, N)
    codes : ndarray of int, shape (N,)
        Group of each sample in ``[0, n_groups)``.
    n_groups, k : int
        Groups and classes.

    Returns
    -------
    dpd, eod : ndarray, shape (S, k)
    tpr_undefined, fpr_undefined : int
        Number of (group, class) cells (over all seeds for FPR) whose TPR / FPR is undefined.
    """
    y = np.asarray(labels, dtype=np.int64)
    p2 = np.atleast_2d(np.asarray(preds, dtype=np.int64))
    g = np.asarray(codes, dtype=np.int64)
    n_g = np.bincount(g, minlength=n_groups).astype(float)
    n_nonempty = int((n_g > 0).sum())
    # positives: P[g, c] (the same for every seed), keyed c * G + g (sorted by class)
    p_keys, p_val = _cells(y * n_groups + g)
    p_cls = p_keys // n_groups
    p_per_class = np.bincount(p_cls, minlength=k)
    tpr_defined = p_per_class  # one defined TPR per explicit P cell
    tpr_undefined = int(n_nonempty * k - p_keys.size)
    dpd = np.empty((p2.shape[0], k))
    eod = np.empty((p2.shape[0], k))
    fpr_undefined = 0
    for s, pred in enumerate(p2):
        # selection rates over the PP cells; groups without a prediction of c are 0
        pp_keys, pp_val = _cells(pred * n_groups + g)
        pp_cls, pp_grp = pp_keys // n_groups, pp_keys % n_groups
        pp_per_class = np.bincount(pp_cls, minlength=k)
        sr = pp_val / n_g[pp_grp]
        dpd[s] = _spread_by_class(pp_cls, sr, k, pp_per_class < n_nonempty, np.full(k, n_nonempty))
        # true positives on the P cells
        hit = pred == y
        tp_keys, tp_val = _cells((y * n_groups + g)[hit])
        tp_on_p = np.zeros(p_keys.size)
        tp_on_p[np.searchsorted(p_keys, tp_keys)] = tp_val
        tpr = tp_on_p / p_val
        tpr_spread = _spread_by_class(p_cls, tpr, k, np.zeros(k, dtype=bool), tpr_defined)
        # FPR on the union of P and PP cells; other non-empty groups are an implicit 0
        u_keys = np.union1d(p_keys, pp_keys)
        u_cls, u_grp = u_keys // n_groups, u_keys % n_groups
        pos = np.zeros(u_keys.size)
        pos[np.searchsorted(u_keys, p_keys)] = p_val
        ppu = np.zeros(u_keys.size)
        ppu[np.searchsorted(u_keys, pp_keys)] = pp_val
        tpu = np.zeros(u_keys.size)
        tpu[np.searchsorted(u_keys, tp_keys)] = tp_val
        neg = n_g[u_grp] - pos
        ok = neg > 0
        fpr = (ppu - tpu)[ok] / neg[ok]
        explicit = np.bincount(u_cls, minlength=k)
        implicit = explicit < n_nonempty
        n_defined = np.bincount(u_cls[ok], minlength=k) + (n_nonempty - explicit)
        fpr_undefined += int((~ok).sum())
        fpr_spread = _spread_by_class(u_cls[ok], fpr, k, implicit, n_defined)
        eod[s] = np.where(
            np.isnan(tpr_spread) | np.isnan(fpr_spread), np.nan, np.fmax(tpr_spread, fpr_spread)
        )
    return dpd, eod, tpr_undefined, fpr_undefined
