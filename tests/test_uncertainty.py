"""Uncertainty of DPD/EOD: exact point values, brute-force bootstrap oracle, coverage of the CIs,
calibration of the noise floor and of the paired B - A test, and their power."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kdbias_audit.errors import DegenerateDataWarning, KDAuditError
from kdbias_audit.fairness import dpd, eod, group_counts, one_vs_rest_counts
from kdbias_audit.fairness.paired import paired_disparity_test
from kdbias_audit.fairness.uncertainty import bootstrap_interval, disparity_uncertainty

ALPHA = 0.05


def sampled_data(rng, tpr, fpr, prevalence, n_per):
    """A random test sample: per group ``n_per`` rows, labels ~ Bern(prevalence), predictions
    ~ Bern(TPR_g) for positives and Bern(FPR_g) for negatives (known population rates)."""
    tpr, fpr = np.asarray(tpr), np.asarray(fpr)
    g = np.repeat(np.arange(len(tpr)), n_per)
    y = (rng.random(g.shape[0]) < prevalence).astype(int)
    pred = (rng.random(g.shape[0]) < np.where(y == 1, tpr[g], fpr[g])).astype(int)
    return y, pred, g


def binary_data(rng, tpr, fpr, n_pos, n_neg):
    """Groups with fixed positives/negatives and binomial true/false positives."""
    tpr, fpr = np.asarray(tpr), np.asarray(fpr)
    g_n = len(tpr)
    tp = rng.binomial(n_pos, tpr)
    fp = rng.binomial(n_neg, fpr)
    g = np.repeat(np.arange(g_n), n_pos + n_neg)
    y = np.concatenate([np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)] for _ in range(g_n)])
    pred = np.concatenate(
        [
            np.r_[
                np.ones(tp[i], int),
                np.zeros(n_pos - tp[i], int),
                np.ones(fp[i], int),
                np.zeros(n_neg - fp[i], int),
            ]
            for i in range(g_n)
        ]
    )
    return y, pred, g


def test_point_values_equal_the_fairness_module():
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.15 + 0.05 * g, 1 - y, y)
    res = disparity_uncertainty(y, pred, g, 3, n_resamples=100)
    c = group_counts(y, pred, g, 3)
    assert res.dpd.statistic == pytest.approx(dpd(c), abs=1e-12)
    assert res.eod.statistic == pytest.approx(eod(c), abs=1e-12)
    assert res.dpd.ci_low <= res.dpd.statistic <= res.dpd.ci_high
    # one-vs-rest: the class mean of the per-class values
    k = 6
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.6 + 0.1 * g, y, rng.integers(0, k, n))
    res = disparity_uncertainty(y, pred, g, 3, mode="one-vs-rest", num_classes=k, n_resamples=100)
    c = one_vs_rest_counts(y, pred, g, 3, k)
    assert res.dpd.statistic == pytest.approx(np.mean(dpd(c)), abs=1e-12)
    assert res.eod.statistic == pytest.approx(np.mean(eod(c)), abs=1e-12)


def test_undefined_rates_are_excluded_not_zero():
    # group 1 has no positives: its TPR is undefined, the TPR spread uses groups 0 and 2
    y = np.array([1, 1, 0, 0, 0, 0, 1, 1, 0, 0])
    pred = np.array([1, 0, 0, 1, 1, 0, 1, 1, 0, 0])
    g = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    res = disparity_uncertainty(y, pred, g, 3, n_resamples=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        expected = eod(group_counts(y, pred, g, 3))
    assert res.eod.statistic == pytest.approx(expected)
    # one group only: DPD and EOD undefined, reported as NaN (never 0), p-value NaN
    one = disparity_uncertainty(y, pred, np.zeros(10, int), 1, n_resamples=100)
    assert np.isnan(one.dpd.statistic) and np.isnan(one.dpd.noise_pvalue)
    assert np.isnan(one.dpd.ci_low) and np.isnan(one.eod.ci_high)


def _brute_force_dpd(y, pred, g, n_groups, n_rep, rng, stratified):
    strata = g * 2 + y  # (group, label) strata
    out = np.empty(n_rep)
    for r in range(n_rep):
        if stratified:
            idx = np.concatenate(
                [
                    rng.choice(np.flatnonzero(strata == s), (strata == s).sum())
                    for s in np.unique(strata)
                ]
            )
        else:
            idx = rng.integers(0, y.shape[0], y.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateDataWarning)
            out[r] = dpd(group_counts(y[idx], pred[idx], g[idx], n_groups))
    return out


@pytest.mark.parametrize("stratified", [True, False])
def test_bootstrap_of_binary_dpd_agrees_with_brute_force_row_resampling(stratified):
    rng = np.random.default_rng(3)
    y, pred, g = binary_data(rng, [0.6, 0.7, 0.8], [0.1, 0.2, 0.15], 40, 60)
    n_rep = 2000
    brute = _brute_force_dpd(y, pred, g, 3, n_rep, rng, stratified)
    res = disparity_uncertainty(
        y, pred, g, 3, n_resamples=n_rep, stratified=stratified, random_state=5
    )
    # the same bias-corrected interval from the brute-force replicates
    lo, hi = bootstrap_interval(brute, res.dpd.statistic, 0.95)
    sd = brute.std()
    # quantiles of two independent 2,000-replicate bootstraps: SE about 0.05 sd each
    assert abs(res.dpd.ci_low - lo) < 0.25 * sd
    assert abs(res.dpd.ci_high - hi) < 0.25 * sd


def test_ci_coverage_of_known_dpd_and_eod():
    """95 % CIs cover the true DPD and EOD in 93-97 % of 500 simulated data sets with known
    rates (fixed group and class sizes, as the stratified bootstrap assumes)."""
    tpr = np.array([0.70, 0.75, 0.80, 0.90])
    fpr = np.array([0.10, 0.12, 0.15, 0.25])
    n_pos, n_neg = 250, 250
    sr = (n_pos * tpr + n_neg * fpr) / (n_pos + n_neg)
    true_dpd = sr.max() - sr.min()
    true_eod = max(np.ptp(tpr), np.ptp(fpr))
    rng = np.random.default_rng(42)
    hit_d, hit_e = [], []
    for i in range(500):
        y, pred, g = binary_data(rng, tpr, fpr, n_pos, n_neg)
        res = disparity_uncertainty(y, pred, g, 4, n_resamples=400, random_state=i)
        hit_d.append(res.dpd.ci_low <= true_dpd <= res.dpd.ci_high)
        hit_e.append(res.eod.ci_low <= true_eod <= res.eod.ci_high)
    assert 0.93 <= np.mean(hit_d) <= 0.97, np.mean(hit_d)
    assert 0.93 <= np.mean(hit_e) <= 0.97, np.mean(hit_e)


def test_bias_corrected_interval_with_many_small_groups():
    """Ten groups of 40: the plain percentile interval of EOD sits above the truth (0 % coverage
    here); the bias-corrected one covers it far more often."""
    tpr, fpr = np.linspace(0.6, 0.8, 10), np.linspace(0.1, 0.2, 10)
    true_eod = max(np.ptp(tpr), np.ptp(fpr))
    rng = np.random.default_rng(3)
    hits = 0
    for i in range(100):
        y, pred, g = binary_data(rng, tpr, fpr, 20, 20)
        res = disparity_uncertainty(y, pred, g, 10, n_resamples=200, random_state=i)
        hits += res.eod.ci_low <= true_eod <= res.eod.ci_high
        assert res.eod.ci_low <= res.eod.statistic + 1e-12 or res.eod.statistic > true_eod
    assert hits >= 30, hits


def test_noise_floor_calibration_and_power():
    """Every group at the same rates: P(noise p <= 0.05) near 0.05 and the floor is the mean
    null spread; a real disparity is found."""
    rng = np.random.default_rng(8)
    tpr, fpr = np.full(5, 0.8), np.full(5, 0.2)
    p_d, p_e, floor, observed = [], [], [], []
    for i in range(300):
        y, pred, g = sampled_data(rng, tpr, fpr, 0.5, 60)  # small groups: a large noise floor
        res = disparity_uncertainty(y, pred, g, 5, n_resamples=200, random_state=i)
        p_d.append(res.dpd.noise_pvalue)
        p_e.append(res.eod.noise_pvalue)
        floor.append(res.eod.noise_floor)
        observed.append(res.eod.statistic)
    assert 0.02 <= np.mean(np.asarray(p_d) <= ALPHA) <= 0.08
    assert 0.02 <= np.mean(np.asarray(p_e) <= ALPHA) <= 0.08
    # with 30 positives per group, an EOD of ~0.2 is pure noise: the floor says so
    assert np.mean(floor) == pytest.approx(np.mean(observed), rel=0.1)
    assert np.mean(floor) > 0.15
    hits = 0
    for i in range(100):
        y, pred, g = sampled_data(rng, [0.6, 0.8, 0.8, 0.8, 0.8], fpr, 0.5, 240)
        hits += (
            disparity_uncertainty(y, pred, g, 5, n_resamples=200, random_state=i).eod.noise_pvalue
            <= ALPHA
        )
    assert hits >= 80


def designed_data(rng, tpr, fpr, n_pos, n_neg):
    """A designed binary test set: group ``g`` holds exactly ``n_pos[g]`` positives and
    ``n_neg[g]`` negatives; predictions ~ Bern(TPR_g) / Bern(FPR_g)."""
    parts = []
    for i, (a, b, t, f) in enumerate(zip(n_pos, n_neg, tpr, fpr, strict=True)):
        y = np.r_[np.ones(a, int), np.zeros(b, int)]
        pred = (rng.random(a + b) < np.where(y == 1, t, f)).astype(int)
        parts.append((y, pred, np.full(a + b, i)))
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


@pytest.mark.parametrize(
    "n_pos, n_neg",
    [
        ([50] * 5, [50] * 5),  # balanced by design (Trifeature-like)
        ([20, 35, 50, 65, 80], [80, 65, 50, 35, 20]),  # label mix differs by design
    ],
)
def test_label_conditional_dpd_null_calibration(n_pos, n_neg):
    """Equal TPR/FPR in every group of a designed test set: the label-conditional DPD p-value
    rejects at about its level. The pooled null, made for random samples, does not: it is
    conservative when the design is balanced (its floor counts label-mix noise the design has
    not) and rejects nearly always when the design gives the groups different label mixes
    (DPD from the groups' base rates, not from the model)."""
    rng = np.random.default_rng(31)
    tpr, fpr = np.full(5, 0.8), np.full(5, 0.2)
    p_lab, p_pool, floor_lab, floor_pool, observed = [], [], [], [], []
    for i in range(300):
        y, pred, g = designed_data(rng, tpr, fpr, n_pos, n_neg)
        lab = disparity_uncertainty(
            y, pred, g, 5, n_resamples=200, dpd_null="labels", random_state=i, interval=False
        )
        pool = disparity_uncertainty(y, pred, g, 5, n_resamples=200, random_state=i, interval=False)
        p_lab.append(lab.dpd.noise_pvalue)
        p_pool.append(pool.dpd.noise_pvalue)
        floor_lab.append(lab.dpd.noise_floor)
        floor_pool.append(pool.dpd.noise_floor)
        observed.append(lab.dpd.statistic)
        # the EOD null is label-conditional either way: same draws, same floor
        assert lab.eod.noise_floor == pool.eod.noise_floor
        assert lab.dpd_null == "labels" and pool.dpd_null == "pooled"
    rate_lab = np.mean(np.asarray(p_lab) <= ALPHA)
    rate_pool = np.mean(np.asarray(p_pool) <= ALPHA)
    assert 0.02 <= rate_lab <= 0.08, rate_lab
    if n_pos[0] == n_pos[-1]:
        assert np.mean(floor_lab) == pytest.approx(np.mean(observed), rel=0.1)
        assert np.mean(floor_pool) > 1.2 * np.mean(floor_lab)
        assert rate_pool < 0.02
    else:
        assert rate_pool > 0.9


def test_label_conditional_dpd_null_power_and_perfect_teacher():
    """A 20-point TPR gap in one group of a balanced design is found (power >= 80 %, more often
    than by the pooled null, which is conservative there); a perfect classifier on a balanced
    design has DPD 0 and label-conditional floor 0 (p = 1), where the pooled floor is positive."""
    rng = np.random.default_rng(32)
    hits = {"labels": 0, "pooled": 0}
    for i in range(100):
        y, pred, g = designed_data(rng, [0.6, 0.8, 0.8, 0.8, 0.8], [0.2] * 5, [200] * 5, [200] * 5)
        for null in hits:
            res = disparity_uncertainty(
                y, pred, g, 5, n_resamples=200, dpd_null=null, random_state=i, interval=False
            )
            hits[null] += res.dpd.noise_pvalue <= ALPHA
    assert hits["labels"] >= 80, hits
    assert hits["labels"] > hits["pooled"], hits
    # one-vs-rest, 10 classes x 10 groups, every cell 30 samples, predictions perfect
    y = np.tile(np.repeat(np.arange(10), 30), 10)
    g = np.repeat(np.arange(10), 300)
    lab = disparity_uncertainty(
        y,
        y,
        g,
        10,
        mode="one-vs-rest",
        num_classes=10,
        n_resamples=200,
        dpd_null="labels",
        interval=False,
    )
    pool = disparity_uncertainty(
        y, y, g, 10, mode="one-vs-rest", num_classes=10, n_resamples=200, interval=False
    )
    assert lab.dpd.statistic == 0.0 and lab.dpd.noise_floor == 0.0
    assert lab.dpd.noise_pvalue == 1.0
    assert pool.dpd.noise_floor > 0.03


def _paired(rng, n_groups, n_per, flip_b):
    """A and B from one predictor (errors at rate 0.2), B flips extra predictions in group 0."""
    g = np.repeat(np.arange(n_groups), n_per)
    y = rng.integers(0, 2, g.shape[0])
    q = rng.beta(0.4, 1.6, g.shape[0])  # per-sample error probability, mean 0.2
    a = np.where(rng.random(g.shape[0]) < q, 1 - y, y)
    b = np.where(rng.random(g.shape[0]) < q, 1 - y, y)
    extra = (g == 0) & (rng.random(g.shape[0]) < flip_b) & (b == y)
    b = np.where(extra, 1 - y, b)
    return y, a, b, g


def test_paired_difference_calibration_and_power():
    rng = np.random.default_rng(21)
    p_d, p_e, cover = [], [], []
    for i in range(300):
        y, a, b, g = _paired(rng, 3, 200, 0.0)
        res = paired_disparity_test(y, a, b, g, 3, n_resamples=200, random_state=i)
        p_d.append(res.dpd_diff.pvalue)
        p_e.append(res.eod_diff.pvalue)
        cover.append(res.eod_diff.ci_low <= 0 <= res.eod_diff.ci_high)
    assert 0.03 <= np.mean(np.asarray(p_d) <= ALPHA) <= 0.07
    assert 0.03 <= np.mean(np.asarray(p_e) <= ALPHA) <= 0.07
    # groups tied on both sides: the bootstrap of a max-minus-min is not consistent at a tie,
    # so only a loose band is claimed for the interval; the permutation p-value is the test
    assert 0.85 <= np.mean(cover) <= 1.0, np.mean(cover)
    found = 0
    for i in range(60):
        y, a, b, g = _paired(rng, 3, 200, 0.3)
        found += (
            paired_disparity_test(y, a, b, g, 3, n_resamples=200, random_state=i).eod_diff.pvalue
            <= ALPHA
        )
    assert found >= 48


def test_paired_difference_values_and_pooling():
    rng = np.random.default_rng(4)
    y, a, b, g = _paired(rng, 3, 150, 0.2)
    res = paired_disparity_test(y, a, b, g, 3, n_resamples=100)
    da, db = dpd(group_counts(y, a, g, 3)), dpd(group_counts(y, b, g, 3))
    assert res.dpd_diff.delta == pytest.approx(db - da, abs=1e-12)
    assert res.dpd_a == pytest.approx(da) and res.n_pairs == 1
    two = paired_disparity_test(
        y, np.stack([a, b]), np.stack([b, a]), g, 3, n_resamples=100
    )  # the same two models on both sides: no difference
    assert two.dpd_diff.delta == 0 and two.eod_diff.pvalue == 1.0


def test_bad_input():
    y = np.array([0, 1, 0, 1])
    g = np.array([0, 0, 1, 1])
    with pytest.raises(KDAuditError, match="n_resamples must be at least 100; got 50"):
        disparity_uncertainty(y, y, g, 2, n_resamples=50)
    with pytest.raises(KDAuditError, match="confidence_level must be in \\(0, 1\\); got 1.5"):
        disparity_uncertainty(y, y, g, 2, confidence_level=1.5)
    with pytest.raises(KDAuditError, match="dpd_null must be 'pooled' or 'labels'; got 'x'"):
        disparity_uncertainty(y, y, g, 2, dpd_null="x")
    with pytest.raises(KDAuditError, match="group_codes: codes must lie in \\[0, 2\\)"):
        disparity_uncertainty(y, y, g + 1, 2)
    with pytest.raises(KDAuditError, match="1 seed\\(s\\) but preds_b has 2"):
        paired_disparity_test(y, y, np.stack([y, y]), g, 2)
