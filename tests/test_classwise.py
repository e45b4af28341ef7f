"""Class-wise audit: relative accuracy, Welch tests (scipy oracle), BH, permutation calibration."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from kdbias_audit import (
    benjamini_hochberg,
    classwise_test,
    permutation_count_test,
    seed_accuracies,
    welch_classwise,
)
from kdbias_audit.errors import DegenerateDataWarning, KDAuditError
from kdbias_audit.io import RunSet

TOL = 1e-10


# ---------------------------------------------------------------------------------------------
# synthetic runs: per-class accuracy profile, seed noise, optional planted shift in B


def make_preds(rng, y, class_acc, n_seeds, *, seed_sd=0.03):
    """Per seed: class c is predicted correctly with probability class_acc[c] + seed noise."""
    c = class_acc.shape[0]
    preds = np.empty((n_seeds, y.shape[0]), dtype=np.int64)
    for s in range(n_seeds):
        acc = np.clip(class_acc + rng.normal(0, seed_sd, c), 0.02, 0.98)
        correct = rng.random(y.shape[0]) < acc[y]
        wrong = (y + rng.integers(1, c, y.shape[0])) % c  # any other class
        preds[s] = np.where(correct, y, wrong)
    return preds


def planted_pair(rng, *, n_classes=30, per_class=200, n_seeds=5, shifted=(), shift=-0.2):
    y = np.repeat(np.arange(n_classes), per_class)
    base = rng.uniform(0.6, 0.9, n_classes)
    shifted_acc = base.copy()
    shifted_acc[list(shifted)] += shift
    a = RunSet.from_arrays(y, make_preds(rng, y, base, n_seeds), num_classes=n_classes, name="A")
    b = RunSet.from_arrays(
        y, make_preds(rng, y, shifted_acc, n_seeds), num_classes=n_classes, name="B"
    )
    return a, b


def scipy_welch(xb, xa):
    """scipy on one class; the precision warning scipy raises on a constant side is not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ttest_ind(xb, xa, equal_var=False)


# ---------------------------------------------------------------------------------------------
# seed_accuracies


def test_seed_accuracies_by_hand():
    acc = seed_accuracies([0, 0, 1, 1], [[0, 1, 1, 1], [0, 0, 0, 1]], 2)
    np.testing.assert_array_equal(acc.accuracy, [0.75, 0.75])
    np.testing.assert_array_equal(acc.class_accuracy, [[0.5, 1.0], [1.0, 0.5]])
    np.testing.assert_allclose(acc.relative_accuracy, [[2 / 3, 4 / 3], [4 / 3, 2 / 3]], rtol=1e-15)
    np.testing.assert_array_equal(acc.class_counts, [2, 2])


def test_seed_accuracies_match_loop():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 500)
    preds = rng.integers(0, 7, (4, 500))
    acc = seed_accuracies(y, preds, 7)
    for s in range(4):
        overall = np.mean(preds[s] == y)
        assert acc.accuracy[s] == pytest.approx(overall, abs=1e-15)
        for c in range(7):
            a_cs = np.mean(preds[s][y == c] == c)
            assert acc.class_accuracy[s, c] == pytest.approx(a_cs, abs=1e-15)
            assert acc.relative_accuracy[s, c] == pytest.approx(a_cs / overall, rel=1e-14)
    assert acc.to_frame().shape == (4 * 7, 6)


def test_seed_accuracies_empty_class_is_nan_with_warning():
    with pytest.warns(DegenerateDataWarning, match="no test samples"):
        acc = seed_accuracies([0, 0, 2], [[0, 1, 2], [0, 0, 2]], 3)
    assert np.isnan(acc.class_accuracy[:, 1]).all()
    assert np.isnan(acc.relative_accuracy[:, 1]).all()
    assert np.isfinite(acc.relative_accuracy[:, [0, 2]]).all()


def test_seed_accuracies_zero_accuracy_seed_warns():
    with pytest.warns(DegenerateDataWarning, match="accuracy 0"):
        acc = seed_accuracies([0, 1], [[1, 0], [0, 1]], 2)
    assert np.isnan(acc.relative_accuracy[0]).all()
    np.testing.assert_array_equal(acc.relative_accuracy[1], [1.0, 1.0])


def test_seed_accuracies_rejects_bad_shapes_and_labels():
    with pytest.raises(KDAuditError, match="shape"):
        seed_accuracies([0, 1, 1], [[0, 1]], 2)
    with pytest.raises(KDAuditError, match="outside"):
        seed_accuracies([0, 5], [[0, 1]], 2)


# ---------------------------------------------------------------------------------------------
# welch_classwise against scipy


def test_welch_matches_scipy_per_class():
    rng = np.random.default_rng(2)
    rel_a = rng.normal(1.0, 0.05, (5, 40))
    rel_b = rng.normal(1.0, 0.08, (4, 40)) + rng.normal(0, 0.05, 40)
    res = welch_classwise(rel_a, rel_b, confidence_level=0.9)
    for c in range(40):
        ref = scipy_welch(rel_b[:, c], rel_a[:, c])
        ci = ref.confidence_interval(confidence_level=0.9)
        assert res.statistic[c] == pytest.approx(ref.statistic, rel=TOL, abs=TOL)
        assert res.df[c] == pytest.approx(ref.df, rel=TOL)
        assert res.pvalue[c] == pytest.approx(ref.pvalue, rel=TOL, abs=TOL)
        assert res.ci_low[c] == pytest.approx(ci.low, rel=TOL, abs=TOL)
        assert res.ci_high[c] == pytest.approx(ci.high, rel=TOL, abs=TOL)
        # scipy's own orientation is mean(first) - mean(second)
        assert -res.statistic[c] == pytest.approx(
            scipy_welch(rel_a[:, c], rel_b[:, c]).statistic, rel=TOL
        )
    np.testing.assert_allclose(res.delta, rel_b.mean(0) - rel_a.mean(0), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(res.significant, res.pvalue <= 0.05)
    assert not res.untestable.any()


def test_welch_one_constant_side_is_testable():
    rel_a = np.array([[1.0, 0.9], [1.0, 0.95], [1.0, 1.0]])  # class 0 constant in A
    rel_b = np.array([[1.2, 0.9], [1.3, 0.95], [1.25, 1.0]])
    res = welch_classwise(rel_a, rel_b)
    assert not res.untestable.any()
    ref = scipy_welch(rel_b[:, 0], rel_a[:, 0])
    assert res.df[0] == pytest.approx(2.0, rel=TOL)  # Welch df reduces to n_B - 1
    assert res.statistic[0] == pytest.approx(ref.statistic, rel=TOL)
    assert res.pvalue[0] == pytest.approx(ref.pvalue, rel=TOL)


def test_welch_untestable_classes():
    const = np.full(3, 0.1)  # np.var of these is ~1e-34, not 0: must still count as constant
    rel_a = np.column_stack([const, const, [0.9, 1.0, 1.1]])
    rel_b = np.column_stack([const, np.full(3, 0.3), [1.0, 1.1, 1.3]])
    res = welch_classwise(rel_a, rel_b)
    np.testing.assert_array_equal(res.untestable, [True, True, False])
    assert np.isnan(res.pvalue[:2]).all() and np.isnan(res.qvalue[:2]).all()
    assert np.isnan(res.statistic[:2]).all() and np.isnan(res.ci_low[:2]).all()
    assert not res.significant[:2].any() and not res.significant_fdr[:2].any()
    np.testing.assert_allclose(res.delta, [0.0, 0.2, 0.1333333333333333], atol=1e-12)
    # q over the testable classes only
    assert res.qvalue[2] == pytest.approx(res.pvalue[2])


def test_welch_errors():
    with pytest.raises(KDAuditError, match="at least 2 per side"):
        welch_classwise(np.ones((1, 3)), np.ones((3, 3)))
    with pytest.raises(KDAuditError, match="classes"):
        welch_classwise(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(KDAuditError, match="alpha"):
        welch_classwise(np.ones((2, 3)), np.ones((2, 3)), alpha=1.5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    n_a=st.integers(2, 6),
    n_b=st.integers(2, 6),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_welch_ci_contains_delta_and_matches_scipy(data, n_a, n_b, level):
    vals = st.floats(0.0, 3.0, allow_nan=False, width=32)
    rel_a = np.array(data.draw(st.lists(vals, min_size=n_a, max_size=n_a)))[:, None]
    rel_b = np.array(data.draw(st.lists(vals, min_size=n_b, max_size=n_b)))[:, None]
    res = welch_classwise(rel_a, rel_b, confidence_level=level)
    if res.untestable[0]:
        assert np.ptp(rel_a) == 0 and np.ptp(rel_b) == 0
        return
    assert res.ci_low[0] <= res.delta[0] <= res.ci_high[0]
    ref = scipy_welch(rel_b[:, 0], rel_a[:, 0])
    if np.ptp(rel_a) > 0 and np.ptp(rel_b) > 0:
        assert res.pvalue[0] == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Benjamini-Hochberg


def test_bh_matches_scipy_with_nans():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 200) ** 3
    p[[5, 17, 100]] = np.nan
    p[[1, 2]] = p[3]  # ties
    q = benjamini_hochberg(p)
    finite = np.isfinite(p)
    np.testing.assert_allclose(q[finite], stats.false_discovery_control(p[finite]), rtol=1e-12)
    assert np.isnan(q[~finite]).all()
    assert np.isnan(benjamini_hochberg([np.nan, np.nan])).all()


def test_qvalues_in_result_match_scipy():
    rng = np.random.default_rng(4)
    rel_a = rng.normal(1.0, 0.05, (5, 60))
    rel_b = rng.normal(1.0, 0.05, (5, 60)) + np.r_[np.full(10, 0.1), np.zeros(50)]
    rel_a[:, 59] = rel_b[:, 59] = 1.0  # one untestable class
    res = welch_classwise(rel_a, rel_b)
    ok = ~res.untestable
    np.testing.assert_allclose(
        res.qvalue[ok], stats.false_discovery_control(res.pvalue[ok], method="bh"), rtol=1e-12
    )
    np.testing.assert_array_equal(res.significant_fdr, ok & (res.qvalue <= 0.05))


# ---------------------------------------------------------------------------------------------
# permutation calibration


def brute_force_counts(rel_a, rel_b, alpha):
    pool = np.vstack([rel_a, rel_b])
    n_a = rel_a.shape[0]
    counts = []
    for combo in itertools.combinations(range(pool.shape[0]), n_a):
        rest = [i for i in range(pool.shape[0]) if i not in combo]
        count = 0
        for c in range(pool.shape[1]):
            xa, xb = pool[list(combo), c], pool[rest, c]
            if np.ptp(xa) == 0 and np.ptp(xb) == 0:
                continue
            count += scipy_welch(xb, xa).pvalue <= alpha
        counts.append(count)
    return np.array(counts)


def test_permutation_pvalue_brute_force():
    rng = np.random.default_rng(5)
    rel_a = rng.normal(1.0, 0.05, (3, 6))
    rel_b = rng.normal(1.0, 0.05, (4, 6)) + np.array([0.15, 0.1, 0, 0, 0, 0])
    rel_a[:, 5] = rel_b[:, 5] = 0.5  # untestable in every split
    counts = brute_force_counts(rel_a, rel_b, 0.1)
    observed = counts[0]  # the first combination is the observed split
    res = permutation_count_test(rel_a, rel_b, alpha=0.1)
    assert res.exact and res.n_permutations == 35
    assert res.observed == observed
    np.testing.assert_array_equal(np.sort(res.null_counts), np.sort(counts))
    assert res.pvalue == pytest.approx(np.mean(counts >= observed), abs=1e-15)
    assert res.expected == pytest.approx(counts.mean(), abs=1e-12)


def test_permutation_equal_sides_mirror_brute_force():
    """Equal sides: half the splits are evaluated and mirrored; the counts, in enumeration
    order, must equal evaluating every split."""
    rng = np.random.default_rng(9)
    rel_a = rng.normal(1.0, 0.05, (4, 7))
    rel_b = rng.normal(1.0, 0.05, (4, 7)) + np.array([0.2, 0.1, 0.05, 0, 0, 0, 0])
    rel_a[:, 6] = rel_b[:, 6] = 0.5  # untestable in every split
    counts = brute_force_counts(rel_a, rel_b, 0.1)
    res = permutation_count_test(rel_a, rel_b, alpha=0.1)
    assert res.exact and res.n_permutations == 70
    np.testing.assert_array_equal(res.null_counts, counts)
    assert res.pvalue == pytest.approx(np.mean(counts >= counts[0]), abs=1e-15)


def test_permutation_random_splits():
    rng = np.random.default_rng(6)
    rel_a = rng.normal(1.0, 0.05, (4, 8))
    rel_b = rng.normal(1.0, 0.05, (4, 8))
    exact = permutation_count_test(rel_a, rel_b)
    assert exact.exact and exact.n_permutations == 70
    r1 = permutation_count_test(rel_a, rel_b, permutations=50, random_state=7)
    r2 = permutation_count_test(rel_a, rel_b, permutations=50, random_state=7)
    assert not r1.exact and r1.n_permutations == 50
    np.testing.assert_array_equal(r1.null_counts, r2.null_counts)
    # each random split is one of the exact splits, so its count is one of theirs
    assert set(r1.null_counts.tolist()) <= set(exact.null_counts.tolist())
    assert r1.pvalue == pytest.approx((1 + np.sum(r1.null_counts >= r1.observed)) / 51)
    skipped = permutation_count_test(rel_a, rel_b, permutations=0)
    assert skipped.n_permutations == 0 and np.isnan(skipped.pvalue)
    with pytest.raises(KDAuditError, match="permutations"):
        permutation_count_test(rel_a, rel_b, permutations=-1)


def test_permutation_batches_agree():
    """Large (P, S, C) work is split in batches: results must not depend on it."""
    import kdbias_audit.stats.permutation as cw

    rng = np.random.default_rng(8)
    rel_a, rel_b = rng.normal(1, 0.05, (5, 50)), rng.normal(1, 0.05, (5, 50))
    full = permutation_count_test(rel_a, rel_b)
    old = cw._BATCH_ELEMENTS
    try:
        cw._BATCH_ELEMENTS = 10 * 50 * 7  # 7 splits per batch, uneven last batch
        small = permutation_count_test(rel_a, rel_b)
    finally:
        cw._BATCH_ELEMENTS = old
    np.testing.assert_array_equal(full.null_counts, small.null_counts)


# ---------------------------------------------------------------------------------------------
# classwise_test on run sets


def test_classwise_test_matches_parts():
    rng = np.random.default_rng(9)
    a, b = planted_pair(rng, n_classes=12, per_class=50, n_seeds=4)
    res = classwise_test(a, b)
    acc_a = seed_accuracies(a.label, a.preds, 12)
    acc_b = seed_accuracies(b.label, b.preds, 12)
    for c in range(12):
        ref = scipy_welch(acc_b.relative_accuracy[:, c], acc_a.relative_accuracy[:, c])
        assert res.pvalue[c] == pytest.approx(ref.pvalue, rel=TOL, abs=TOL)
    np.testing.assert_allclose(res.rel_a, acc_a.relative_accuracy.mean(0), rtol=1e-14)
    np.testing.assert_allclose(res.acc_b, acc_b.class_accuracy.mean(0), rtol=1e-14)
    np.testing.assert_allclose(res.delta, res.rel_b - res.rel_a, atol=1e-14)
    assert res.n_significant == int(res.significant.sum())
    assert res.n_permutations == 70
    frame = res.to_frame()
    assert list(frame["class"]) == list(range(12)) and frame.shape[0] == 12
    d = res.to_dict()
    assert d["n_classes"] == 12 and len(d["classes"]) == 12
    assert set(d["classes"][0]) == {
        "class",
        "name",
        "acc_a",
        "acc_b",
        "rel_a",
        "rel_b",
        "delta",
        "ci_low",
        "ci_high",
        "statistic",
        "df",
        "pvalue",
        "qvalue",
        "significant",
    }
    assert "Class-wise Welch tests" in res._repr_html_()


def test_planted_effect_is_detected():
    rng = np.random.default_rng(10)
    planted = [2, 7, 11, 20]
    a, b = planted_pair(rng, n_classes=30, per_class=300, shifted=planted, shift=-0.25)
    res = classwise_test(a, b)
    assert set(planted) <= set(np.flatnonzero(res.significant_fdr))
    assert (res.delta[planted] < 0).all() and (res.ci_high[planted] < 0).all()
    assert res.count_pvalue < 0.05
    assert res.n_significant > res.expected_false_positives


def test_null_data_gives_few_fdr_discoveries():
    rng = np.random.default_rng(11)
    a, b = planted_pair(rng, n_classes=60, per_class=100, shifted=())
    res = classwise_test(a, b)
    assert res.n_significant_fdr <= 2
    assert res.count_pvalue > 0.01


def test_untestable_class_in_runsets():
    # class 2 is never predicted correctly by any run: relative accuracy 0 on both sides
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1])
    pa = np.array([[0, 0, 1, 0, 0, 1, 0, 1], [0, 1, 1, 1, 1, 0, 0, 1], [0, 0, 1, 1, 0, 0, 1, 1]])
    pb = np.array([[0, 1, 1, 1, 0, 0, 0, 0], [1, 0, 1, 1, 1, 1, 0, 1], [0, 0, 0, 1, 0, 0, 0, 1]])
    res = classwise_test(RunSet.from_arrays(y, pa), RunSet.from_arrays(y, pb))
    assert res.n_untestable == 1 and res.untestable[2]
    assert np.isnan(res.pvalue[2]) and not res.significant[2]
    assert res.to_dict()["classes"][2]["pvalue"] is None


def test_classwise_errors_name_the_run_set():
    y = np.array([0, 1, 0, 1])
    one = RunSet.from_arrays(y, [[0, 1, 1, 1]], path="runs/teacher")
    two = RunSet.from_arrays(y, [[0, 1, 1, 1], [0, 0, 0, 1]], path="runs/ds")
    with pytest.raises(
        KDAuditError, match=r"runs/teacher: has 1 seed; a Welch test needs at least 2 per side"
    ):
        classwise_test(one, two)
    three = RunSet.from_arrays(y, [[0, 1, 1, 1], [0, 0, 2, 1]], num_classes=3, path="runs/other")
    with pytest.raises(KDAuditError, match=r"runs/other: has 3 classes but runs/ds has 2"):
        classwise_test(two, three)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_classes=st.integers(2, 8))
def test_relabelling_classes_permutes_results(seed, n_classes):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, 120)
    y[:n_classes] = np.arange(n_classes)  # every class present
    pa, pb = rng.integers(0, n_classes, (3, 120)), rng.integers(0, n_classes, (3, 120))
    pa[:, :60] = y[:60]
    pb[:, :50] = y[:50]
    perm = rng.permutation(n_classes)  # class c becomes perm[c]
    base = classwise_test(
        RunSet.from_arrays(y, pa, num_classes=n_classes),
        RunSet.from_arrays(y, pb, num_classes=n_classes),
    )
    moved = classwise_test(
        RunSet.from_arrays(perm[y], perm[pa], num_classes=n_classes),
        RunSet.from_arrays(perm[y], perm[pb], num_classes=n_classes),
    )
    for field in (
        "delta",
        "statistic",
        "df",
        "pvalue",
        "qvalue",
        "ci_low",
        "ci_high",
        "rel_a",
        "acc_b",
    ):
        np.testing.assert_allclose(
            getattr(moved, field)[perm], getattr(base, field), rtol=1e-12, atol=1e-14
        )
    np.testing.assert_array_equal(moved.significant[perm], base.significant)
    assert moved.n_significant == base.n_significant and moved.n_untestable == base.n_untestable
    assert moved.count_pvalue == base.count_pvalue


def test_classwise_result_holds_its_welch_and_permutation_results():
    """The result composes the two tests; the former flat attribute names still read them."""
    rng = np.random.default_rng(4)
    a, b = planted_pair(rng, n_classes=8, per_class=40, n_seeds=3, shifted=(2,))
    res = classwise_test(a, b, permutations=12, random_state=3)
    acc_a = seed_accuracies(a.label, a.preds, 8)
    acc_b = seed_accuracies(b.label, b.preds, 8)
    welch = welch_classwise(acc_a.relative_accuracy, acc_b.relative_accuracy)
    perm = permutation_count_test(
        acc_a.relative_accuracy, acc_b.relative_accuracy, permutations=12, random_state=3
    )
    for name in ("delta", "ci_low", "ci_high", "statistic", "df", "pvalue", "qvalue"):
        np.testing.assert_array_equal(getattr(res, name), getattr(welch, name))
        assert getattr(res, name) is getattr(res.welch, name)
    for name in ("significant", "significant_fdr", "untestable"):
        np.testing.assert_array_equal(getattr(res, name), getattr(welch, name))
    assert (res.alpha, res.confidence_level) == (welch.alpha, welch.confidence_level)
    assert res.n_untestable == int(welch.untestable.sum())
    assert res.n_significant_fdr == int(welch.significant_fdr.sum())
    assert (res.count_pvalue, res.expected_false_positives) == (perm.pvalue, perm.expected)
    assert (res.n_permutations, res.permutations_exact) == (perm.n_permutations, perm.exact)
    assert res.permutation.observed == res.n_significant
    np.testing.assert_array_equal(res.permutation.null_counts, perm.null_counts)


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_confidence_interval_at_any_level_matches_scipy(level):
    """The result keeps the standard error, so an interval at any level is computed later
    (as scipy's TtestResult.confidence_interval); untestable classes give NaN."""
    rng = np.random.default_rng(11)
    xa, xb = rng.normal(1.0, 0.1, (4, 5)), rng.normal(1.05, 0.2, (6, 5))
    xa[:, 4] = xb[:, 4] = 1.0  # both sides constant: untestable
    r = welch_classwise(xa, xb)
    low, high = r.confidence_interval(level)
    for c in range(4):
        ref = stats.ttest_ind(xb[:, c], xa[:, c], equal_var=False).confidence_interval(level)
        assert low[c] == pytest.approx(ref.low, rel=1e-10)
        assert high[c] == pytest.approx(ref.high, rel=1e-10)
    assert np.isnan(low[4]) and np.isnan(high[4])
    default = r.confidence_interval()
    np.testing.assert_allclose(default[0], r.ci_low, rtol=1e-12)
