"""The arithmetic of the sample-level paired class-wise test, on cell counts.

:func:`rel_test` is the per-class change of relative class accuracy with its delta-method
standard error under class-stratified paired resampling, vectorised over replicates (the
count test of :mod:`kdbias_audit.stats.paired` reruns it on every permuted data set);
:func:`mcnemar_test` the exact McNemar test; :func:`paired_cells` the reduction of paired
predictions to occupied cells. Formulas: ``docs/samples.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import KDAuditError
from .resample import Cells, scatter_sum, tabulate

__all__ = [
    "mcnemar_test",
    "paired_cells",
    "class_sums",
    "rel_test",
    "two_sided",
    "count_and_evidence",
]


def mcnemar_test(n01: Any, n10: Any) -> np.ndarray:
    """Exact two-sided McNemar test of discordant pair counts, vectorised.

    Under H0 each discordant pair is B-right/A-wrong (``n01``) or A-right/B-wrong (``n10``)
    with probability 1/2:

    .. math:: p = \\min\\bigl(1,\\ 2\\,F_{\\mathrm{Bin}(n_{01}+n_{10},\\,1/2)}(\\min(n_{01}, n_{10}))\\bigr)

    which equals ``scipy.stats.binomtest(n01, n01 + n10, 0.5).pvalue``. NaN where there is no
    discordant pair (untestable).

    Examples
    --------
    >>> mcnemar_test([3, 0], [10, 0])
    array([0.09228516,        nan])
    """
    from scipy import stats

    b = np.asarray(n01, dtype=float)
    c = np.asarray(n10, dtype=float)
    d = b + c
    with np.errstate(invalid="ignore"):
        p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(b, c), d, 0.5))
    return np.where(d > 0, p, np.nan)


def paired_cells(y_true: Any, preds_a: Any, preds_b: Any, num_classes: int) -> Cells:
    """Occupied cells ``(class, #A seeds right, #B seeds right)`` of paired predictions.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    preds_a, preds_b : array-like of int, shape (N,) or (S, N)
        Predictions of A and B on the same samples (row ``s`` of A paired with row ``s`` of B).
    num_classes : int

    Returns
    -------
    Cells
        Columns ``(class, k_a, k_b)`` with ``k`` in ``[0, S]``, stratified by class. One seed
        per side gives at most ``4 C`` cells, whatever ``N``.
    """
    y = np.asarray(y_true)
    pa, pb = np.asarray(preds_a), np.asarray(preds_b)
    pa = pa[None, :] if pa.ndim == 1 else pa
    pb = pb[None, :] if pb.ndim == 1 else pb
    if y.ndim != 1:
        raise KDAuditError(f"y_true: expected a 1-D array, got shape {y.shape}")
    n = y.shape[0]
    for name, p in (("preds_a", pa), ("preds_b", pb)):
        if p.ndim != 2 or p.shape[1] != n:
            raise KDAuditError(f"{name}: expected shape (S, {n}) or ({n},); got {p.shape}")
    if pa.shape[0] != pb.shape[0]:
        raise KDAuditError(
            f"preds_a has {pa.shape[0]} seed(s) but preds_b has {pb.shape[0]}; "
            "the sample-level analysis pairs seeds one to one"
        )
    if pa.shape[0] < 1:
        raise KDAuditError("preds_a: no seeds")
    if int(num_classes) < 1:
        raise KDAuditError(f"num_classes must be at least 1; got {num_classes}")
    if y.dtype.kind not in "iu" or (n and (y.min() < 0 or y.max() >= num_classes)):
        raise KDAuditError(f"y_true: labels must be integers in [0, {num_classes})")
    k_a = (pa == y[None, :]).sum(axis=0)
    k_b = (pb == y[None, :]).sum(axis=0)
    return tabulate([y.astype(np.int64), k_a, k_b], strata=1)


# ---------------------------------------------------------------------------------------------
# The per-class statistic and its delta-method standard error, vectorised over replicates
# ---------------------------------------------------------------------------------------------


def class_sums(cells: Cells, n_seeds: int, num_classes: int, weights: np.ndarray) -> dict:
    """Per-class sums of ``x, y, x^2, y^2, xy`` for count vectors ``weights`` (..., K)."""
    cls = cells.keys[:, 0]
    x = cells.keys[:, 1] / n_seeds
    y = cells.keys[:, 2] / n_seeds
    w = np.asarray(weights, dtype=float)
    out = {}
    for name, v in (
        ("n", 1.0),
        ("sx", x),
        ("sy", y),
        ("sxx", x * x),
        ("syy", y * y),
        ("sxy", x * y),
    ):
        out[name] = scatter_sum(w * v, cls, num_classes)
    return out


def rel_test(s: dict) -> dict:
    """delta of ``r_c`` and its delta-method variance under class-stratified paired resampling.

    With class sizes ``n_k`` (``N`` in all, ``w_k = n_k / N``), class means ``a_k`` (A) and
    ``b_k`` (B) of the per-sample outcomes, their within-class variances ``v^A_k``, ``v^B_k``
    and covariance ``v^{AB}_k`` (plug-in, as the bootstrap has), ``acc_A = sum_k w_k a_k``:

    .. math::

        \\delta_c = \\frac{b_c}{acc_B} - \\frac{a_c}{acc_A},\\qquad
        \\operatorname{Var}\\delta_c = \\sum_k \\frac{1}{n_k}\\bigl(g^A_{ck}{}^2 v^A_k
        + g^B_{ck}{}^2 v^B_k + 2 g^A_{ck} g^B_{ck} v^{AB}_k\\bigr)

    with gradients :math:`g^A_{ck} = -[k=c]/acc_A + w_k a_c/acc_A^2` and
    :math:`g^B_{ck} = [k=c]/acc_B - w_k b_c/acc_B^2` (``O(C)``, not ``O(C^2)``: the ``k != c``
    terms share one sum over classes).
    """
    n = s["n"]
    total = n.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = s["sx"] / n
        b = s["sy"] / n
        va = np.maximum(s["sxx"] / n - a * a, 0.0)
        vb = np.maximum(s["syy"] / n - b * b, 0.0)
        cov = s["sxy"] / n - a * b
        acc_a = s["sx"].sum(axis=-1, keepdims=True) / total
        acc_b = s["sy"].sum(axis=-1, keepdims=True) / total
        rel_a = a / acc_a
        rel_b = b / acc_b
        w = n / total
        alpha_c = a / (acc_a * acc_a)
        beta_c = b / (acc_b * acc_b)
        occupied = n > 0
        nva = np.where(occupied, n * va, 0.0) / (total * total)
        nvb = np.where(occupied, n * vb, 0.0) / (total * total)
        nvab = np.where(occupied, n * cov, 0.0) / (total * total)
        ta = nva.sum(axis=-1, keepdims=True)
        tb = nvb.sum(axis=-1, keepdims=True)
        tab = nvab.sum(axis=-1, keepdims=True)
        base = alpha_c**2 * ta + beta_c**2 * tb - 2 * alpha_c * beta_c * tab
        p_, q_ = alpha_c * w, -beta_c * w  # the k = c gradients as counted in `base`
        u, v = -1.0 / acc_a + p_, 1.0 / acc_b + q_  # the true k = c gradients
        own = ((u * u - p_ * p_) * va + (v * v - q_ * q_) * vb + 2 * (u * v - p_ * q_) * cov) / n
        var = base + own
        scale = (
            alpha_c**2 * ta
            + beta_c**2 * tb
            + 2 * np.abs(alpha_c * beta_c * tab)
            + (u * u * va + v * v * vb + 2 * np.abs(u * v * cov)) / n
        )
        delta = rel_b - rel_a
        testable = occupied & (acc_a > 0) & (acc_b > 0) & np.isfinite(var) & (var > 1e-10 * scale)
        se = np.where(testable, np.sqrt(np.where(testable, var, 0.0)), np.nan)
        z = np.where(testable, delta / se, np.nan)
    return {
        "acc_class_a": a,
        "acc_class_b": b,
        "acc_a": acc_a[..., 0],
        "acc_b": acc_b[..., 0],
        "rel_a": rel_a,
        "rel_b": rel_b,
        "delta": delta,
        "se": se,
        "z": z,
        "testable": testable,
    }


def two_sided(z: np.ndarray) -> np.ndarray:
    from scipy import special

    return special.erfc(np.abs(z) / math.sqrt(2.0))


def count_and_evidence(z: np.ndarray, testable: np.ndarray, alpha: float) -> tuple:
    p = two_sided(z)
    with np.errstate(invalid="ignore"):
        sig = testable & (p <= alpha)
    evidence = np.where(testable, z * z, 0.0).sum(axis=-1)
    return sig.sum(axis=-1), evidence
