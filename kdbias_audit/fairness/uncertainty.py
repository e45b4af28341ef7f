"""Uncertainty of disparity metrics: bootstrap CIs, noise floors and paired B - A differences.

Every DPD/EOD of the package is a max-minus-min over group rates estimated from finite test
sets; this module says how much of it is sampling noise (``DESIGN.md``, "Uncertainty of
disparity metrics"). All resampling works on the occupied cells ``group x label x
prediction`` (:mod:`kdbias_audit.stats.resample`), so its cost does not grow with ``N``.

For one model (:func:`disparity_uncertainty`):

* **bootstrap CI**: the samples of each ``(group, label)`` stratum are redrawn with
  replacement (group and class sizes stay fixed; ``stratified=False`` redraws all ``N`` rows
  together, as fairlearn's ``MetricFrame(n_boot=...)`` does). The interval is the
  *bias-corrected* percentile interval ``[q_lo - b, q_hi - b]`` with the bootstrap bias
  estimate ``b = mean(theta*) - theta``, clipped to the metric's range: a max-minus-min over
  noisy groups is biased upward, and its bootstrap replicates are biased upward once more, so
  the plain percentile interval sits too high (coverage of the plain percentile interval
  falls to 0-50 % with many small groups or near ties; see ``docs/fairness.md``);
* **noise floor**: a parametric bootstrap with every group at the pooled rates and its real
  size: ``PP_g ~ Bin(n_g, SR)`` for DPD; ``TP_g ~ Bin(P_g, TPR)`` and ``FP_g ~ Bin(N_g, FPR)``
  for EOD (one-vs-rest: per class ``c``, with the pooled rates of ``c``). ``noise_floor`` is
  the mean DPD/EOD under "no disparity", and ``noise_pvalue = (1 + #{null >= observed}) /
  (1 + R)`` the p-value of "disparity beyond sampling noise". The DPD null has two versions
  (``dpd_null``): ``"pooled"`` (above; the test set is a random sample, so a group's label
  mix is part of the noise) and ``"labels"``, which keeps every group's positives and
  negatives as observed and draws its predicted positives ``PP_g = TP_g + FP_g`` from the EOD
  null: "the groups differ in their labels, not in how the model errs". For a test set whose
  label mix per group is fixed by design (a balanced Trifeature set) the pooled null counts
  label-mix noise the design does not have; the label-conditional one does not, and for a
  random-sample test set it asks whether the DPD exceeds what the groups' own base rates
  produce under equal error rates.

For two models on the same samples (:func:`kdbias_audit.fairness.paired.paired_disparity_test`): ``delta = DPD_B - DPD_A``
(EOD alike; seed means when several seed pairs are pooled), its percentile CI from the paired
bootstrap, stratified and bias-corrected as above (A and B predictions of a sample stay
together), and a two-sided p-value
from the paired permutation that swaps A's and B's predictions of each sample with
probability 1/2: ``(1 + #{|delta*| >= |delta|}) / (1 + R)``.

Limits: even bias-corrected, the interval of a max-minus-min under-covers where groups are
(nearly) tied (the bootstrap is not consistent at a tie); the noise floor and the
permutation p-value, not the CIs, answer "is there any disparity" and "did it change". The one-vs-rest noise floor draws classes independently (exact per
class; the spread of the class average is approximate). A group without positives
(negatives) has no TPR (FPR) and is left out of that spread, as in
:mod:`kdbias_audit.fairness.rates`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..defaults import DEFAULT_BOOTSTRAP, MIN_RESAMPLES
from ..errors import KDAuditError
from ..plainjson import plain
from ..stats.resample import (
    batch_sizes,
    bootstrap_counts,
    check_resamples,
    scatter_sum,
    tabulate,
)
from .rates import combine_eod, spread

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "MetricUncertainty",
    "DisparityUncertainty",
    "disparity_uncertainty",
    "bootstrap_spreads",
    "disparities",
    "cell_counts",
    "check_options",
    "as_inputs",
    "as_preds",
    "n_audited",
    "bootstrap_interval",
]

Mode = Literal["binary", "one-vs-rest"]
DPDNull = Literal["pooled", "labels"]
DPD_NULLS: tuple[str, ...] = ("pooled", "labels")


# ---------------------------------------------------------------------------------------------
# DPD and EOD of many replicates at once, from cell counts
# ---------------------------------------------------------------------------------------------


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _spread(rates: np.ndarray) -> np.ndarray:
    """``max - min`` over the last axis of the defined rates; NaN with fewer than two."""
    return np.asarray(spread(rates))


def _class_mean(values: np.ndarray) -> np.ndarray:
    defined = ~np.isnan(values)
    k = defined.sum(axis=-1)
    total = np.where(defined, values, 0.0).sum(axis=-1)
    return _rate(total, k.astype(float))


def disparities(
    n: np.ndarray, pos: np.ndarray, pp: np.ndarray, tp: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """DPD and EOD (class means) from counts shaped ``(..., classes, groups)``."""
    sr = _rate(pp, n)
    tpr = _rate(tp, pos)
    fpr = _rate(pp - tp, n - pos)
    dpd = _spread(sr)
    ts, fs = _spread(tpr), _spread(fpr)
    eod = combine_eod(ts, fs)
    return _class_mean(dpd), _class_mean(eod)


def _audited_index(values: np.ndarray, mode: Mode, positive: int) -> np.ndarray:
    if mode == "binary":
        return np.where(values == positive, 0, -1)
    return values


def cell_counts(
    g: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    weights: np.ndarray,
    n_groups: int,
    n_audited: int,
    mode: Mode,
    positive: int,
) -> tuple[np.ndarray, ...]:
    """Per (class, group) counts ``n, P, PP, TP`` for replicate weights ``(R, K)``."""
    size = n_audited * n_groups
    iy = _audited_index(y, mode, positive)
    ip = _audited_index(pred, mode, positive)
    key_y = np.where(iy >= 0, iy * n_groups + g, -1)
    key_p = np.where(ip >= 0, ip * n_groups + g, -1)
    key_tp = np.where(y == pred, key_y, -1)
    shape = (*weights.shape[:-1], n_audited, n_groups)
    n_g = scatter_sum(weights, g, n_groups)[..., None, :]
    pos = scatter_sum(weights, key_y, size).reshape(shape)
    pp = scatter_sum(weights, key_p, size).reshape(shape)
    tp = scatter_sum(weights, key_tp, size).reshape(shape)
    return np.broadcast_to(n_g, shape), pos, pp, tp


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricUncertainty:
    """One disparity metric of one model with its uncertainty.

    Attributes
    ----------
    statistic : float
        The observed DPD or EOD (class mean for one-vs-rest).
    ci_low, ci_high : float
        Percentile bootstrap interval at ``confidence_level`` (NaN when undefined).
    noise_floor : float
        Mean of the metric when every group has the pooled rates (parametric bootstrap; for
        DPD as ``DisparityUncertainty.dpd_null`` says).
    noise_pvalue : float
        ``(1 + #{null >= statistic}) / (1 + R)``: is the disparity beyond sampling noise?
        NaN when the statistic is undefined.
    confidence_level : float or None
        None when no interval was computed (noise floor only).
    n_resamples : int
    """

    statistic: float
    ci_low: float
    ci_high: float
    noise_floor: float
    noise_pvalue: float
    confidence_level: float | None
    n_resamples: int

    def confidence_interval(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high

    def to_dict(self) -> dict[str, Any]:
        return plain(
            {
                "value": self.statistic,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "noise_floor": self.noise_floor,
                "noise_pvalue": self.noise_pvalue,
            }
        )


@dataclass(frozen=True)
class DisparityUncertainty:
    """DPD and EOD of one model (one seed) with bootstrap CIs and noise floors."""

    dpd: MetricUncertainty
    eod: MetricUncertainty
    mode: str
    n_groups: int
    stratified: bool = True
    dpd_null: str = "pooled"

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([{"metric": m, **getattr(self, m).to_dict()} for m in ("dpd", "eod")])


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def check_dpd_null(dpd_null: str) -> DPDNull:
    """``dpd_null`` checked: ``"pooled"`` or ``"labels"``."""
    if dpd_null not in DPD_NULLS:
        raise KDAuditError(f"dpd_null must be 'pooled' or 'labels'; got {dpd_null!r}")
    return dpd_null  # type: ignore[return-value]


def check_options(
    confidence_level: float, n_resamples: int, mode: str, n_groups: int
) -> tuple[float, int]:
    cl = float(confidence_level)
    if not 0 < cl < 1:
        raise KDAuditError(f"confidence_level must be in (0, 1); got {cl}")
    n_resamples = check_resamples(n_resamples, minimum=MIN_RESAMPLES)
    if mode not in ("binary", "one-vs-rest"):
        raise KDAuditError(f"mode must be 'binary' or 'one-vs-rest'; got {mode!r}")
    if int(n_groups) < 1:
        raise KDAuditError(f"n_groups must be at least 1; got {n_groups}")
    return cl, n_resamples


def as_preds(preds: Any, n: int, name: str) -> np.ndarray:
    p = np.asarray(preds)
    p = p[None, :] if p.ndim == 1 else p
    if p.ndim != 2 or p.shape[1] != n or p.dtype.kind not in "iub":
        raise KDAuditError(f"{name}: expected integer predictions of shape ({n},) or (S, {n})")
    return p.astype(np.int64, copy=False)


def as_inputs(y_true: Any, group_codes: Any, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    g = np.asarray(group_codes)
    if y.ndim != 1 or y.dtype.kind not in "iub":
        raise KDAuditError(f"y_true: expected a 1-D integer array, got shape {y.shape}")
    if g.shape != y.shape or g.dtype.kind not in "iub":
        raise KDAuditError(f"group_codes: expected integers of shape {y.shape}, got {g.shape}")
    if g.size and (g.min() < 0 or g.max() >= n_groups):
        raise KDAuditError(f"group_codes: codes must lie in [0, {n_groups})")
    return y.astype(np.int64), g.astype(np.int64)


def n_audited(mode: Mode, y: np.ndarray, preds: np.ndarray, num_classes: int | None) -> int:
    if mode == "binary":
        return 1
    k = int(num_classes) if num_classes is not None else int(max(y.max(), preds.max())) + 1
    return k


# ---------------------------------------------------------------------------------------------
# One model: bootstrap CI and noise floor
# ---------------------------------------------------------------------------------------------


def disparity_uncertainty(
    y_true: Any,
    y_pred: Any,
    group_codes: Any,
    n_groups: int,
    *,
    mode: Mode = "binary",
    positive: int = 1,
    num_classes: int | None = None,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    confidence_level: float = 0.95,
    stratified: bool = True,
    interval: bool = True,
    dpd_null: DPDNull = "pooled",
    random_state: Any = 0,
) -> DisparityUncertainty:
    """Bootstrap confidence intervals and noise floors of DPD and EOD for one model.

    See the module docstring for the definitions.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)
    group_codes : array-like of int, shape (N,)
        Group of each sample in ``[0, n_groups)`` (an intersection is one code per combination).
    n_groups : int
    mode : {"binary", "one-vs-rest"}
        Binary: rates of the class ``positive``; one-vs-rest: every class, averaged.
    positive : int, default 1
    num_classes : int, optional
        Classes of a one-vs-rest audit (default: the largest label or prediction + 1).
    n_resamples : int, default 1000
        Bootstrap replicates and noise-floor draws (at least 100).
    confidence_level : float, default 0.95
    stratified : bool, default True
        Redraw within ``(group, label)`` strata; False: all rows together.
    interval : bool, default True
        False: noise floors only (no bootstrap; ``ci_low``/``ci_high`` NaN,
        ``confidence_level`` None).
    dpd_null : {"pooled", "labels"}, default "pooled"
        The DPD noise floor's null: every group at the pooled selection rate (a random-sample
        test set), or every group's labels kept and its errors at the pooled TPR/FPR (a test
        set whose label mix per group is fixed by design). See the module docstring.
    random_state : int or numpy seed

    Returns
    -------
    DisparityUncertainty

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat([0, 1], 500)
    >>> y = rng.integers(0, 2, 1000)
    >>> pred = np.where(rng.random(1000) < 0.2 + 0.2 * g, 1 - y, y)
    >>> res = disparity_uncertainty(y, pred, g, 2, n_resamples=200)
    >>> res.dpd.ci_low <= res.dpd.statistic <= res.dpd.ci_high
    True
    """
    cl, n_resamples = check_options(confidence_level, n_resamples, mode, n_groups)
    dpd_null = check_dpd_null(dpd_null)
    y, g = as_inputs(y_true, group_codes, n_groups)
    pred = as_preds(y_pred, y.shape[0], "y_pred")
    if pred.shape[0] != 1:
        raise KDAuditError(f"y_pred: expected one model's predictions, got {pred.shape[0]} rows")
    pred = pred[0]
    k = n_audited(mode, y, pred, num_classes)
    cells = tabulate([g, y, pred], strata=2)
    cg, cy, cp = cells.keys[:, 0], cells.keys[:, 1], cells.keys[:, 2]
    args = (n_groups, k, mode, int(positive))
    n, pos, pp, tp = cell_counts(cg, cy, cp, cells.counts.astype(float), *args)
    dpd_obs, eod_obs = (float(v) for v in disparities(n, pos, pp, tp))

    rng = np.random.default_rng(random_state)
    boot_d: list = [np.full(0, np.nan)]
    boot_e: list = [np.full(0, np.nan)]
    if not interval:
        pass
    else:  # cells are stratified by (group, label)
        for w in bootstrap_counts(cells, n_resamples, random_state=rng, stratified=stratified):
            d, e = disparities(*cell_counts(cg, cy, cp, w.astype(float), *args))
            boot_d.append(d)
            boot_e.append(e)
    null_d, null_e = _noise_floor(n, pos, pp, tp, n_resamples, rng, dpd_null)
    metrics = []
    for obs, boot, null in (
        (dpd_obs, np.concatenate(boot_d), null_d),
        (eod_obs, np.concatenate(boot_e), null_e),
    ):
        finite = interval and math.isfinite(obs)
        lo, hi = bootstrap_interval(boot, obs, cl) if finite else (math.nan, math.nan)
        metrics.append(
            MetricUncertainty(
                statistic=obs,
                ci_low=lo,
                ci_high=hi,
                noise_floor=float(np.nanmean(null)) if np.isfinite(null).any() else math.nan,
                noise_pvalue=_upper_pvalue(null, obs),
                confidence_level=cl if interval else None,
                n_resamples=n_resamples,
            )
        )
    return DisparityUncertainty(
        dpd=metrics[0],
        eod=metrics[1],
        mode=mode,
        n_groups=int(n_groups),
        stratified=stratified,
        dpd_null=dpd_null,
    )


def bootstrap_spreads(
    y_true: Any,
    y_pred: Any,
    group_codes: Any,
    n_groups: int,
    *,
    positive: int = 1,
    n_resamples: int = DEFAULT_BOOTSTRAP,
    stratified: bool = False,
    random_state: Any = 0,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of the between-group spreads of a binary task's rates.

    Returns ``{"selection_rate", "tpr", "fpr"}``: arrays of shape ``(n_resamples,)`` holding
    ``max_g - min_g`` of each rate per replicate (fairlearn's
    ``MetricFrame(..., n_boot=R).difference()`` per replicate; ``stratified=False``, the
    default here, is fairlearn's plain row bootstrap; True redraws within groups).
    """
    n_resamples = check_resamples(n_resamples, minimum=1)
    y, g = as_inputs(y_true, group_codes, n_groups)
    pred = as_preds(y_pred, y.shape[0], "y_pred")[0]
    cells = tabulate([g, y, pred], strata=1 if stratified else 0)
    cg, cy, cp = cells.keys[:, 0], cells.keys[:, 1], cells.keys[:, 2]
    out: dict[str, list] = {"selection_rate": [], "tpr": [], "fpr": []}
    for w in bootstrap_counts(cells, n_resamples, random_state=random_state):
        n, pos, pp, tp = cell_counts(cg, cy, cp, w.astype(float), n_groups, 1, "binary", positive)
        out["selection_rate"].append(_spread(_rate(pp, n))[..., 0])
        out["tpr"].append(_spread(_rate(tp, pos))[..., 0])
        out["fpr"].append(_spread(_rate(pp - tp, n - pos))[..., 0])
    return {k: np.concatenate(v) for k, v in out.items()}


def bootstrap_interval(
    values: np.ndarray, observed: float, cl: float, *, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float]:
    """Bias-corrected percentile interval ``[q_lo - b, q_hi - b]``, ``b = mean(values) -
    observed``, clipped to ``bounds`` (NaN replicates are left out)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not math.isfinite(observed):
        return math.nan, math.nan
    lo, hi = np.quantile(finite, [(1 - cl) / 2, (1 + cl) / 2]) - (finite.mean() - observed)
    return float(np.clip(lo, *bounds)), float(np.clip(hi, *bounds))


def _upper_pvalue(null: np.ndarray, observed: float) -> float:
    if not math.isfinite(observed):
        return math.nan
    null = np.where(np.isfinite(null), null, -np.inf)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.shape[0]))


def _noise_floor(
    n: np.ndarray,
    pos: np.ndarray,
    pp: np.ndarray,
    tp: np.ndarray,
    size: int,
    rng: np.random.Generator,
    dpd_null: DPDNull = "pooled",
) -> tuple[np.ndarray, np.ndarray]:
    """DPD and EOD when every group has the pooled rates (counts shaped (classes, groups)).

    ``dpd_null="labels"``: DPD from the EOD null's ``TP + FP`` (each group's labels kept).
    """
    neg = n - pos
    fp = pp - tp
    sr = _rate(pp.sum(-1), n.sum(-1))[..., None]
    tpr = _rate(tp.sum(-1), pos.sum(-1))[..., None]
    fpr = _rate(fp.sum(-1), neg.sum(-1))[..., None]
    out_d, out_e = [], []
    # replicates on the last axis: consecutive draws share (n, p), which numpy's binomial
    # sampler sets up once
    ni, posi, negi = (np.asarray(a, dtype=np.int64)[..., None] for a in (n, pos, neg))
    sr, tpr, fpr = (np.nan_to_num(np.broadcast_to(v, n.shape))[..., None] for v in (sr, tpr, fpr))
    axes = (n.ndim, *range(n.ndim))
    for r in batch_sizes(size, n.size * 3):
        shape = (*n.shape, r)
        pp_null = rng.binomial(ni, sr, size=shape).transpose(axes)
        tp_null = rng.binomial(posi, tpr, size=shape).transpose(axes)
        fp_null = rng.binomial(negi, fpr, size=shape).transpose(axes)
        if dpd_null == "labels":
            d, e = disparities(n, pos, tp_null + fp_null, tp_null)
        else:
            d, _ = disparities(n, pos, pp_null, np.zeros(pp_null.shape))
            _, e = disparities(n, pos, tp_null + fp_null, tp_null)
        out_d.append(d)
        out_e.append(e)
    return np.concatenate(out_d), np.concatenate(out_e)
