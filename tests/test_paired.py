"""Sample-level paired class-wise comparison: oracles, degenerate data, calibration and power.

The simulations draw each class's paired cells (A right/wrong x B right/wrong) from a model in
which every sample has a latent probability ``q ~ Beta(k p, k (1 - p))`` of being classified
correctly and A and B are two independent draws given ``q`` (the null: A and B exchangeable);
a small ``k`` makes A and B agree on most samples (here about 5 % disagreement, as a teacher
and its student do). A planted shift multiplies B's ``q`` in a class by ``f``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from kdbias_audit.errors import KDAuditError
from kdbias_audit.stats.classwise import seed_accuracies
from kdbias_audit.stats.paired import (
    mcnemar_test,
    paired_cells,
    paired_classwise_test,
)
from kdbias_audit.stats.resample import (
    bootstrap_counts,
    multinomial_counts,
    scatter_sum,
    swap_counts,
    tabulate,
)

ALPHA = 0.05


def cell_probs(p: np.ndarray, k: float, f: np.ndarray) -> np.ndarray:
    """P(A, B) over cells 00, 01, 10, 11 (A right = 1) per class."""
    eq2 = p * (k * p + 1) / (k + 1)  # E[q^2] of Beta(k p, k (1 - p))
    p11 = f * eq2
    p10 = p - f * eq2
    p01 = f * (p - eq2)
    return np.stack([1 - p11 - p10 - p01, p01, p10, p11], axis=-1)


def dataset(rng, n_per: int, p: np.ndarray, k: float, f: np.ndarray):
    """Labels and predictions of A and B built from multinomial cell counts (no per-sample loop)."""
    c = p.shape[0]
    cnt = rng.multinomial(n_per, cell_probs(p, k, f))
    cls = np.repeat(np.repeat(np.arange(c), 4), cnt.ravel())
    cell = np.repeat(np.tile(np.arange(4), c), cnt.ravel())
    wrong = (cls + 1) % c
    return cls, np.where(cell // 2 == 1, cls, wrong), np.where(cell % 2 == 1, cls, wrong)


# ---------------------------------------------------------------------------------------------
# oracles and exact values


def test_mcnemar_equals_scipy_binomtest():
    b, c = np.meshgrid(np.arange(0, 25), np.arange(0, 25))
    b, c = b.ravel(), c.ravel()
    got = mcnemar_test(b, c)
    for bi, ci, g in zip(b, c, got, strict=True):
        if bi + ci == 0:
            assert np.isnan(g)
        else:
            assert g == pytest.approx(stats.binomtest(int(bi), int(bi + ci), 0.5).pvalue, rel=1e-9)


def test_mcnemar_column_uses_discordant_pairs_of_each_class():
    rng = np.random.default_rng(3)
    y, a, b = dataset(rng, 300, np.full(5, 0.8), 0.3, np.array([1, 1, 0.8, 1, 1]))
    res = paired_classwise_test(y, a, b, 5, n_resamples=0)
    for c in range(5):
        m = y == c
        n01 = int(np.sum((a[m] != c) & (b[m] == c)))
        n10 = int(np.sum((a[m] == c) & (b[m] != c)))
        assert (res.n01[c], res.n10[c]) == (n01, n10)
        assert res.mcnemar_pvalue[c] == pytest.approx(stats.binomtest(n01, n01 + n10).pvalue)


def test_point_estimates_match_seed_accuracies():
    rng = np.random.default_rng(0)
    y, a, b = dataset(rng, 200, np.linspace(0.5, 0.9, 6), 0.5, np.ones(6))
    res = paired_classwise_test(y, a, b, 6, n_resamples=0)
    sa, sb = seed_accuracies(y, a, 6), seed_accuracies(y, b, 6)
    np.testing.assert_allclose(res.acc_a, sa.class_accuracy[0], rtol=1e-12)
    np.testing.assert_allclose(res.rel_b, sb.relative_accuracy[0], rtol=1e-12)
    np.testing.assert_allclose(
        res.delta, sb.relative_accuracy[0] - sa.relative_accuracy[0], rtol=1e-10
    )
    assert res.accuracy_a == pytest.approx(sa.accuracy[0])
    assert np.isnan(res.count_pvalue) and res.n_resamples == 0


def test_swapping_sides_negates_delta_and_keeps_pvalues():
    rng = np.random.default_rng(1)
    y, a, b = dataset(rng, 200, np.linspace(0.6, 0.9, 5), 0.3, np.array([1, 0.85, 1, 1, 1]))
    ab = paired_classwise_test(y, a, b, 5, n_resamples=0)
    ba = paired_classwise_test(y, b, a, 5, n_resamples=0)
    np.testing.assert_allclose(ab.delta, -ba.delta, atol=1e-12)
    np.testing.assert_allclose(ab.pvalue, ba.pvalue, rtol=1e-9)
    np.testing.assert_allclose(ab.mcnemar_pvalue, ba.mcnemar_pvalue, rtol=1e-12)


def test_duplicated_seed_pairs_pool_to_the_single_pair():
    rng = np.random.default_rng(2)
    y, a, b = dataset(rng, 200, np.linspace(0.6, 0.9, 5), 0.3, np.array([1, 0.85, 1, 1, 1]))
    one = paired_classwise_test(y, a, b, 5, n_resamples=300, random_state=4)
    two = paired_classwise_test(
        y, np.stack([a, a]), np.stack([b, b]), 5, n_resamples=300, random_state=4
    )
    np.testing.assert_allclose(two.delta, one.delta, atol=1e-12)
    np.testing.assert_allclose(two.pvalue, one.pvalue, rtol=1e-9)
    np.testing.assert_allclose(two.mcnemar_pvalue, one.mcnemar_pvalue, rtol=1e-12)
    assert two.count_pvalue == one.count_pvalue and two.n_pairs == 2


def test_delta_method_se_matches_the_paired_stratified_bootstrap():
    """The closed-form standard error is the SD of the class-stratified paired bootstrap."""
    rng = np.random.default_rng(5)
    y, a, b = dataset(rng, 400, np.linspace(0.55, 0.95, 8), 0.3, np.ones(8))
    res = paired_classwise_test(y, a, b, 8, n_resamples=0)
    se = np.abs(res.delta / res.statistic)
    boot = paired_classwise_test(
        y, a, b, 8, n_resamples=4000, ci_method="bootstrap", random_state=1
    )
    # the bootstrap 95 % interval is about delta -/+ 1.96 se (SE of a 2.5 % quantile ~ 4 %)
    width = boot.ci_high - boot.ci_low
    np.testing.assert_allclose(width, 2 * 1.959964 * se, rtol=0.12)


def test_untestable_classes_are_counted_never_significant():
    y = np.array([0] * 50 + [1] * 50 + [3] * 50)  # class 2 has no samples
    a = y.copy()
    b = y.copy()
    b[:20] = 1  # B misses 20 of class 0
    res = paired_classwise_test(y, a, b, 4, n_resamples=100)
    assert res.class_counts.tolist() == [50, 50, 0, 50]
    assert res.untestable[2] and np.isnan(res.pvalue[2]) and not res.significant[2]
    assert np.isnan(res.mcnemar_pvalue[[1, 2, 3]]).all()  # no discordant pair there
    assert res.significant[0]  # 20 discordant pairs, all one way
    assert res.n_untestable == int(res.untestable.sum()) >= 1
    d = res.to_dict()
    assert d["classes"][2]["pvalue"] is None and d["classes"][2]["significant"] is False


def test_identical_models_are_untestable_everywhere():
    y = np.repeat(np.arange(3), 30)
    a = np.where(np.arange(90) % 4 == 0, (y + 1) % 3, y)
    res = paired_classwise_test(y, a, a.copy(), 3, n_resamples=100)
    assert res.n_untestable == 3 and res.n_significant == 0
    assert np.all(res.delta == 0)


def test_bad_input_is_one_line_errors():
    y = np.array([0, 1, 1])
    with pytest.raises(KDAuditError, match="1 seed\\(s\\) but preds_b has 2"):
        paired_classwise_test(y, y, np.stack([y, y]), 2)
    with pytest.raises(KDAuditError, match="labels must be integers in \\[0, 2\\)"):
        paired_classwise_test(np.array([0, 2, 1]), y, y, 2)
    with pytest.raises(KDAuditError, match="alpha must be in"):
        paired_classwise_test(y, y, y, 2, alpha=1.5)
    with pytest.raises(KDAuditError, match="n_resamples must be at least 0"):
        paired_classwise_test(y, y, y, 2, n_resamples=-1)
    with pytest.raises(KDAuditError, match="expected shape"):
        paired_classwise_test(y, y[:2], y, 2)


# ---------------------------------------------------------------------------------------------
# resampling engine


def test_tabulate_and_scatter_reproduce_bincount():
    rng = np.random.default_rng(0)
    cols = [rng.integers(0, 3, 500), rng.integers(0, 2, 500), rng.integers(-2, 2, 500)]
    cells = tabulate(cols, strata=1)
    assert cells.n_samples == 500 and (cells.counts > 0).all()
    np.testing.assert_array_equal(cells.stratum_sizes, np.bincount(cols[0]))
    np.testing.assert_array_equal(
        scatter_sum(cells.counts, cells.keys[:, 0], 3), np.bincount(cols[0], minlength=3)
    )
    # each occupied row appears exactly once with its count
    rows, counts = np.unique(np.stack(cols, axis=1), axis=0, return_counts=True)
    np.testing.assert_array_equal(cells.keys, rows)
    np.testing.assert_array_equal(cells.counts, counts)


def test_bootstrap_keeps_strata_and_does_not_depend_on_batch_size():
    rng = np.random.default_rng(0)
    cells = tabulate([rng.integers(0, 4, 400), rng.integers(0, 5, 400)], strata=1)
    big = np.concatenate(list(bootstrap_counts(cells, 300, random_state=7)))
    small = np.concatenate(list(bootstrap_counts(cells, 300, random_state=7, budget=50)))
    np.testing.assert_array_equal(big, small)
    sizes = np.stack([scatter_sum(r, cells.stratum, cells.n_strata) for r in big])
    np.testing.assert_array_equal(sizes, np.broadcast_to(cells.stratum_sizes, sizes.shape))
    # mean of the multinomial redraw is the observed count
    np.testing.assert_array_less(
        np.abs(big.mean(axis=0) - cells.counts), 4 * np.sqrt(cells.counts / 300) + 1e-9
    )


def test_stratified_multinomial_matches_row_resampling():
    """Counts of a row-resampling bootstrap within strata have the multinomial's moments."""
    rng = np.random.default_rng(1)
    strat = rng.integers(0, 2, 120)
    value = rng.integers(0, 3, 120)
    cells = tabulate([strat, value], strata=1)
    n_rep = 3000
    engine = np.concatenate(list(bootstrap_counts(cells, n_rep, random_state=2)))
    brute = np.zeros_like(engine)
    code = strat * 3 + value
    cell_code = cells.keys[:, 0] * 3 + cells.keys[:, 1]
    for r in range(n_rep):
        idx = np.concatenate(
            [rng.choice(np.flatnonzero(strat == s), (strat == s).sum()) for s in (0, 1)]
        )
        brute[r] = np.bincount(code[idx], minlength=6)[cell_code]
    se = engine.std(axis=0) * np.sqrt(2 / n_rep)
    np.testing.assert_array_less(np.abs(engine.mean(0) - brute.mean(0)), 4 * se + 1e-9)
    np.testing.assert_allclose(engine.std(0), brute.std(0), rtol=0.08)


def test_multinomial_and_swap_draws():
    rng = np.random.default_rng(0)
    draws = multinomial_counts([10, 0, 7], [0, 0, 2, 0], [0.5, 0.25, 1.0, 0.25], 5, rng)
    assert draws.shape == (5, 4)
    np.testing.assert_array_equal(draws[:, [0, 1, 3]].sum(1), 10)
    np.testing.assert_array_equal(draws[:, 2], 7)
    m = swap_counts([0, 4, 9], 1000, rng)
    assert m[:, 0].max() == 0 and m[:, 2].max() <= 9
    assert m[:, 1].mean() == pytest.approx(2.0, abs=0.15)


# ---------------------------------------------------------------------------------------------
# calibration and power (simulations)

C_SIM, N_PER, K_SIM = 20, 500, 0.2
P_SIM = np.linspace(0.7, 0.95, C_SIM)


def test_null_calibration_fpr_coverage_and_uniform_count_pvalue():
    """A, B exchangeable: per-class FPR within alpha -/+ 0.02 over 5,000 null classes; the
    95 % CI of delta covers 0 in 93-97 %; the count p-value is uniform (KS p > 0.01)."""
    rng = np.random.default_rng(2024)
    n_sets = 250
    pvals, cover, count_p = [], [], []
    for i in range(n_sets):
        y, a, b = dataset(rng, N_PER, P_SIM, K_SIM, np.ones(C_SIM))
        res = paired_classwise_test(y, a, b, C_SIM, n_resamples=200, random_state=i)
        pvals.append(res.pvalue)
        cover.append((res.ci_low <= 0) & (0 <= res.ci_high))
        count_p.append(res.count_pvalue)
    pvals = np.concatenate(pvals)
    assert np.isfinite(pvals).all() and pvals.size == n_sets * C_SIM
    fpr = np.mean(pvals <= ALPHA)
    assert ALPHA - 0.02 <= fpr <= ALPHA + 0.02, fpr
    coverage = np.mean(np.concatenate(cover))
    assert 0.93 <= coverage <= 0.97, coverage
    ks = stats.kstest(count_p, "uniform")
    assert ks.pvalue > 0.01, (ks, np.mean(np.asarray(count_p) <= ALPHA))


def test_mcnemar_null_calibration():
    rng = np.random.default_rng(7)
    p = []
    for _ in range(120):
        y, a, b = dataset(rng, N_PER, P_SIM, K_SIM, np.ones(C_SIM))
        p.append(paired_classwise_test(y, a, b, C_SIM, n_resamples=0).mcnemar_pvalue)
    fpr = np.mean(np.concatenate(p) <= ALPHA)
    # an exact test of a discrete statistic is conservative: at most alpha (here about 0.03
    # with ~30 discordant pairs per class), up to Monte Carlo error
    assert 0.01 <= fpr <= ALPHA + 0.01, fpr


def test_power_for_five_point_shifts_in_three_of_twenty_classes():
    """5-point drops of class accuracy in 3 of 20 classes at 500 samples per class."""
    rng = np.random.default_rng(11)
    shifted = np.array([3, 9, 15])
    f = np.ones(C_SIM)
    f[shifted] = 1 - 0.05 / P_SIM[shifted]
    found, found_mc, others, count_p = [], [], [], []
    for i in range(150):
        y, a, b = dataset(rng, N_PER, P_SIM, K_SIM, f)
        res = paired_classwise_test(y, a, b, C_SIM, n_resamples=100 if i < 40 else 0)
        found.append(res.significant[shifted])
        found_mc.append(res.mcnemar_pvalue[shifted] <= ALPHA)
        others.append(res.mcnemar_pvalue[np.setdiff1d(np.arange(C_SIM), shifted)] <= ALPHA)
        if i < 40:
            count_p.append(res.count_pvalue)
    assert (np.mean(found, axis=0) >= 0.80).all(), np.mean(found, axis=0)
    assert (np.mean(found_mc, axis=0) >= 0.80).all(), np.mean(found_mc, axis=0)
    # McNemar tests class accuracy: the untouched classes stay at the nominal level
    assert np.mean(others) <= ALPHA + 0.02
    assert np.mean(np.asarray(count_p) <= ALPHA) >= 0.8


def test_cells_do_not_grow_with_the_number_of_samples():
    rng = np.random.default_rng(0)
    for n_per in (50, 5000):
        y, a, b = dataset(rng, n_per, np.full(10, 0.8), 0.3, np.ones(10))
        cells = paired_cells(y, a, b, 10)
        assert cells.n_cells <= 4 * 10 and cells.n_samples == 10 * n_per


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.booleans()), min_size=8, max_size=80),
    st.permutations(range(4)),
)
def test_relabelling_classes_permutes_the_results(rows, perm):
    """Properties: cells count every sample once; renaming classes permutes every column."""
    y = np.array([r[0] for r in rows])
    a = np.where([r[1] for r in rows], y, (y + 1) % 4)
    b = np.where([r[2] for r in rows], y, (y + 2) % 4)
    cells = paired_cells(y, a, b, 4)
    assert cells.n_samples == len(rows)
    np.testing.assert_array_equal(cells.stratum_sizes, np.bincount(y)[np.bincount(y) > 0])
    m = np.asarray(perm)
    res = paired_classwise_test(y, a, b, 4, n_resamples=0)
    ren = paired_classwise_test(m[y], m[a], m[b], 4, n_resamples=0)
    for name in ("delta", "pvalue", "mcnemar_pvalue", "acc_a", "rel_b"):
        np.testing.assert_allclose(getattr(ren, name)[m], getattr(res, name), atol=1e-12)
    np.testing.assert_array_equal(ren.untestable[m], res.untestable)
