"""Paired B - A differences of DPD and EOD for two models scored on the same test samples.

The fairness half of the sample-level comparison (``compare(a, b, method="samples")``): for
each sensitive attribute, ``delta = DPD_B - DPD_A`` (EOD alike; seed means when seed pairs are
pooled) with a bias-corrected percentile CI from the paired bootstrap over the occupied cells ``group x label
x A-predictions x B-predictions`` (within ``(group, label)`` strata, bias-corrected as in
:mod:`.uncertainty`; A and B predictions of a sample stay together) and a two-sided p-value from the paired
permutation that swaps each sample's A and B predictions with probability 1/2:
``(1 + #{|delta*| >= |delta|}) / (1 + R)``. Negative ``delta``: B is fairer.

What this tests: whether the two models' disparities differ on this test distribution. With
one checkpoint per side a difference is not attributable to distillation rather than to
training noise. The permutation p-value is the test (calibration and power:
``tests/test_uncertainty.py``); the interval gives the size of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..defaults import DEFAULT_BOOTSTRAP
from ..errors import KDAuditError
from ..plainjson import plain
from ..stats.resample import (
    batch_sizes,
    bootstrap_counts,
    swap_counts,
    tabulate,
)
from .uncertainty import (
    Mode,
    as_inputs,
    as_preds,
    bootstrap_interval,
    cell_counts,
    check_options,
    disparities,
    n_audited,
)

__all__ = [
    "DisparityDifference",
    "PairedDisparityResult",
    "paired_disparity_test",
    "compare_fairness_samples",
]


@dataclass(frozen=True)
class DisparityDifference:
    """``delta = metric(B) - metric(A)`` with a paired bootstrap CI and permutation p-value."""

    delta: float
    ci_low: float
    ci_high: float
    pvalue: float
    confidence_level: float
    n_resamples: int
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        return bool(math.isfinite(self.pvalue) and self.pvalue <= self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """``{"delta", "ci_low", "ci_high", "pvalue"}`` (plain values; NaN/inf as ``None``)."""
        return plain(
            {
                "delta": self.delta,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "pvalue": self.pvalue,
            }
        )


@dataclass(frozen=True)
class PairedDisparityResult:
    """Paired B - A differences of DPD and EOD on the same samples."""

    dpd_diff: DisparityDifference
    eod_diff: DisparityDifference
    dpd_a: float
    dpd_b: float
    eod_a: float
    eod_b: float
    mode: str
    n_pairs: int


# ---------------------------------------------------------------------------------------------
# Two models on the same samples: paired differences
# ---------------------------------------------------------------------------------------------


def _side_metrics(
    cells_g: np.ndarray,
    cells_y: np.ndarray,
    pred_cols: np.ndarray,
    weights: np.ndarray,
    args: tuple,
) -> tuple[np.ndarray, np.ndarray]:
    """Seed-mean DPD and EOD of one side; ``pred_cols`` is (K, S)."""
    per_seed = [
        disparities(*cell_counts(cells_g, cells_y, pred_cols[:, j], weights, *args))
        for j in range(pred_cols.shape[1])
    ]
    return (
        np.mean([d for d, _ in per_seed], axis=0),
        np.mean([e for _, e in per_seed], axis=0),
    )


def paired_disparity_test(
    y_true: Any,
    preds_a: Any,
    preds_b: Any,
    group_codes: Any,
    n_groups: int,
    *,
    mode: Mode = "binary",
    positive: int = 1,
    num_classes: int | None = None,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    confidence_level: float = 0.95,
    alpha: float = 0.05,
    random_state: Any = 0,
) -> PairedDisparityResult:
    """Paired B - A differences of DPD and EOD of two models scored on the same samples.

    ``delta = mean_s DPD_B,s - mean_s DPD_A,s`` (EOD alike) over ``S`` seed pairs (one row
    each of ``preds_a`` / ``preds_b``); bias-corrected percentile CI from the paired
    bootstrap within ``(group, label)`` strata; two-sided p-value from the paired
    permutation (each sample's A
    and B predictions swapped with probability 1/2). Negative ``delta``: B is fairer.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    preds_a, preds_b : array-like of int, shape (N,) or (S, N)
    group_codes : array-like of int, shape (N,)
    n_groups : int
    mode, positive, num_classes, n_resamples, confidence_level, random_state
        As in :func:`disparity_uncertainty`.
    alpha : float
        Level of :attr:`DisparityDifference.significant`.

    Returns
    -------
    PairedDisparityResult
    """
    cl, n_resamples = check_options(confidence_level, n_resamples, mode, n_groups)
    y, g = as_inputs(y_true, group_codes, n_groups)
    pa = as_preds(preds_a, y.shape[0], "preds_a")
    pb = as_preds(preds_b, y.shape[0], "preds_b")
    if pa.shape[0] != pb.shape[0]:
        raise KDAuditError(
            f"preds_a has {pa.shape[0]} seed(s) but preds_b has {pb.shape[0]}; "
            "paired differences pair seeds one to one"
        )
    s = pa.shape[0]
    k = n_audited(mode, y, np.concatenate([pa, pb]), num_classes)
    args = (n_groups, k, mode, int(positive))
    cells = tabulate([g, y, *pa, *pb], strata=2)
    cg, cy = cells.keys[:, 0], cells.keys[:, 1]
    col_a, col_b = cells.keys[:, 2 : 2 + s], cells.keys[:, 2 + s :]
    w0 = cells.counts.astype(float)
    da, ea = (float(v) for v in _side_metrics(cg, cy, col_a, w0, args))
    db, eb = (float(v) for v in _side_metrics(cg, cy, col_b, w0, args))
    obs = {"dpd": db - da, "eod": eb - ea}

    rng = np.random.default_rng(random_state)
    boot: dict[str, list] = {"dpd": [], "eod": []}
    for w in bootstrap_counts(cells, n_resamples, random_state=rng):  # (group, label) strata
        wf = w.astype(float)
        d_a, e_a = _side_metrics(cg, cy, col_a, wf, args)
        d_b, e_b = _side_metrics(cg, cy, col_b, wf, args)
        boot["dpd"].append(d_b - d_a)
        boot["eod"].append(e_b - e_a)
    # permutation: m samples of each cell move to the mirrored cell (A and B swapped)
    movable = np.flatnonzero((col_a != col_b).any(axis=1))
    mg, my = cg[movable], cy[movable]
    all_g, all_y = np.concatenate([cg, mg]), np.concatenate([cy, my])
    all_a = np.concatenate([col_a, col_b[movable]])
    all_b = np.concatenate([col_b, col_a[movable]])
    perm: dict[str, list] = {"dpd": [], "eod": []}
    for r in batch_sizes(n_resamples, cells.n_cells * 2 * s):
        m = swap_counts(cells.counts[movable], r, rng).astype(float)
        w = np.broadcast_to(w0, (r, w0.shape[0])).copy()
        w[:, movable] -= m
        w = np.concatenate([w, m], axis=1)
        d_a, e_a = _side_metrics(all_g, all_y, all_a, w, args)
        d_b, e_b = _side_metrics(all_g, all_y, all_b, w, args)
        perm["dpd"].append(d_b - d_a)
        perm["eod"].append(e_b - e_a)
    diffs = {}
    for name in ("dpd", "eod"):
        delta = obs[name]
        if math.isfinite(delta):
            lo, hi = bootstrap_interval(np.concatenate(boot[name]), delta, cl, bounds=(-1.0, 1.0))
            null = np.concatenate(perm[name])
            null = np.where(np.isfinite(null), np.abs(null), -np.inf)
            p = float((1 + np.sum(null >= abs(delta) - 1e-12)) / (1 + n_resamples))
        else:
            lo = hi = p = math.nan
        diffs[name] = DisparityDifference(delta, lo, hi, p, cl, n_resamples, float(alpha))
    return PairedDisparityResult(
        dpd_diff=diffs["dpd"],
        eod_diff=diffs["eod"],
        dpd_a=da,
        dpd_b=db,
        eod_a=ea,
        eod_b=eb,
        mode=mode,
        n_pairs=s,
    )


def compare_fairness_samples(
    a: Any,
    b: Any,
    *,
    pairs: Any,
    sensitive: Any = None,
    positive_class: int | None = None,
    alpha: float = 0.05,
    confidence_level: float = 0.95,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    random_state: Any = 0,
) -> Any:
    """The fairness comparison of run sets A and B at the sample level.

    As :func:`kdbias_audit.fairness.compare.compare_fairness` (the same audits of A and B, the
    same validation), with each attribute's ``dpd_diff``/``eod_diff`` from
    :func:`paired_disparity_test` on the seed pairs ``pairs`` (index pairs ``(i_a, i_b)``).
    Returns a ``FairnessComparison`` (without results when the run sets share no group
    attribute).
    """
    import dataclasses

    from ..checks import where
    from .attributes import attribute_codes
    from .compare import compare_fairness

    base = compare_fairness(a, b, sensitive=sensitive, positive_class=positive_class, alpha=alpha)
    if base is None or not base.results:
        return base
    ia = [int(i) for i, _ in pairs]
    ib = [int(j) for _, j in pairs]
    labels = np.asarray(a.label)
    rng = np.random.default_rng(random_state)
    results = []
    for r in base.results:
        codes_a, groups_a = attribute_codes(a, r.a.components)
        codes_b, groups_b = attribute_codes(b, r.b.components)
        if list(groups_a) != list(groups_b) or not np.array_equal(codes_a, codes_b):
            raise KDAuditError(
                f"{where(b)}: group '{r.attribute}' differs from {where(a)} on the "
                "same samples; a paired comparison needs the same groups"
            )
        test = paired_disparity_test(
            labels,
            np.asarray(a.preds)[ia],
            np.asarray(b.preds)[ib],
            codes_a,
            len(groups_a),
            mode=r.a.mode,
            positive=r.a.positive_class if r.a.positive_class is not None else 1,
            num_classes=int(a.num_classes),
            n_resamples=n_resamples,
            confidence_level=confidence_level,
            alpha=alpha,
            random_state=rng,
        )
        results.append(dataclasses.replace(r, dpd_diff=test.dpd_diff, eod_diff=test.eod_diff))
    return dataclasses.replace(base, results=tuple(results))
