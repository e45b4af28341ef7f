"""Fairness: counts, rates, DPD/EOD against fairlearn, degenerate groups, seeds, comparisons."""

from __future__ import annotations

import math
import warnings

import fairlearn.metrics as flm
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from kdbias_audit.errors import DegenerateDataWarning, KDAuditError
from kdbias_audit.fairness import (
    compare_fairness,
    demographic_parity_difference,
    dpd,
    eod,
    equalized_odds_difference,
    fairness_audit,
    fpr,
    group_counts,
    one_vs_rest_counts,
    parse_sensitive,
    selection_rate,
    tpr,
)
from kdbias_audit.io import RunSet
from kdbias_audit.render.formats import to_json

TOL = 1e-12


def _binary_case(rng: np.random.Generator, n_groups: int, n: int | None = None):
    """Random binary data with string group labels; every group has positives and negatives."""
    n = n or int(rng.integers(8 * n_groups, 400))
    names = np.array([f"g-{chr(97 + i)}{i}" for i in range(n_groups)])
    codes = rng.integers(0, n_groups, n)
    codes[: 2 * n_groups] = np.repeat(np.arange(n_groups), 2)
    y = rng.integers(0, 2, n)
    y[: 2 * n_groups] = np.tile([0, 1], n_groups)  # each group: one negative, one positive
    p = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(np.int64)
    perm = rng.permutation(n)
    return y[perm], p[perm], names[codes[perm]]


# ------------------------------------------------------------------------------------------
# counts


def test_group_counts_hand_checked():
    y = [1, 0, 1, 1, 0, 0]
    p = [1, 1, 0, 1, 0, 1]
    g = [0, 0, 1, 1, 2, 2]
    c = group_counts(y, p, g, 3)
    assert c.n.tolist() == [2, 2, 2]
    assert c.positives.tolist() == [1, 2, 0]
    assert c.negatives.tolist() == [1, 0, 2]
    assert c.predicted_positives.tolist() == [2, 1, 1]
    assert c.true_positives.tolist() == [1, 1, 0]
    assert c.false_positives.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(selection_rate(c), [1.0, 0.5, 0.5])
    np.testing.assert_array_equal(tpr(c), [1.0, 0.5, np.nan])
    np.testing.assert_array_equal(fpr(c), [1.0, np.nan, 0.5])


def test_group_counts_positive_class_and_empty_group():
    c = group_counts([0, 0, 1], [0, 1, 1], [0, 0, 0], 2, positive=0)
    assert c.n.tolist() == [3, 0]
    assert c.positives.tolist() == [2, 0]
    assert c.predicted_positives.tolist() == [1, 0]
    assert c.true_positives.tolist() == [1, 0]
    assert np.isnan(selection_rate(c)[1])


def test_group_counts_batched_over_seeds_equals_per_seed():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    preds = rng.integers(0, 2, (4, 300))
    g = rng.integers(0, 5, 300)
    batched = group_counts(y, preds, g, 5)
    assert batched.shape == (4, 5)
    for s in range(4):
        single = group_counts(y, preds[s], g, 5)
        for field in ("n", "positives", "predicted_positives", "true_positives"):
            np.testing.assert_array_equal(getattr(batched, field)[s], getattr(single, field))
    assert (batched.n.sum(axis=-1) == 300).all()


def test_one_vs_rest_counts_equal_brute_force():
    rng = np.random.default_rng(4)
    n, k, g_count, s_count = 500, 7, 4, 3
    y = rng.integers(0, k, n)
    preds = rng.integers(0, k, (s_count, n))
    g = rng.integers(0, g_count, n)
    c = one_vs_rest_counts(y, preds, g, g_count, k)
    assert c.shape == (s_count, k, g_count)
    for s in range(s_count):
        for cls in range(k):
            ref = group_counts(y, preds[s], g, g_count, positive=cls)
            for field in ("n", "positives", "predicted_positives", "true_positives"):
                np.testing.assert_array_equal(getattr(c, field)[s, cls], getattr(ref, field))
    single = one_vs_rest_counts(y, preds[1], g, g_count, k)
    assert single.shape == (k, g_count)
    np.testing.assert_array_equal(single.true_positives, c.true_positives[1])


def test_counts_reject_bad_codes_and_shapes():
    with pytest.raises(KDAuditError, match=r"group_codes: codes must lie in \[0, 2\)"):
        group_counts([0, 1], [0, 1], [0, 2], 2)
    with pytest.raises(KDAuditError, match="y_pred: expected shape"):
        group_counts([0, 1], [0, 1, 1], [0, 1], 2)
    with pytest.raises(KDAuditError, match=r"y_pred: class indices must lie in \[0, 3\)"):
        one_vs_rest_counts([0, 1], [0, 3], [0, 1], 2, 3)


def test_group_counts_to_frame():
    c = group_counts([1, 0], [1, 1], [0, 1], 2)
    df = c.to_frame()
    assert list(df["group"]) == [0, 1]
    assert list(df["false_positives"]) == [0, 1]


# ------------------------------------------------------------------------------------------
# equal to fairlearn (defaults) whenever every group has positives and negatives


@pytest.mark.parametrize("seed", range(12))
def test_equal_to_fairlearn_random_binary(seed):
    rng = np.random.default_rng(seed)
    for n_groups in range(2, 11):
        y, p, g = _binary_case(rng, n_groups)
        ours_d = demographic_parity_difference(y, p, sensitive_features=g)
        ours_e = equalized_odds_difference(y, p, sensitive_features=g)
        ref_d = flm.demographic_parity_difference(y, p, sensitive_features=g)
        ref_e = flm.equalized_odds_difference(y, p, sensitive_features=g)
        assert abs(ours_d - ref_d) <= TOL
        assert abs(ours_e - ref_e) <= TOL
        assert isinstance(ours_d, float) and isinstance(ours_e, float)


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("agg", ["worst_case", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_equal_to_fairlearn_options(method, agg, weighted):
    rng = np.random.default_rng(11)
    for n_groups in (2, 3, 7):
        y, p, g = _binary_case(rng, n_groups)
        w = rng.uniform(0.1, 3.0, y.shape[0]) if weighted else None
        assert (
            abs(
                demographic_parity_difference(
                    y, p, sensitive_features=g, method=method, sample_weight=w
                )
                - flm.demographic_parity_difference(
                    y, p, sensitive_features=g, method=method, sample_weight=w
                )
            )
            <= TOL
        )
        assert (
            abs(
                equalized_odds_difference(
                    y, p, sensitive_features=g, method=method, sample_weight=w, agg=agg
                )
                - flm.equalized_odds_difference(
                    y, p, sensitive_features=g, method=method, sample_weight=w, agg=agg
                )
            )
            <= TOL
        )


def test_sensitive_feature_kinds_equal_fairlearn():
    rng = np.random.default_rng(5)
    y, p, g = _binary_case(rng, 4, n=600)
    ints = pd.factorize(g)[0] * 7 - 3
    bools = ints > 0
    series = pd.Series(g, name="colour")
    extra = rng.choice(["x", "y"], y.shape[0])
    frame = pd.DataFrame({"a": g, "b": extra})
    arr2d = np.column_stack([ints, extra])
    as_dict = {"a": list(g), "b": list(extra)}
    for sf in (ints, bools, list(g), series, frame, arr2d, as_dict):
        ref_sf = pd.DataFrame(sf) if isinstance(sf, dict) else sf
        assert (
            abs(
                demographic_parity_difference(y, p, sensitive_features=sf)
                - flm.demographic_parity_difference(y, p, sensitive_features=ref_sf)
            )
            <= TOL
        )
        assert (
            abs(
                equalized_odds_difference(y, p, sensitive_features=sf)
                - flm.equalized_odds_difference(y, p, sensitive_features=ref_sf)
            )
            <= TOL
        )
    # pandas inputs for y too, and labels from {-1, 1}
    ys, ps = pd.Series(2 * y - 1), pd.Series(2 * p - 1)
    assert (
        abs(
            equalized_odds_difference(ys, ps, sensitive_features=series)
            - flm.equalized_odds_difference(ys, ps, sensitive_features=series)
        )
        <= TOL
    )


def test_fairlearn_compatible_rejects_bad_input():
    with pytest.raises(ValueError, match="method: expected 'between_groups' or 'to_overall'"):
        demographic_parity_difference([0, 1], [0, 1], sensitive_features=["a", "b"], method="ratio")
    with pytest.raises(ValueError, match="agg: expected 'worst_case' or 'mean'"):
        equalized_odds_difference([0, 1], [0, 1], sensitive_features=["a", "b"], agg="max")
    with pytest.raises(KDAuditError, match="equalized odds needs binary labels"):
        equalized_odds_difference([0, 2], [0, 1], sensitive_features=["a", "b"])
    with pytest.raises(KDAuditError, match="y_true and y_pred differ in length: 2 vs 3"):
        demographic_parity_difference([0, 1], [0, 1, 1], sensitive_features=["a", "b"])
    with pytest.raises(
        KDAuditError, match=r"sensitive_features \(sensitive_features\): expected 2"
    ):
        demographic_parity_difference([0, 1], [0, 1], sensitive_features=["a", "b", "c"])
    with pytest.raises(KDAuditError, match="contains missing values"):
        demographic_parity_difference([0, 1], [0, 1], sensitive_features=["a", None])


# ------------------------------------------------------------------------------------------
# degenerate groups: excluded with a warning, never a silent 0


def test_group_without_positives_is_excluded_with_warning():
    #        group a: y=1,1,0,0  pred=1,0,1,0 -> TPR 1/2, FPR 1/2
    #        group b: y=1,0,0,0  pred=1,0,0,0 -> TPR 1,   FPR 0
    #        group c: y=0,0      pred=1,1     -> TPR undefined (no positives), FPR 1
    y = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    p = [1, 0, 1, 0, 1, 0, 0, 0, 1, 1]
    g = ["a"] * 4 + ["b"] * 4 + ["c"] * 2
    with pytest.warns(DegenerateDataWarning, match=r"TPR undefined for group 'c' \(no positives\)"):
        value = equalized_odds_difference(y, p, sensitive_features=g)
    # TPR spread over a, b = 1 - 0.5; FPR spread over a, b, c = 1 - 0
    assert value == 1.0
    with pytest.warns(DegenerateDataWarning, match="group 'c'"):
        counts = group_counts(y, p, pd.factorize(np.asarray(g))[0], 3)
        assert eod(counts, group_names=["a", "b", "c"]) == 1.0
    # fairlearn counts c's TPR as 0 instead (the documented difference): TPR spread 1 - 0
    y2 = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0]
    p2 = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0]  # perfect on a and b, c has no positives
    with pytest.warns(DegenerateDataWarning, match="'c'"):
        ours = equalized_odds_difference(y2, p2, sensitive_features=g)
    assert ours == 0.0
    assert flm.equalized_odds_difference(y2, p2, sensitive_features=g) == 1.0


def test_fewer_than_two_groups_left_gives_nan():
    y = [1, 0, 0, 0]
    p = [1, 0, 1, 0]
    g = ["a", "a", "b", "b"]  # only 'a' has positives
    with pytest.warns(DegenerateDataWarning, match="EOD is NaN: fewer than two groups"):
        value = equalized_odds_difference(y, p, sensitive_features=g)
    assert math.isnan(value)
    # a single group: DPD undefined too
    with pytest.warns(DegenerateDataWarning, match="DPD is NaN"):
        assert math.isnan(
            demographic_parity_difference([0, 1], [1, 1], sensitive_features=["a", "a"])
        )


def test_empty_group_in_counts_is_excluded_with_warning():
    c = group_counts([0, 1, 0, 1], [1, 1, 0, 0], [0, 0, 2, 2], 3)
    with pytest.warns(
        DegenerateDataWarning, match=r"selection rate undefined for group 'mid' \(no samples\)"
    ):
        assert dpd(c, group_names=["lo", "mid", "hi"]) == 1.0


def test_no_warning_when_every_group_is_defined():
    rng = np.random.default_rng(0)
    y, p, g = _binary_case(rng, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        equalized_odds_difference(y, p, sensitive_features=g)
        demographic_parity_difference(y, p, sensitive_features=g)


# ------------------------------------------------------------------------------------------
# properties


binary_data = st.integers(min_value=1, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(binary_data)
def test_property_dpd_in_unit_interval(data):
    y, p, g = (np.asarray(v) for v in data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        d = demographic_parity_difference(y, p, sensitive_features=g)
        e = equalized_odds_difference(y, p, sensitive_features=g)
    assert math.isnan(d) == (len(np.unique(g)) < 2)
    if not math.isnan(d):
        assert 0.0 <= d <= 1.0
    if not math.isnan(e):
        assert 0.0 <= e <= 1.0


@settings(max_examples=60, deadline=None)
@given(binary_data, st.permutations(["w", "x", "y", "z"]))
def test_property_renaming_groups_changes_nothing(data, names):
    y, p, g = (np.asarray(v) for v in data)
    renamed = np.asarray(names)[g]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        for fn in (demographic_parity_difference, equalized_odds_difference):
            a, b = fn(y, p, sensitive_features=g), fn(y, p, sensitive_features=renamed)
            assert (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=60, deadline=None)
@given(binary_data)
def test_property_two_identical_groups_give_zero(data):
    y, p, _ = (np.asarray(v) for v in data)
    yy, pp = np.concatenate([y, y]), np.concatenate([p, p])
    g = np.array(["first"] * len(y) + ["second"] * len(y))
    assert demographic_parity_difference(yy, pp, sensitive_features=g) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        e = equalized_odds_difference(yy, pp, sensitive_features=g)
    if y.min() == 0 and y.max() == 1:  # both groups have positives and negatives
        assert e == 0.0
    else:
        assert math.isnan(e)


# ------------------------------------------------------------------------------------------
# run sets: binary, one-vs-rest, intersections, seeds


def _celeba_like(rng, n=800, seeds=3, positive_meta=None, name="nds", like=None):
    y = rng.integers(0, 2, n) if like is None else like.label
    preds = np.where(rng.random((seeds, n)) < 0.8, y, 1 - y)
    if like is None:
        groups = {"young": rng.random(n) < 0.7, "male": rng.choice(["female", "male"], n)}
    else:  # the same test set (labels and groups) as ``like``: comparable run sets
        groups = {
            a: np.asarray(like.group_levels(a))[like.group_codes(a)] for a in ("young", "male")
        }
    meta = {} if positive_meta is None else {"positive_class": positive_meta}
    return RunSet.from_arrays(y, preds, groups=groups, num_classes=2, metadata=meta, name=name)


def test_binary_audit_equals_fairlearn_per_seed():
    rng = np.random.default_rng(7)
    rs = _celeba_like(rng)
    audit = fairness_audit(rs)
    assert audit.attributes == ("male", "young")
    for attr in ("male", "young"):
        res = audit[attr]
        assert res.mode == "binary" and res.positive_class == 1
        sf = [rs.group_levels(attr)[c] for c in rs.group_codes(attr)]
        ref_d = [
            flm.demographic_parity_difference(rs.label, rs.preds[s], sensitive_features=sf)
            for s in range(3)
        ]
        ref_e = [
            flm.equalized_odds_difference(rs.label, rs.preds[s], sensitive_features=sf)
            for s in range(3)
        ]
        np.testing.assert_allclose(res.dpd_per_seed, ref_d, rtol=0, atol=TOL)
        np.testing.assert_allclose(res.eod_per_seed, ref_e, rtol=0, atol=TOL)
        assert res.dpd_mean == pytest.approx(np.mean(ref_d), abs=TOL)
        assert res.dpd_std == pytest.approx(np.std(ref_d, ddof=1), abs=TOL)
        assert res.eod_std == pytest.approx(np.std(ref_e, ddof=1), abs=TOL)


def test_positive_class_from_metadata_and_argument():
    rng = np.random.default_rng(8)
    rs = _celeba_like(rng, positive_meta=0)
    sf = [rs.group_levels("male")[c] for c in rs.group_codes("male")]
    flipped_y, flipped_p = 1 - rs.label, 1 - rs.preds[0]
    ref0 = flm.equalized_odds_difference(flipped_y, flipped_p, sensitive_features=sf)
    ref1 = flm.equalized_odds_difference(rs.label, rs.preds[0], sensitive_features=sf)
    assert fairness_audit(rs)["male"].eod_per_seed[0] == pytest.approx(ref0, abs=TOL)
    assert fairness_audit(rs)["male"].positive_class == 0
    assert fairness_audit(rs, positive_class=1)["male"].eod_per_seed[0] == pytest.approx(
        ref1, abs=TOL
    )
    with pytest.raises(KDAuditError, match="positive_class 2 is not a class of this 2-class task"):
        fairness_audit(rs, positive_class=2)


def _trifeature_like(rng, n=3000, k=10, seeds=3, name="tri"):
    y = rng.integers(0, k, n)
    preds = np.where(rng.random((seeds, n)) < 0.7, y, rng.integers(0, k, (seeds, n)))
    groups = {"color": rng.integers(0, 10, n), "texture": rng.choice(list("ABCDE"), n)}
    return RunSet.from_arrays(
        y,
        preds,
        groups=groups,
        num_classes=k,
        name=name,
        metadata={"class_names": [f"shape{i}" for i in range(k)]},
    )


def test_one_vs_rest_equals_per_class_loop_over_fairlearn():
    rng = np.random.default_rng(9)
    rs = _trifeature_like(rng, n=1500, seeds=2)
    audit = fairness_audit(rs)
    res = audit["color"]
    assert res.mode == "one-vs-rest" and res.classes[0] == "shape0"
    sf = rs.group_codes("color")
    for s in range(len(rs.seeds)):
        per_class_d, per_class_e = [], []
        for c in range(rs.num_classes):
            yb, pb = (rs.label == c).astype(int), (rs.preds[s] == c).astype(int)
            per_class_d.append(flm.demographic_parity_difference(yb, pb, sensitive_features=sf))
            per_class_e.append(flm.equalized_odds_difference(yb, pb, sensitive_features=sf))
        np.testing.assert_allclose(res.dpd_per_class[s], per_class_d, rtol=0, atol=TOL)
        np.testing.assert_allclose(res.eod_per_class[s], per_class_e, rtol=0, atol=TOL)
        assert res.dpd_per_seed[s] == pytest.approx(np.mean(per_class_d), abs=TOL)
        assert res.eod_per_seed[s] == pytest.approx(np.mean(per_class_e), abs=TOL)
    pc = audit.per_class("color")
    assert list(pc["class"]) == [f"shape{i}" for i in range(10)]
    with pytest.raises(KDAuditError, match="positive_class applies to binary tasks only"):
        fairness_audit(rs, positive_class=1)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.permutations(range(4)))
def test_property_relabelling_classes_permutes_per_class_values(seed, perm):
    rng = np.random.default_rng(seed)
    n = 60
    y = rng.integers(0, 4, n)
    preds = rng.integers(0, 4, (2, n))
    g = {"grp": rng.integers(0, 3, n)}
    perm = np.asarray(perm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        base = fairness_audit(RunSet.from_arrays(y, preds, groups=g, num_classes=4))["grp"]
        moved = fairness_audit(RunSet.from_arrays(perm[y], perm[preds], groups=g, num_classes=4))[
            "grp"
        ]
    # class c of the base is class perm[c] after relabelling
    np.testing.assert_array_equal(moved.dpd_per_class[:, perm], base.dpd_per_class)
    np.testing.assert_array_equal(moved.eod_per_class[:, perm], base.eod_per_class)
    np.testing.assert_allclose(moved.eod_per_seed, base.eod_per_seed, rtol=1e-12, atol=0)


def test_one_vs_rest_class_missing_from_a_group_is_excluded_with_warning():
    # class 2 only occurs in group 'u': its TPR spread has one group -> class 2 excluded
    y = np.array([0, 1, 2, 0, 1, 0, 1, 2, 0, 1])
    g = np.array(["u", "u", "u", "u", "u", "v", "v", "u", "v", "v"])
    preds = np.stack([y, np.roll(y, 1)])
    rs = RunSet.from_arrays(y, preds, groups={"grp": g}, num_classes=3, name="tiny")
    with pytest.warns(DegenerateDataWarning) as rec:
        res = fairness_audit(rs)["grp"]
    text = " ".join(str(w.message) for w in rec)
    assert "TPR undefined for group 'v' (class 2)" in text
    assert "EOD undefined for class '2'" in text
    assert np.isnan(res.eod_per_class[:, 2]).all()
    np.testing.assert_allclose(res.eod_per_seed, res.eod_per_class[:, :2].mean(axis=1))


def test_intersection_equals_fairlearn_with_two_columns():
    rng = np.random.default_rng(10)
    rs = _celeba_like(rng)
    audit = fairness_audit(rs, sensitive=["young&male", "male"])
    assert audit.attributes == ("young&male", "male")
    res = audit["young&male"]
    assert res.groups == ("False&female", "False&male", "True&female", "True&male")
    frame = pd.DataFrame(
        {
            "young": [rs.group_levels("young")[c] for c in rs.group_codes("young")],
            "male": [rs.group_levels("male")[c] for c in rs.group_codes("male")],
        }
    )
    for s in range(3):
        assert res.dpd_per_seed[s] == pytest.approx(
            flm.demographic_parity_difference(rs.label, rs.preds[s], sensitive_features=frame),
            abs=TOL,
        )
        assert res.eod_per_seed[s] == pytest.approx(
            flm.equalized_odds_difference(rs.label, rs.preds[s], sensitive_features=frame), abs=TOL
        )
    # "young,male" means the same intersection
    same = fairness_audit(rs, sensitive=["young,male"])["young&male"]
    np.testing.assert_array_equal(same.eod_per_seed, res.eod_per_seed)


def test_parse_sensitive():
    avail = ("male", "young")
    assert parse_sensitive(None, avail) == [("male", ("male",)), ("young", ("young",))]
    assert parse_sensitive(["group.young", "young, male", "young&male"], avail) == [
        ("young", ("young",)),
        ("young&male", ("young", "male")),
    ]
    with pytest.raises(KDAuditError, match="attribute repeated"):
        parse_sensitive(["young&young"], avail)
    with pytest.raises(KDAuditError, match="empty attribute name"):
        parse_sensitive(["young&"], avail)


def test_unknown_attribute_names_runset_and_attributes():
    rs = _celeba_like(np.random.default_rng(1), name="ds_T6")
    with pytest.raises(
        KDAuditError, match=r"^ds_T6: no group attribute 'age' \(group attributes: male, young\)$"
    ):
        fairness_audit(rs, sensitive=["age"])
    bare = RunSet.from_arrays([0, 1], [[0, 1]], name="bare")
    with pytest.raises(KDAuditError, match=r"^bare: no group columns"):
        fairness_audit(bare)


def test_audit_outputs_contract_frame_and_rates():
    rng = np.random.default_rng(12)
    rs = _celeba_like(rng)
    audit = fairness_audit(rs)
    d = audit.to_dict()
    assert set(d) == {"male", "young"}
    assert set(d["male"]) == {"mode", "groups", "dpd", "eod"}
    assert set(d["male"]["dpd"]) == {"mean", "std", "per_seed"}
    assert d["young"]["groups"] == ["False", "True"]
    assert len(d["male"]["eod"]["per_seed"]) == 3
    frame = audit.to_frame()
    assert list(frame["attribute"]) == ["male", "young"]
    assert frame.loc[0, "dpd_mean"] == pytest.approx(d["male"]["dpd"]["mean"])
    shown = audit.display_frame()
    assert (
        shown.loc[0, "DPD (%)"]
        == f"{100 * d['male']['dpd']['mean']:.2f} ± {100 * d['male']['dpd']['std']:.2f}"
    )
    rates = audit.group_rates("male")
    assert len(rates) == 3 * 1 * 2
    assert set(rates["group"]) == {"female", "male"}
    row = rates[(rates.seed == 1) & (rates.group == "male")].iloc[0]
    mask = np.asarray([rs.group_levels("male")[c] == "male" for c in rs.group_codes("male")])
    assert row["selection_rate"] == pytest.approx(rs.preds[1][mask].mean())
    assert row["tpr"] == pytest.approx(rs.preds[1][mask & (rs.label == 1)].mean())
    assert "<table" in audit._repr_html_()
    with pytest.raises(KDAuditError, match=r"no attribute 'age' \(audited: male, young\)"):
        audit.group_rates("age")


def test_single_seed_std_is_nan_and_json_null():
    rng = np.random.default_rng(2)
    rs = _celeba_like(rng, seeds=1)
    audit = fairness_audit(rs)
    assert math.isnan(audit["male"].dpd_std)
    assert '"std": null' in to_json(audit.to_dict())


# ------------------------------------------------------------------------------------------
# comparing two run sets


def test_compare_fairness_welch_equals_scipy():
    rng = np.random.default_rng(13)
    a = _celeba_like(rng, seeds=5, name="nds")
    b = _celeba_like(rng, seeds=4, name="ds", like=a)
    cmp = compare_fairness(a, b)
    assert cmp is not None and cmp.attributes == ("male", "young")
    r = cmp["young"]
    for metric in ("dpd", "eod"):
        va, vb = getattr(r.a, f"{metric}_per_seed"), getattr(r.b, f"{metric}_per_seed")
        ref = stats.ttest_ind(vb, va, equal_var=False)
        diff = getattr(r, f"{metric}_diff")
        assert diff.delta == pytest.approx(vb.mean() - va.mean(), abs=TOL)
        assert diff.pvalue == pytest.approx(ref.pvalue, rel=1e-10)
        assert diff.statistic == pytest.approx(ref.statistic, rel=1e-10)
    d = cmp.to_dict()
    assert set(d["male"]) == {"a", "b", "dpd_diff", "eod_diff"}
    # JSON is the most complete format: the test statistic, df and verdict the tables show
    assert set(d["male"]["dpd_diff"]) == {"delta", "statistic", "df", "pvalue", "significant"}
    assert d["male"]["a"] == fairness_audit(a)["male"].to_dict()
    frame = cmp.to_frame()
    assert len(frame) == 4 and set(frame["metric"]) == {"dpd", "eod"}
    assert "B - A (%)" in cmp.display_frame().columns


def test_compare_fairness_zero_variance_gives_null_pvalue():
    rng = np.random.default_rng(14)
    n = 400
    y = rng.integers(0, 2, n)
    g = {"young": rng.random(n) < 0.5}
    pa = np.tile(np.where(rng.random(n) < 0.8, y, 1 - y), (3, 1))  # identical seeds
    pb = np.tile(np.where(rng.random(n) < 0.8, y, 1 - y), (3, 1))
    a = RunSet.from_arrays(y, pa, groups=g, num_classes=2, name="a")
    b = RunSet.from_arrays(y, pb, groups=g, num_classes=2, name="b")
    cmp = compare_fairness(a, b)
    assert math.isnan(cmp["young"].dpd_diff.pvalue)
    assert not cmp["young"].dpd_diff.significant
    assert '"pvalue": null' in to_json(cmp.to_dict())


def test_compare_fairness_shared_and_missing_attributes():
    rng = np.random.default_rng(15)
    a = _celeba_like(rng, name="teacher")
    n = a.n_samples
    b_other = RunSet.from_arrays(
        a.label, a.preds, groups={"age": rng.integers(0, 3, n)}, name="other"
    )
    none = compare_fairness(a, b_other)  # a comparison of no attribute, never None
    assert none.attributes == () and none.to_dict() == {} and none.to_frame().empty
    young = np.asarray(a.group_levels("young"))[a.group_codes("young")]
    b_young = RunSet.from_arrays(a.label, a.preds, groups={"young": young}, name="ds")
    assert compare_fairness(a, b_young).attributes == ("young",)
    with pytest.raises(KDAuditError, match=r"^ds: no group attribute 'male'"):
        compare_fairness(a, b_young, sensitive=["male"])
    meta0 = RunSet.from_arrays(
        a.label,
        a.preds,
        groups={"male": np.asarray(a.group_levels("male"))[a.group_codes("male")]},
        metadata={"positive_class": 0},
        name="p0",
    )
    with pytest.raises(KDAuditError, match="positive_class 0 differs from 1"):
        compare_fairness(a, meta0)
